// Provider webhooks: verification, storage, deduplication and reconciliation (issue 5), over
// real HTTP and PostgreSQL with the sandbox simulator signing as the provider.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "services/worker/janitor.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using Sim = connectors::sandbox::SandboxSimulator;

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

class Webhooks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ApiHarness::Options o;
    o.janitor_first_check_s = 1;
    o.unmatched_window_s = 2;
    harness_ = new ApiHarness(o);
    key_ = harness_->newTenantKey(&tenant_);
  }
  static void TearDownTestSuite() { delete harness_; }

  /// Creates a collection (routes to sandbox-a for EUR) and returns {our id, provider id}.
  std::pair<std::string, std::string> collect(const std::string& token, int64_t amount = 1000) {
    auto r = harness_->post("/v1/collections", collectionBody(amount, "EUR", token), key_);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    auto d = parse(r.response.body);
    return {d["id"].GetString(),
            d["provider_reference"].IsString() ? d["provider_reference"].GetString() : ""};
  }
  http::HttpResult deliver(const Sim::SignedWebhook& hook, const std::string& connector = "sandbox-a") {
    return harness_->call("POST", "/webhooks/" + connector, hook.body, "", "",
                          {{"Content-Type", "application/json"}, {"Sandbox-Signature", hook.signature}});
  }
  std::string status(const std::string& id) {
    auto r = harness_->call("GET", "/v1/collections/" + id, "", key_);
    return parse(r.response.body)["status"].GetString();
  }
  long count(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    return txn.exec(sql)[0][0].as<long>();
  }
  long events(const std::string& id, const std::string& type) {
    return count("SELECT count(*) FROM events WHERE transaction_id = '" + id + "' AND type = '" +
                 type + "'");
  }
  std::string outcome(const std::string& event_id) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    auto r = txn.exec_params("SELECT outcome FROM provider_events WHERE provider_event_id = $1",
                             event_id);
    return r.empty() ? "" : r[0][0].as<std::string>();
  }
  static ApiHarness* harness_;
  static std::string key_, tenant_;
};
ApiHarness* Webhooks::harness_ = nullptr;
std::string Webhooks::key_, Webhooks::tenant_;

TEST_F(Webhooks, VerifiedWebhookIsAppliedWithOneEvent) {
  auto [id, ref] = collect("tok_async_manual");  // unknown token: succeeds immediately
  auto [async_id, async_ref] = collect("tok_slow_async");
  ASSERT_EQ(status(async_id), "processing");
  auto hook = harness_->simA().webhook(async_ref, "succeeded", false, "evt_apply_1");
  auto r = deliver(hook);
  EXPECT_EQ(r.response.status, 200) << r.response.body;
  EXPECT_EQ(status(async_id), "succeeded");
  EXPECT_EQ(events(async_id, "collection.succeeded"), 1);
  EXPECT_EQ(outcome("evt_apply_1"), "applied");
  auto tx = parse(harness_->call("GET", "/v1/collections/" + async_id, "", key_).response.body);
  EXPECT_EQ(tx["provider_events"]["count"].GetInt(), 1);
  EXPECT_TRUE(tx["provider_events"]["last_at"].IsString());
  // The event the webhook produced shows the transaction as locked, attempts included.
  pqxx::connection conn(harness_->databaseUrl());
  pqxx::read_transaction txn(conn);
  auto event = parse(txn.exec_params("SELECT body FROM events WHERE transaction_id = $1"
                                     " AND type = 'collection.succeeded'",
                                     async_id)[0][0]
                         .as<std::string>());
  const auto& attempts = event["data"]["object"]["attempts"];
  ASSERT_TRUE(attempts.IsArray());
  ASSERT_EQ(attempts.Size(), 1u);
  EXPECT_EQ(attempts[0], tx["attempts"][0]);
}

TEST_F(Webhooks, DuplicateIsAcknowledgedAndChangesNothing) {
  auto [id, ref] = collect("tok_slow_async");
  auto hook = harness_->simA().webhook(ref, "succeeded", false, "evt_dup_1");
  ASSERT_EQ(deliver(hook).response.status, 200);
  auto again = deliver(hook);
  EXPECT_EQ(again.response.status, 200);
  EXPECT_EQ(events(id, "collection.succeeded"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM provider_events WHERE provider_event_id = 'evt_dup_1'"), 1);
}

TEST_F(Webhooks, OutOfOrderDeliveryEndsSucceededAndRecordsTheLateProcessingAsStale) {
  auto [id, ref] = collect("tok_slow_async");
  ASSERT_EQ(deliver(harness_->simA().webhook(ref, "succeeded", false, "evt_ooo_2")).response.status,
            200);
  ASSERT_EQ(deliver(harness_->simA().webhook(ref, "processing", false, "evt_ooo_1")).response.status,
            200);
  EXPECT_EQ(status(id), "succeeded");
  EXPECT_EQ(outcome("evt_ooo_1"), "stale");
  EXPECT_EQ(events(id, "collection.succeeded"), 1);
}

TEST_F(Webhooks, TwentyConcurrentCopiesApplyOnce) {
  auto [id, ref] = collect("tok_slow_async");
  auto hook = harness_->simA().webhook(ref, "succeeded", false, "evt_concurrent_1");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 20; ++i) {
    threads.emplace_back([&] {
      if (deliver(hook).response.status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(events(id, "collection.succeeded"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM provider_events WHERE provider_event_id = 'evt_concurrent_1'"),
            1);
}

TEST_F(Webhooks, AmountMismatchIsADiscrepancyAndChangesNothing) {
  auto [id, ref] = collect("tok_slow_async", 5000);
  auto hook = harness_->simA().webhook(ref, "succeeded", false, "evt_amount_1", 4999);
  EXPECT_EQ(deliver(hook).response.status, 200);
  EXPECT_EQ(status(id), "processing");
  EXPECT_EQ(outcome("evt_amount_1"), "discrepancy");
  EXPECT_EQ(count("SELECT count(*) FROM discrepancies WHERE transaction_id = '" + id +
                  "' AND kind = 'amount_mismatch'"),
            1);
  // The discrepancy points at the provider event's own row, stored in the same statement.
  EXPECT_EQ(count("SELECT count(*) FROM discrepancies d JOIN provider_events p"
                  " ON p.id = d.provider_event_id WHERE p.provider_event_id = 'evt_amount_1'"
                  " AND d.transaction_id = '" + id + "'"),
            1);
  auto currency = harness_->simA().webhook(ref, "succeeded", false, "evt_currency_1", -1, "USD");
  EXPECT_EQ(deliver(currency).response.status, 200);
  EXPECT_EQ(status(id), "processing");
}

TEST_F(Webhooks, ConflictingFinalStatusIsADiscrepancyNotAnOverwrite) {
  auto [id, ref] = collect("tok_success");
  ASSERT_EQ(status(id), "succeeded");
  EXPECT_EQ(deliver(harness_->simA().webhook(ref, "canceled", false, "evt_conflict_1")).response.status,
            200);
  EXPECT_EQ(status(id), "succeeded");
  EXPECT_EQ(outcome("evt_conflict_1"), "discrepancy");
  EXPECT_EQ(count("SELECT count(*) FROM discrepancies WHERE transaction_id = '" + id +
                  "' AND kind = 'conflicting_status'"),
            1);
}

TEST_F(Webhooks, PayoutPaidThenFailedIsAppliedAndEmitsTwoEvents) {
  auto r = harness_->post("/v1/payouts", payoutBody(3000, "EUR", "tok_success"), key_);
  auto d = parse(r.response.body);
  std::string id = d["id"].GetString(), ref = d["provider_reference"].GetString();
  std::string connector = d["connector"].GetString();
  ASSERT_STREQ(d["status"].GetString(), "paid");
  auto& sim = connector == "sandbox-a" ? harness_->simA() : harness_->simB();
  EXPECT_EQ(deliver(sim.webhook(ref, "failed", false, "evt_paid_failed_1"), connector).response.status,
            200);
  auto after = parse(harness_->call("GET", "/v1/payouts/" + id, "", key_).response.body);
  EXPECT_STREQ(after["status"].GetString(), "failed");
  EXPECT_EQ(events(id, "payout.paid"), 1);
  EXPECT_EQ(events(id, "payout.failed"), 1);
}

TEST_F(Webhooks, BadSignaturesAre401AndStoreNothing) {
  auto [id, ref] = collect("tok_slow_async");
  auto hook = harness_->simA().webhook(ref, "succeeded", false, "evt_bad_sig_1");
  auto tampered = hook;
  tampered.body.replace(tampered.body.find("succeeded"), 9, "canceled!");
  EXPECT_EQ(deliver(tampered).response.status, 401);
  auto stale = harness_->simA().webhook(ref, "succeeded", false, "evt_bad_sig_2", -1, "",
                                        std::time(nullptr) - 3600);
  EXPECT_EQ(deliver(stale).response.status, 401);
  auto unsigned_hook = hook;
  unsigned_hook.signature = "";
  EXPECT_EQ(deliver(unsigned_hook).response.status, 401);
  EXPECT_EQ(count("SELECT count(*) FROM provider_events WHERE provider_event_id LIKE 'evt_bad_sig_%'"),
            0);
  EXPECT_EQ(status(id), "processing");
  EXPECT_EQ(deliver(hook, "no-such-connector").response.status, 404);
}

TEST_F(Webhooks, WebhookBeforeOurCommitIsParkedThenApplied) {
  // The provider answers our create after 1 s but sends its webhook at once, without echoing
  // our id: it cannot match until our own call commits the provider reference.
  long before = static_cast<long>(harness_->simA().paymentIds().size());
  std::string our_id;
  std::thread api([&] { our_id = collect("tok_slow_async").first; });
  std::string ref;
  for (int i = 0; i < 100 && ref.empty(); ++i) {
    auto ids = harness_->simA().paymentIds();
    if (static_cast<long>(ids.size()) > before) ref = ids.back();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_FALSE(ref.empty());
  auto hook = harness_->simA().webhook(ref, "succeeded", false, "evt_early_1", -1, "", 0,
                                       /*include_reference=*/false);
  EXPECT_EQ(deliver(hook).response.status, 200);
  EXPECT_EQ(outcome("evt_early_1"), "unmatched");
  api.join();
  EXPECT_EQ(status(our_id), "processing");
  // The provider resends it now that it would match: still the parked copy's, not applied twice.
  EXPECT_EQ(deliver(hook).response.status, 200);
  EXPECT_EQ(outcome("evt_early_1"), "unmatched");
  EXPECT_EQ(status(our_id), "processing");
  EXPECT_EQ(events(our_id, "collection.succeeded"), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  harness_->janitor().runOnce();
  EXPECT_EQ(outcome("evt_early_1"), "applied");
  EXPECT_EQ(status(our_id), "succeeded");
  EXPECT_EQ(events(our_id, "collection.succeeded"), 1);
}

TEST_F(Webhooks, UnmatchedBeyondTheWindowBecomesADiscrepancy) {
  auto hook = harness_->simA().webhook("sbx_never_created", "succeeded", false, "evt_orphan_1", 10,
                                       "EUR", 0, false);
  EXPECT_EQ(deliver(hook).response.status, 200);
  EXPECT_EQ(outcome("evt_orphan_1"), "unmatched");
  std::this_thread::sleep_for(std::chrono::milliseconds(2200));
  harness_->janitor().runOnce();
  EXPECT_EQ(outcome("evt_orphan_1"), "discrepancy");
  EXPECT_EQ(count("SELECT count(*) FROM discrepancies WHERE kind = 'unknown_reference'"), 1);
}

TEST_F(Webhooks, JanitorSettlesATimedOutCollectionOnceAcrossTwoWorkers) {
  auto [id, ref] = collect("tok_timeout");
  ASSERT_EQ(status(id), "processing");
  EXPECT_TRUE(ref.empty()) << "a timed-out call never learnt the provider's id";
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  long before = harness_->simA().stats().status_requests + harness_->simB().stats().status_requests;
  std::atomic<int> checked{0};
  std::thread a([&] { checked += harness_->janitor().runOnce().transactions_checked; });
  std::thread b([&] { checked += harness_->janitor().runOnce().transactions_checked; });
  a.join();
  b.join();
  // Other unsettled transactions of this suite may be due too; what matters is that the two
  // workers together fetched each claimed row once, and this one exactly once.
  long after = harness_->simA().stats().status_requests + harness_->simB().stats().status_requests;
  EXPECT_EQ(after - before, checked.load());
  EXPECT_EQ(count("SELECT check_count FROM transactions WHERE id = '" + id + "'"), 1);
  EXPECT_EQ(status(id), "succeeded");
  EXPECT_EQ(events(id, "collection.succeeded"), 1);
  auto tx = parse(harness_->call("GET", "/v1/collections/" + id, "", key_).response.body);
  EXPECT_TRUE(tx["provider_reference"].IsString());
}

TEST_F(Webhooks, AWebhookDuringTheProviderCallIsAppliedAndTheAnswerAfterIt) {
  // The provider reports "processing" (echoing our id) while our call to it is still open: the
  // webhook changes the row, so the request's own outcome must be applied on top of it, not
  // over it, with one event each and the attempt recorded once.
  size_t before = harness_->simA().paymentIds().size();
  http::HttpResult created;
  std::thread request([&] {
    created = harness_->post("/v1/collections", collectionBody(1000, "EUR", "tok_slow", "race-1"),
                             key_, "race-key-1");
  });
  std::string payment;
  for (int i = 0; i < 200 && payment.empty(); ++i) {
    auto ids = harness_->simA().paymentIds();
    if (ids.size() > before) payment = ids.back();
    else std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(payment.empty());
  EXPECT_EQ(deliver(harness_->simA().webhook(payment, "processing", false, "evt_race_1")).response.status,
            200);
  request.join();
  ASSERT_EQ(created.response.status, 201) << created.response.body;
  auto body = parse(created.response.body);
  std::string id = body["id"].GetString();
  EXPECT_STREQ(body["status"].GetString(), "succeeded");
  EXPECT_EQ(body["attempts"].Size(), 1u);
  EXPECT_EQ(outcome("evt_race_1"), "applied");
  EXPECT_EQ(events(id, "collection.processing"), 1);
  EXPECT_EQ(events(id, "collection.succeeded"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM attempts WHERE transaction_id = '" + id + "'"), 1);
  auto replay = harness_->post("/v1/collections", collectionBody(1000, "EUR", "tok_slow", "race-1"),
                               key_, "race-key-1");
  EXPECT_EQ(replay.response.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.response.body, created.response.body);
}

}  // namespace
}  // namespace paymux::testing
