// Subscriptions API (issue 6): CRUD, tenant isolation, secrets shown once and sealed at rest,
// rotation, recovery, idempotency and destination policy, over real HTTP and PostgreSQL.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <pqxx/pqxx>
#include <set>

#include "services/common/crypto.h"
#include "services/common/standard_webhooks.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

const http::Headers kJson = {{"Content-Type", "application/json"}};

class Subscriptions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    harness_ = new ApiHarness();
    key_ = harness_->newTenantKey(&tenant_);
    other_key_ = harness_->newTenantKey(&other_tenant_);
  }
  static void TearDownTestSuite() { delete harness_; }

  http::HttpResult create(const std::string& body, const std::string& key = key_,
                          const std::string& idempotency_key = "") {
    return harness_->post("/v1/subscriptions", body, key, idempotency_key);
  }
  /// Creates one and returns its JSON (with secret).
  rapidjson::Document created(const std::string& url = "https://hooks.example.com/paymux",
                              const std::string& extra = "") {
    auto r = create("{\"url\":\"" + url + "\"" + extra + "}");
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return parse(r.response.body);
  }
  http::HttpResult get(const std::string& path, const std::string& key = key_) {
    return harness_->call("GET", path, "", key);
  }
  http::HttpResult patch(const std::string& id, const std::string& body,
                         const std::string& key = key_) {
    return harness_->call("PATCH", "/v1/subscriptions/" + id, body, key, "", kJson);
  }
  void expectError(const http::HttpResult& r, int status, const std::string& code,
                   const std::string& param = "") {
    EXPECT_EQ(r.response.status, status) << r.response.body;
    auto d = parse(r.response.body);
    ASSERT_TRUE(d.IsObject() && d.HasMember("error")) << r.response.body;
    EXPECT_EQ(std::string(d["error"]["code"].GetString()), code) << r.response.body;
    if (!param.empty()) {
      ASSERT_TRUE(d["error"].HasMember("param")) << r.response.body;
      EXPECT_EQ(std::string(d["error"]["param"].GetString()), param) << r.response.body;
    }
  }
  long scalar(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    auto r = txn.exec(sql);
    return r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<long>();
  }
  std::string text(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    auto r = txn.exec(sql);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
  }
  std::string collect(const std::string& key = key_) {
    auto r = harness_->post("/v1/collections", collectionBody(), key);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return parse(r.response.body)["id"].GetString();
  }

  static ApiHarness* harness_;
  static std::string key_, tenant_, other_key_, other_tenant_;
};
ApiHarness* Subscriptions::harness_ = nullptr;
std::string Subscriptions::key_, Subscriptions::tenant_, Subscriptions::other_key_,
    Subscriptions::other_tenant_;

TEST_F(Subscriptions, CreateAnswersTheSecretOnceAndNeverAgain) {
  auto r = create(
      R"({"url":"https://erp.example.com/paymux/events","event_types":["collection.succeeded",)"
      R"("collection.failed"],"description":"ERP ledger"})");
  ASSERT_EQ(r.response.status, 201) << r.response.body;
  auto d = parse(r.response.body);
  std::string id = d["id"].GetString();
  std::string secret = d["secret"].GetString();
  EXPECT_EQ(id.rfind("sub_", 0), 0u);
  EXPECT_STREQ(d["object"].GetString(), "subscription");
  EXPECT_STREQ(d["url"].GetString(), "https://erp.example.com/paymux/events");
  EXPECT_EQ(d["event_types"].Size(), 2u);
  EXPECT_STREQ(d["description"].GetString(), "ERP ledger");
  EXPECT_TRUE(d["enabled"].GetBool());
  EXPECT_TRUE(d["created_at"].IsString());
  ASSERT_EQ(secret.rfind("whsec_", 0), 0u);
  EXPECT_EQ(standard_webhooks::secretKey(secret)->size(), 32u);

  auto one = get("/v1/subscriptions/" + id);
  ASSERT_EQ(one.response.status, 200);
  EXPECT_FALSE(parse(one.response.body).HasMember("secret"));
  EXPECT_EQ(one.response.body.find(secret.substr(6)), std::string::npos);
  auto list = get("/v1/subscriptions?limit=100");
  ASSERT_EQ(list.response.status, 200);
  EXPECT_EQ(list.response.body.find("secret"), std::string::npos);
  EXPECT_NE(list.response.body.find(id), std::string::npos);
}

TEST_F(Subscriptions, SecretsAreSealedAtRest) {
  auto d = created();
  std::string id = d["id"].GetString();
  std::string secret = d["secret"].GetString();
  std::string stored = text("SELECT secrets::text FROM subscriptions WHERE id = '" + id + "'");
  EXPECT_EQ(stored.find(secret.substr(6)), std::string::npos);
  EXPECT_EQ(stored.find(crypto::hexEncode(*standard_webhooks::secretKey(secret))),
            std::string::npos);
  auto s = parse(stored);
  ASSERT_TRUE(s.IsArray());
  ASSERT_EQ(s.Size(), 1u);
  EXPECT_TRUE(s[0]["ciphertext"].IsString());
  EXPECT_TRUE(s[0]["created_at"].IsString());
  EXPECT_TRUE(s[0]["expires_at"].IsNull());
  // nonce (12) + "whsec_" + 44 + tag (16)
  EXPECT_EQ(crypto::base64Decode(s[0]["ciphertext"].GetString())->size(), 12u + 50u + 16u);
}

TEST_F(Subscriptions, EventTypesAbsentOrEmptyMeanAll) {
  auto a = created();
  EXPECT_TRUE(a["event_types"].IsArray());
  EXPECT_EQ(a["event_types"].Size(), 0u);
  EXPECT_TRUE(a["description"].IsNull());
  auto b = created("https://hooks.example.com/b", R"(,"event_types":[])");
  EXPECT_EQ(b["event_types"].Size(), 0u);
}

TEST_F(Subscriptions, InvalidRequestsNameTheField) {
  expectError(create(R"({"event_types":[]})"), 400, "parameter_missing", "url");
  expectError(create(R"({"url":"ftp://example.com/x"})"), 400, "parameter_invalid", "url");
  expectError(create(R"({"url":"not a url"})"), 400, "parameter_invalid", "url");
  expectError(create(R"({"url":"https://user:pw@example.com/x"})"), 400, "parameter_invalid",
              "url");
  expectError(create(R"({"url":"https://example.com","event_types":["collection.paid"]})"), 400,
              "parameter_invalid");
  expectError(create(R"({"url":"https://example.com","colour":"blue"})"), 400, "parameter_unknown");
  expectError(create(R"({"url":)"), 400, "json_invalid");
  auto no_json = harness_->call("POST", "/v1/subscriptions", R"({"url":"https://example.com"})",
                                key_, "", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(no_json.response.status, 415);
  expectError(create(R"({"url":"https://example.com"})", ""), 401, "authentication_required");
  auto put = harness_->call("PUT", "/v1/subscriptions", "{}", key_, "", kJson);
  EXPECT_EQ(put.response.status, 405);
}

TEST_F(Subscriptions, AnotherTenantsSubscriptionIsNotFound) {
  std::string id = created()["id"].GetString();
  expectError(get("/v1/subscriptions/" + id, other_key_), 404, "resource_missing");
  expectError(patch(id, R"({"enabled":false})", other_key_), 404, "resource_missing");
  expectError(harness_->call("DELETE", "/v1/subscriptions/" + id, "", other_key_), 404,
              "resource_missing");
  expectError(harness_->call("POST", "/v1/subscriptions/" + id + "/rotate_secret", "", other_key_),
              404, "resource_missing");
  expectError(harness_->post("/v1/subscriptions/" + id + "/recover",
                             R"({"since":"2026-01-01T00:00:00Z"})", other_key_),
              404, "resource_missing");
  expectError(get("/v1/subscriptions/" + id + "/deliveries", other_key_), 404, "resource_missing");
  expectError(get("/v1/subscriptions/sub_doesnotexist"), 404, "resource_missing");
  EXPECT_EQ(get("/v1/subscriptions?limit=100", other_key_).response.body.find(id),
            std::string::npos);
  // Untouched for its owner.
  auto mine = parse(get("/v1/subscriptions/" + id).response.body);
  EXPECT_TRUE(mine["enabled"].GetBool());
  // Events of one tenant never fan out to another's subscriptions.
  collect(other_key_);
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE subscription_id = '" + id + "'"), 0);
}

TEST_F(Subscriptions, ListPagesNewestFirst) {
  std::string tenant;
  std::string key = harness_->newTenantKey(&tenant);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = create("{\"url\":\"https://hooks.example.com/" + std::to_string(i) + "\"}", key);
    ASSERT_EQ(r.response.status, 201);
    ids.push_back(parse(r.response.body)["id"].GetString());
  }
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    auto r =
        get("/v1/subscriptions?limit=2" + (cursor.empty() ? "" : "&starting_after=" + cursor), key);
    ASSERT_EQ(r.response.status, 200) << r.response.body;
    auto d = parse(r.response.body);
    EXPECT_STREQ(d["object"].GetString(), "list");
    for (const auto& s : d["data"].GetArray()) seen.push_back(s["id"].GetString());
    cursor = seen.back();
    if (!d["has_more"].GetBool()) break;
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  EXPECT_EQ(seen, expected);
  expectError(get("/v1/subscriptions?starting_after=sub_nope", key), 400, "resource_missing",
              "starting_after");
  expectError(get("/v1/subscriptions?limit=0", key), 400, "parameter_invalid", "limit");
}

TEST_F(Subscriptions, PatchChangesOnlyTheFieldsGiven) {
  auto d = created("https://hooks.example.com/patch", R"(,"description":"before")");
  std::string id = d["id"].GetString();
  auto r = patch(id, R"({"event_types":["payout.paid"]})");
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  auto p = parse(r.response.body);
  EXPECT_STREQ(p["url"].GetString(), "https://hooks.example.com/patch");
  EXPECT_STREQ(p["description"].GetString(), "before");
  ASSERT_EQ(p["event_types"].Size(), 1u);
  EXPECT_STREQ(p["event_types"][0].GetString(), "payout.paid");
  EXPECT_FALSE(p.HasMember("secret"));
  p = parse(
      patch(id, R"({"url":"https://hooks.example.com/new","description":"after"})").response.body);
  EXPECT_STREQ(p["url"].GetString(), "https://hooks.example.com/new");
  EXPECT_STREQ(p["description"].GetString(), "after");
  EXPECT_EQ(p["event_types"].Size(), 1u);
  expectError(patch(id, "{}"), 400, "parameter_invalid");
  expectError(patch(id, R"({"secret":"whsec_x"})"), 400, "parameter_unknown");
  expectError(patch(id, R"({"url":"gopher://x"})"), 400, "parameter_invalid", "url");
}

TEST_F(Subscriptions, DisablingCancelsPendingDeliveriesAndStopsFanOut) {
  std::string id = created()["id"].GetString();
  collect();
  std::string where = " FROM deliveries WHERE subscription_id = '" + id + "'";
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'pending'"), 1);
  auto r = patch(id, R"({"enabled":false})");
  ASSERT_EQ(r.response.status, 200);
  EXPECT_FALSE(parse(r.response.body)["enabled"].GetBool());
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'canceled'"), 1);
  collect();
  EXPECT_EQ(scalar("SELECT count(*)" + where), 1);
  ASSERT_EQ(patch(id, R"({"enabled":true})").response.status, 200);
  collect();
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'pending'"), 1);
}

TEST_F(Subscriptions, DeleteIsSoftAndCancelsPendingDeliveries) {
  std::string id = created()["id"].GetString();
  collect();
  auto r = harness_->call("DELETE", "/v1/subscriptions/" + id, "", key_);
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  auto d = parse(r.response.body);
  EXPECT_EQ(std::string(d["id"].GetString()), id);
  EXPECT_TRUE(d["deleted"].GetBool());
  expectError(get("/v1/subscriptions/" + id), 404, "resource_missing");
  expectError(harness_->call("DELETE", "/v1/subscriptions/" + id, "", key_), 404,
              "resource_missing");
  EXPECT_EQ(scalar("SELECT count(*) FROM subscriptions WHERE id = '" + id +
                   "' AND deleted_at IS NOT NULL"),
            1);
  std::string where = " FROM deliveries WHERE subscription_id = '" + id + "'";
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'pending'"), 0);
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'canceled'"), 1);
  collect();
  EXPECT_EQ(scalar("SELECT count(*)" + where), 1);
}

TEST_F(Subscriptions, RotationReturnsANewSecretAndKeepsTheOldOneFor24Hours) {
  auto d = created();
  std::string id = d["id"].GetString();
  std::string old_secret = d["secret"].GetString();
  auto r = harness_->call("POST", "/v1/subscriptions/" + id + "/rotate_secret", "", key_);
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  auto rotated = parse(r.response.body);
  std::string fresh = rotated["secret"].GetString();
  EXPECT_NE(fresh, old_secret);
  EXPECT_EQ(fresh.rfind("whsec_", 0), 0u);
  EXPECT_STREQ(rotated["id"].GetString(), id.c_str());
  auto stored = parse(text("SELECT secrets::text FROM subscriptions WHERE id = '" + id + "'"));
  ASSERT_EQ(stored.Size(), 2u);
  EXPECT_TRUE(stored[0]["expires_at"].IsString());
  EXPECT_TRUE(stored[1]["expires_at"].IsNull());
  EXPECT_EQ(scalar("SELECT round(extract(epoch FROM ((secrets->0->>'expires_at')::timestamptz -"
                   " now())) / 3600) FROM subscriptions WHERE id = '" +
                   id + "'"),
            24);
  // A second rotation keeps both earlier secrets until their expiry; `{}` is an empty body too.
  auto again =
      harness_->call("POST", "/v1/subscriptions/" + id + "/rotate_secret", "{}", key_, "", kJson);
  ASSERT_EQ(again.response.status, 200) << again.response.body;
  EXPECT_EQ(scalar("SELECT jsonb_array_length(secrets) FROM subscriptions WHERE id = '" + id + "'"),
            3);
  expectError(harness_->call("POST", "/v1/subscriptions/" + id + "/rotate_secret",
                             R"({"keep_old":false})", key_, "", kJson),
              400, "parameter_unknown");
  expectError(harness_->call("GET", "/v1/subscriptions/" + id + "/rotate_secret", "", key_), 405,
              "method_not_allowed");
}

TEST_F(Subscriptions, IdempotentCreateReplaysTheSameSubscriptionAndSealsTheStoredSecret) {
  std::string body = R"({"url":"https://hooks.example.com/idem"})";
  auto first = create(body, key_, "idem-sub-1");
  ASSERT_EQ(first.response.status, 201);
  auto second = create(body, key_, "idem-sub-1");
  EXPECT_EQ(second.response.status, 201);
  EXPECT_EQ(second.response.body, first.response.body);
  EXPECT_EQ(second.response.header("idempotent-replayed"), "true");
  std::string secret = parse(first.response.body)["secret"].GetString();
  EXPECT_EQ(
      scalar("SELECT count(*) FROM subscriptions WHERE url = 'https://hooks.example.com/idem'"), 1);
  std::string stored = text("SELECT response_body FROM idempotency_keys WHERE key = 'idem-sub-1'");
  EXPECT_FALSE(stored.empty());
  EXPECT_EQ(stored.find(secret.substr(6)), std::string::npos);
  expectError(create(R"({"url":"https://hooks.example.com/other"})", key_, "idem-sub-1"), 422,
              "idempotency_key_reused");
  // Keys are per tenant.
  EXPECT_EQ(create(body, other_key_, "idem-sub-1").response.status, 201);
}

TEST_F(Subscriptions, IdempotentRotationDoesNotRotateTwice) {
  std::string id = created()["id"].GetString();
  std::string path = "/v1/subscriptions/" + id + "/rotate_secret";
  auto a = harness_->call("POST", path, "", key_, "rotate-1");
  auto b = harness_->call("POST", path, "", key_, "rotate-1");
  ASSERT_EQ(a.response.status, 200);
  EXPECT_EQ(a.response.body, b.response.body);
  EXPECT_EQ(b.response.header("idempotent-replayed"), "true");
  EXPECT_EQ(scalar("SELECT jsonb_array_length(secrets) FROM subscriptions WHERE id = '" + id + "'"),
            2);
}

TEST_F(Subscriptions, RecoverQueuesEveryMatchingEventSinceAGivenTime) {
  std::string tenant;
  std::string key = harness_->newTenantKey(&tenant);
  // Events from before the subscription existed...
  for (int i = 0; i < 3; ++i) collect(key);
  auto r = create(R"({"url":"https://hooks.example.com/recover"})", key);
  std::string id = parse(r.response.body)["id"].GetString();
  std::string where = " FROM deliveries WHERE subscription_id = '" + id + "'";
  EXPECT_EQ(scalar("SELECT count(*)" + where), 0);
  std::string path = "/v1/subscriptions/" + id + "/recover";
  auto rec = harness_->post(path, R"({"since":"2000-01-01T00:00:00+02:00"})", key);
  ASSERT_EQ(rec.response.status, 200) << rec.response.body;
  auto d = parse(rec.response.body);
  EXPECT_STREQ(d["object"].GetString(), "recovery");
  EXPECT_STREQ(d["subscription"].GetString(), id.c_str());
  EXPECT_STREQ(d["since"].GetString(), "1999-12-31T22:00:00Z");
  EXPECT_EQ(d["queued"].GetInt(), 3);
  EXPECT_EQ(d["created"].GetInt(), 3);
  EXPECT_EQ(d["requeued"].GetInt(), 0);
  // ... and again: the same deliveries are reset, none duplicated.
  pqxx::connection conn(harness_->databaseUrl());
  {
    pqxx::work txn(conn);
    txn.exec("UPDATE deliveries SET state = 'failed', attempt_count = 8 WHERE subscription_id = '" +
             id + "'");
    txn.commit();
  }
  d = parse(harness_->post(path, R"({"since":"2000-01-01T00:00:00Z"})", key).response.body);
  EXPECT_EQ(d["queued"].GetInt(), 3);
  EXPECT_EQ(d["requeued"].GetInt(), 3);
  EXPECT_EQ(d["created"].GetInt(), 0);
  EXPECT_EQ(scalar("SELECT count(*)" + where + " AND state = 'pending' AND attempt_count = 0"), 3);
  // A filter applies; the future matches nothing; calendar nonsense is refused.
  ASSERT_EQ(patch(id, R"({"event_types":["payout.paid"]})", key).response.status, 200);
  d = parse(harness_->post(path, R"({"since":"2000-01-01T00:00:00Z"})", key).response.body);
  EXPECT_EQ(d["queued"].GetInt(), 0);
  d = parse(harness_->post(path, R"({"since":"2999-01-01T00:00:00Z"})", key).response.body);
  EXPECT_EQ(d["queued"].GetInt(), 0);
  expectError(harness_->post(path, R"({"since":"2026-02-30T00:00:00Z"})", key), 400,
              "parameter_invalid", "since");
  expectError(harness_->post(path, R"({"since":"yesterday"})", key), 400, "parameter_invalid",
              "since");
  expectError(harness_->post(path, "{}", key), 400, "parameter_missing", "since");
}

TEST_F(Subscriptions, DeliveriesListIsEmptyBeforeAnyAttempt) {
  std::string id = created()["id"].GetString();
  auto r = get("/v1/subscriptions/" + id + "/deliveries");
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  auto d = parse(r.response.body);
  EXPECT_STREQ(d["object"].GetString(), "list");
  EXPECT_EQ(d["data"].Size(), 0u);
  EXPECT_FALSE(d["has_more"].GetBool());
  expectError(get("/v1/subscriptions/" + id + "/deliveries?starting_after=dla_nope"), 400,
              "resource_missing", "starting_after");
}

TEST(SubscriptionDestinations, PrivateAndLoopbackHostsAreRefusedUnlessAllowed) {
  ApiHarness::Options o;
  o.allow_private_networks = false;
  ApiHarness harness(o);
  std::string key = harness.newTenantKey();
  auto create = [&](const std::string& url) {
    return harness.post("/v1/subscriptions", "{\"url\":\"" + url + "\"}", key);
  };
  for (const char* url :
       {"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://api.localhost/x",
        "http://10.1.2.3/hook", "http://172.16.0.1/", "http://192.168.1.1/",
        "http://169.254.169.254/", "http://[::1]/", "http://[fd00::1]/", "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://2130706433/", "http://0x7f.1/"}) {
    auto r = create(url);
    EXPECT_EQ(r.response.status, 400) << url << " " << r.response.body;
    auto d = parse(r.response.body);
    if (d.IsObject() && d.HasMember("error")) {
      EXPECT_STREQ(d["error"]["param"].GetString(), "url") << url;
      EXPECT_STREQ(d["error"]["code"].GetString(), "parameter_invalid") << url;
    }
  }
  for (const char* url :
       {"https://hooks.example.com/x", "http://8.8.8.8/hook", "http://[2001:db8::1]/x"}) {
    EXPECT_EQ(create(url).response.status, 201) << url;
  }
}

TEST(SubscriptionDestinations, AllowHostsIsAnExactListOfNamesAndNetworks) {
  ApiHarness::Options o;
  o.allow_private_networks = false;
  o.allow_hosts = R"(["hooks.example.com", "*.partner.example", "10.20.0.0/16"])";
  ApiHarness harness(o);
  std::string key = harness.newTenantKey();
  auto status = [&](const std::string& url) {
    return harness.post("/v1/subscriptions", "{\"url\":\"" + url + "\"}", key).response.status;
  };
  EXPECT_EQ(status("https://hooks.example.com/x"), 201);
  EXPECT_EQ(status("https://HOOKS.example.com/x"), 201);
  EXPECT_EQ(status("https://eu.partner.example/x"), 201);
  EXPECT_EQ(status("http://10.20.3.4:8080/x"), 201);
  EXPECT_EQ(status("https://evil.example.com/x"), 400);
  EXPECT_EQ(status("https://partner.example.evil.com/x"), 400);
  EXPECT_EQ(status("http://10.21.0.1/x"), 400);
  EXPECT_EQ(status("http://127.0.0.1/x"), 400);
}

}  // namespace
}  // namespace paymux::testing
