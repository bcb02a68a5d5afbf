// Requests whose api process died after storing their transaction and before recording a
// provider call (kill -9, found by the chaos suite): a retry with the same Idempotency-Key
// finishes them once their short lease has lapsed, the janitor finishes those nobody retries,
// a live request's lease is kept alive however slow its provider is, and the provider is never
// asked twice for one payment. The dead request is reproduced by writing exactly what its step 1
// commits (transaction + running key), over real PostgreSQL and HTTP.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "services/common/crypto.h"
#include "services/engine/payments.h"
#include "services/worker/janitor.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using namespace std::chrono_literals;

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

class Recovery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ApiHarness::Options o;
    o.janitor_first_check_s = 1;
    harness_ = new ApiHarness(o);
    key_ = harness_->newTenantKey(&tenant_);
  }
  static void TearDownTestSuite() { delete harness_; }

  /// What step 1 of `POST /v1/collections` with `body` and `idempotency_key` ("" = none)
  /// committed `age` ago before its process died; `lease` is how long its key stays leased
  /// from now.
  std::string diedAfterStoring(const std::string& body, const std::string& idempotency_key,
                               std::chrono::seconds lease = -1s,
                               std::chrono::seconds age = 600s) {
    std::string id = crypto::randomId("col", 20);
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO transactions (id, tenant_id, kind, status, amount_minor, currency, reference,"
        " connector_id, party, metadata, next_check_at, idempotency_key, created_at)"
        " VALUES ($1, $2, 'collect', 'pending', 1000, 'EUR', 'order-42', 'sandbox-a',"
        " '{\"payment_method\":{\"type\":\"card\",\"token\":\"tok_success\"}}', '{}',"
        " now() - interval '1 second', $3, now() - make_interval(secs => $4))",
        id, tenant_, idempotency_key.empty() ? std::nullopt : std::optional(idempotency_key),
        static_cast<int>(age.count()));
    if (!idempotency_key.empty()) {
      txn.exec_params(
          "INSERT INTO idempotency_keys (tenant_id, key, request_hash, state, locked_until,"
          " transaction_id) VALUES ($1, $2, $3, 'running', now() + make_interval(secs => $4), $5)",
          tenant_, idempotency_key, crypto::sha256Hex("POST /v1/collections\n" + body),
          static_cast<int>(lease.count()), id);
    }
    txn.commit();
    return id;
  }
  long count(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::nontransaction txn(conn);
    return txn.exec(sql)[0][0].as<long>();
  }
  std::string status(const std::string& id) {
    return parse(harness_->call("GET", "/v1/collections/" + id, "", key_).response.body)["status"]
        .GetString();
  }
  long providerPayments() { return harness_->simA().stats().payments; }

  static ApiHarness* harness_;
  static std::string key_, tenant_;
};
ApiHarness* Recovery::harness_ = nullptr;
std::string Recovery::key_, Recovery::tenant_;

TEST_F(Recovery, ARetryAfterTheLeaseLapsedFinishesTheStoredTransaction) {
  std::string body = collectionBody();
  std::string id = diedAfterStoring(body, "died-1");
  long before = providerPayments();
  auto r = harness_->post("/v1/collections", body, key_, "died-1");
  ASSERT_EQ(r.response.status, 201) << r.response.body;
  auto d = parse(r.response.body);
  EXPECT_EQ(std::string(d["id"].GetString()), id) << "the stored transaction, not a new one";
  EXPECT_STREQ(d["status"].GetString(), "succeeded");
  EXPECT_EQ(d["attempts"].Size(), 1u);
  EXPECT_EQ(providerPayments(), before + 1);
  EXPECT_EQ(count("SELECT count(*) FROM transactions WHERE reference = 'order-42' AND"
                  " idempotency_key = 'died-1'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE transaction_id = '" + id +
                  "' AND type = 'collection.succeeded'"),
            1);
  auto replay = harness_->post("/v1/collections", body, key_, "died-1");
  EXPECT_EQ(replay.response.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.response.body, r.response.body);
}

TEST_F(Recovery, ARetryWhileTheLeaseIsLiveIsInProgress) {
  std::string body = collectionBody();
  std::string id = diedAfterStoring(body, "live-1", 30s);
  auto r = harness_->post("/v1/collections", body, key_, "live-1");
  EXPECT_EQ(r.response.status, 409) << r.response.body;
  EXPECT_EQ(status(id), "pending");
}

TEST_F(Recovery, TheProviderIsNotAskedTwiceWhenTheDeadRequestHadReachedIt) {
  // The first process died while its call was at the provider: the provider has the payment,
  // under the idempotency key paymux derives from the transaction.
  std::string body = collectionBody();
  std::string id = diedAfterStoring(body, "died-2");
  http::CurlExecutor client;
  auto first = client.send(
      {"POST", harness_->simA().baseUrl() + "/v1/payments",
       {{"Authorization", "Bearer sk_sandbox_local"},
        {"Content-Type", "application/json"},
        {"Idempotency-Key", engine::PaymentService::providerIdempotencyKey(id, "sandbox-a")}},
       R"({"kind":"collect","amount":1000,"currency":"EUR","reference":")" + id +
           R"(","token":"tok_success"})"},
      5s);
  ASSERT_EQ(first.response.status, 200) << first.response.body;
  std::string provider_id = parse(first.response.body)["id"].GetString();
  long before = providerPayments();
  auto r = harness_->post("/v1/collections", body, key_, "died-2");
  ASSERT_EQ(r.response.status, 201) << r.response.body;
  EXPECT_EQ(providerPayments(), before);
  EXPECT_EQ(std::string(parse(r.response.body)["provider_reference"].GetString()), provider_id);
}

TEST_F(Recovery, TheJanitorFinishesRequestsNobodyRetried) {
  std::string body = collectionBody();
  std::string keyed = diedAfterStoring(body, "died-3");
  std::string unkeyed = diedAfterStoring(body, "");
  std::string live = diedAfterStoring(body, "live-2", 30s);
  // Without a key only age tells a dead request from a slow one: a young one is left alone.
  std::string young = diedAfterStoring(body, "", -1s, 1s);
  long before = providerPayments();
  auto pass = harness_->janitor().runOnce();
  EXPECT_GE(pass.transactions_changed, 2);
  EXPECT_EQ(status(keyed), "succeeded");
  EXPECT_EQ(status(unkeyed), "succeeded");
  EXPECT_EQ(status(live), "pending") << "a live lease belongs to a request finishing it";
  EXPECT_EQ(status(young), "pending") << "its request may still be running";
  EXPECT_EQ(providerPayments(), before + 2);
  // The client's late retry gets the final answer the janitor stored under its key.
  auto r = harness_->post("/v1/collections", body, key_, "died-3");
  EXPECT_EQ(r.response.status, 201);
  EXPECT_EQ(r.response.header("idempotent-replayed"), "true");
  EXPECT_STREQ(parse(r.response.body)["status"].GetString(), "succeeded");
}

TEST(RecoveryLease, ALiveRequestKeepsItsKeyHoweverSlowItsProviderIs) {
  ApiHarness::Options o;
  o.sim_latency_ms = 6000;  // longer than a lease (4 s): only renewals keep it
  o.connector_timeout_ms = 10000;
  ApiHarness harness(o);
  std::string key = harness.newTenantKey();
  http::HttpResult first;
  std::thread slow([&] { first = harness.post("/v1/collections", collectionBody(), key, "slow-1"); });
  std::this_thread::sleep_for(5000ms);
  auto retry = harness.post("/v1/collections", collectionBody(), key, "slow-1");
  EXPECT_EQ(retry.response.status, 409) << "the first request is still running";
  slow.join();
  ASSERT_EQ(first.response.status, 201) << first.response.body;
  EXPECT_EQ(harness.simA().stats().payments, 1);
}

}  // namespace
}  // namespace paymux::testing
