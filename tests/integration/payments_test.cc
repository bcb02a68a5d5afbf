// Collections and payouts end to end through the HTTP API, the engine, PostgreSQL and the
// sandbox simulators.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

class Payments : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    harness_ = new ApiHarness();
    key_ = harness_->newTenantKey(&tenant_);
  }
  static void TearDownTestSuite() { delete harness_; }

  rapidjson::Document create(const std::string& path, const std::string& body,
                             const std::string& idem = "") {
    auto r = harness_->post(path, body, key_, idem);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return parse(r.response.body);
  }
  long count(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    return txn.exec(sql)[0][0].as<long>();
  }
  static ApiHarness* harness_;
  static std::string key_, tenant_;
};
ApiHarness* Payments::harness_ = nullptr;
std::string Payments::key_, Payments::tenant_;

TEST_F(Payments, CollectionSucceedsAndIsStoredWithOneAttempt) {
  auto tx = create("/v1/collections", collectionBody(1000, "EUR", "tok_success"));
  EXPECT_STREQ(tx["object"].GetString(), "collection");
  EXPECT_STREQ(tx["status"].GetString(), "succeeded");
  EXPECT_EQ(tx["amount"].GetInt64(), 1000);
  EXPECT_STREQ(tx["connector"].GetString(), "sandbox-a");
  EXPECT_EQ(std::string(tx["id"].GetString()).rfind("col_", 0), 0u);
  ASSERT_EQ(tx["attempts"].Size(), 1u);
  EXPECT_STREQ(tx["attempts"][0]["outcome"].GetString(), "succeeded");
  EXPECT_STREQ(tx["metadata"]["policy"].GetString(), "42");
  auto fetched = harness_->call("GET", std::string("/v1/collections/") + tx["id"].GetString(), "",
                                key_);
  EXPECT_EQ(fetched.response.status, 200);
  EXPECT_STREQ(parse(fetched.response.body)["status"].GetString(), "succeeded");
}

TEST_F(Payments, DeclineFailsWithoutFailover) {
  long before = harness_->simB().stats().create_requests;
  auto tx = create("/v1/collections", collectionBody(1000, "EUR", "tok_decline"));
  EXPECT_STREQ(tx["status"].GetString(), "failed");
  EXPECT_STREQ(tx["failure"]["code"].GetString(), "card_declined");
  EXPECT_EQ(tx["attempts"].Size(), 1u);
  EXPECT_EQ(harness_->simB().stats().create_requests, before) << "a decline must not fail over";
}

TEST_F(Payments, ProviderOutageFailsOverToTheNextConnector) {
  // GBP routes try sandbox-down (always 503) first, then sandbox-b.
  auto tx = create("/v1/collections", collectionBody(700, "GBP", "tok_success"));
  EXPECT_STREQ(tx["status"].GetString(), "succeeded");
  EXPECT_STREQ(tx["connector"].GetString(), "sandbox-b");
  ASSERT_EQ(tx["attempts"].Size(), 2u);
  EXPECT_STREQ(tx["attempts"][0]["connector"].GetString(), "sandbox-down");
  EXPECT_STREQ(tx["attempts"][0]["outcome"].GetString(), "error");
  EXPECT_STREQ(tx["attempts"][1]["connector"].GetString(), "sandbox-b");
  EXPECT_EQ(count("SELECT count(*) FROM attempts WHERE transaction_id = '" +
                  std::string(tx["id"].GetString()) + "'"),
            2);
}

TEST_F(Payments, ProviderTimeoutLeavesProcessingAndDoesNotFailOver) {
  long before_b = harness_->simB().stats().create_requests;
  auto tx = create("/v1/collections", collectionBody(1000, "EUR", "tok_timeout"));
  EXPECT_STREQ(tx["status"].GetString(), "processing");
  ASSERT_EQ(tx["attempts"].Size(), 1u);
  EXPECT_STREQ(tx["attempts"][0]["outcome"].GetString(), "unknown");
  EXPECT_EQ(harness_->simB().stats().create_requests, before_b);
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE transaction_id = '" +
                  std::string(tx["id"].GetString()) + "' AND type = 'collection.processing'"),
            1);
}

TEST_F(Payments, RequiresActionCarriesTheRedirect) {
  auto tx = create("/v1/collections", collectionBody(1000, "EUR", "tok_action"));
  EXPECT_STREQ(tx["status"].GetString(), "requires_action");
  EXPECT_STREQ(tx["next_action"]["type"].GetString(), "redirect");
  EXPECT_NE(std::string(tx["next_action"]["url"].GetString()).find("authenticate"),
            std::string::npos);
}

TEST_F(Payments, IdempotentReplayIsByteForByte) {
  auto first = harness_->post("/v1/collections", collectionBody(1500), key_, "idem-replay-1");
  auto second = harness_->post("/v1/collections", collectionBody(1500), key_, "idem-replay-1");
  ASSERT_EQ(first.response.status, 201);
  EXPECT_EQ(second.response.status, 201);
  EXPECT_EQ(second.response.body, first.response.body);
  EXPECT_EQ(second.response.header("idempotent-replayed"), "true");
  EXPECT_EQ(first.response.header("idempotent-replayed"), "");
  EXPECT_EQ(count("SELECT count(*) FROM transactions WHERE amount_minor = 1500"), 1);
}

TEST_F(Payments, SameKeyDifferentBodyIs422) {
  ASSERT_EQ(harness_->post("/v1/collections", collectionBody(1600), key_, "idem-reuse").response.status,
            201);
  auto r = harness_->post("/v1/collections", collectionBody(1601), key_, "idem-reuse");
  EXPECT_EQ(r.response.status, 422);
  EXPECT_NE(r.response.body.find("idempotency_key_reused"), std::string::npos);
}

TEST_F(Payments, SameKeyWhileFirstIsRunningIs409) {
  std::thread slow([&] {
    harness_->post("/v1/collections", collectionBody(1700, "EUR", "tok_slow"), key_, "idem-409");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  auto r = harness_->post("/v1/collections", collectionBody(1700, "EUR", "tok_slow"), key_,
                          "idem-409");
  slow.join();
  EXPECT_EQ(r.response.status, 409) << r.response.body;
  EXPECT_NE(r.response.body.find("idempotency_key_in_use"), std::string::npos);
}

TEST_F(Payments, ConcurrentSameKeyRequestsCreateOneTransaction) {
  constexpr int kClients = 12;
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, replayed{0}, in_use{0};
  long before = harness_->simA().stats().payments;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&] {
      auto r = harness_->post("/v1/collections", collectionBody(1800), key_, "idem-concurrent");
      if (r.response.status == 201 && r.response.header("idempotent-replayed") == "true") {
        ++replayed;
      } else if (r.response.status == 201) {
        ++created;
      } else if (r.response.status == 409) {
        ++in_use;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(created + replayed + in_use, kClients);
  EXPECT_EQ(count("SELECT count(*) FROM transactions WHERE amount_minor = 1800"), 1);
  EXPECT_EQ(harness_->simA().stats().payments, before + 1);
}

TEST_F(Payments, PayoutSplitIsDeterministicPerTransaction) {
  auto tx = create("/v1/payouts", payoutBody(25000, "EUR", "tok_success"));
  EXPECT_STREQ(tx["object"].GetString(), "payout");
  EXPECT_STREQ(tx["status"].GetString(), "paid");
  EXPECT_EQ(std::string(tx["id"].GetString()).rfind("pay_", 0), 0u);
  EXPECT_STREQ(tx["beneficiary"]["name"].GetString(), "Ada Lovelace");
  std::set<std::string> used;
  for (int i = 0; i < 16; ++i) {
    used.insert(create("/v1/payouts", payoutBody(100 + i))["connector"].GetString());
  }
  EXPECT_EQ(used.size(), 2u) << "a 50/50 split over 16 payouts should use both connectors";
}

TEST_F(Payments, ListPaginatesNewestFirstAndFilters) {
  std::string other = harness_->newTenantKey();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = harness_->post("/v1/collections", collectionBody(100 + i, "EUR", "tok_success", "list-ref"),
                            other);
    ids.push_back(parse(r.response.body)["id"].GetString());
  }
  harness_->post("/v1/collections", collectionBody(99, "EUR", "tok_decline", "list-ref"), other);
  auto page1 = parse(harness_->call("GET", "/v1/collections?limit=2&status=succeeded", "", other).response.body);
  ASSERT_EQ(page1["data"].Size(), 2u);
  EXPECT_TRUE(page1["has_more"].GetBool());
  EXPECT_EQ(std::string(page1["data"][0]["id"].GetString()), ids[4]);
  EXPECT_EQ(std::string(page1["data"][1]["id"].GetString()), ids[3]);
  std::string after = page1["data"][1]["id"].GetString();
  auto page2 = parse(harness_->call("GET", "/v1/collections?limit=10&status=succeeded&starting_after=" + after,
                                    "", other).response.body);
  ASSERT_EQ(page2["data"].Size(), 3u);
  EXPECT_FALSE(page2["has_more"].GetBool());
  EXPECT_EQ(std::string(page2["data"][2]["id"].GetString()), ids[0]);
  auto failed = parse(harness_->call("GET", "/v1/collections?status=failed&reference=list-ref", "", other).response.body);
  EXPECT_EQ(failed["data"].Size(), 1u);
}

TEST_F(Payments, TenantsNeverSeeEachOther) {
  std::string other = harness_->newTenantKey();
  auto tx = create("/v1/collections", collectionBody(1900));
  std::string id = tx["id"].GetString();
  auto r = harness_->call("GET", "/v1/collections/" + id, "", other);
  EXPECT_EQ(r.response.status, 404);
  EXPECT_EQ(harness_->call("GET", "/v1/payouts/" + id, "", key_).response.status, 404)
      << "a collection id is not a payout";
  auto list = parse(harness_->call("GET", "/v1/collections?limit=100", "", other).response.body);
  for (const auto& item : list["data"].GetArray()) EXPECT_NE(std::string(item["id"].GetString()), id);
  auto events = parse(harness_->call("GET", "/v1/events?limit=100", "", other).response.body);
  for (const auto& ev : events["data"].GetArray()) {
    EXPECT_NE(std::string(ev["data"]["object"]["id"].GetString()), id);
  }
  // The owner's event for this collection is not visible to the other tenant either.
  auto mine = parse(harness_->call("GET", "/v1/events?limit=1", "", key_).response.body);
  ASSERT_EQ(mine["data"].Size(), 1u);
  EXPECT_EQ(harness_->call("GET", std::string("/v1/events/") + mine["data"][0]["id"].GetString(), "",
                           other).response.status,
            404);
  EXPECT_EQ(harness_->call("GET", "/v1/collections?starting_after=" + id, "", other).response.status,
            400);
  // Idempotency keys are per tenant: the same key in another tenant is a new request.
  auto a = harness_->post("/v1/collections", collectionBody(1901), key_, "shared-key");
  auto b = harness_->post("/v1/collections", collectionBody(1901), other, "shared-key");
  EXPECT_NE(parse(a.response.body)["id"].GetString(), std::string(parse(b.response.body)["id"].GetString()));
  EXPECT_EQ(b.response.header("idempotent-replayed"), "");
}

TEST_F(Payments, EveryTransitionEmitsOneEventAndSequencesCatchUp) {
  std::string tenant;
  std::string key = harness_->newTenantKey(&tenant);
  constexpr int kWriters = 8, kEach = 5;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        // A client retries a 503 with the same Idempotency-Key, so every collection exists once.
        std::string idem = "seq-" + std::to_string(w) + "-" + std::to_string(i);
        for (int attempt = 0; attempt < 10; ++attempt) {
          auto r = harness_->post(
              "/v1/collections",
              collectionBody(100, "EUR", (w + i) % 3 == 0 ? "tok_decline" : "tok_success"), key,
              idem);
          if (r.response.status != 503 && r.response.status != 409) {
            EXPECT_EQ(r.response.status, 201) << r.response.body;
            break;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  // One applied transition (pending -> final) per collection, so one event each.
  EXPECT_EQ(count("SELECT count(*) FROM events WHERE tenant_id = '" + tenant + "'"),
            kWriters * kEach);
  std::vector<int64_t> seqs;
  int64_t after = 0;
  for (;;) {
    auto page = parse(harness_->call("GET", "/v1/events?limit=7&after_sequence=" + std::to_string(after), "",
                                     key).response.body);
    for (const auto& ev : page["data"].GetArray()) seqs.push_back(ev["sequence"].GetInt64());
    if (!page["has_more"].GetBool()) break;
    after = seqs.back();
  }
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kWriters * kEach));
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
  auto newest = parse(harness_->call("GET", "/v1/events?limit=1&type=collection.failed", "", key).response.body);
  ASSERT_EQ(newest["data"].Size(), 1u);
  EXPECT_STREQ(newest["data"][0]["type"].GetString(), "collection.failed");
  EXPECT_STREQ(newest["data"][0]["data"]["previous_status"].GetString(), "pending");
}

}  // namespace
}  // namespace paymux::testing
