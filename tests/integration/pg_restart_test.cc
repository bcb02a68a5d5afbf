// PostgreSQL restarts under a running API: the pool drops its broken connections and the API
// serves again without being restarted itself. Restarts the SHARED test cluster with
// `scripts/pg restart` (same port), so ctest runs it alone (RUN_SERIAL).
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <pqxx/pqxx>
#include <thread>
#include <vector>

#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

class PgRestart : public ::testing::Test {
 protected:
  PgRestart() { key_ = harness_.newTenantKey(); }

  http::HttpResult send(const std::string& method, const std::string& path,
                        const std::string& body = "") {
    http::HttpRequestSpec spec{
        method, harness_.baseUrl() + path, {{"Authorization", "Bearer " + key_}}, body};
    if (!body.empty()) spec.headers.emplace_back("Content-Type", "application/json");
    return client_.send(spec, milliseconds(10000));
  }
  http::HttpResult create(int amount) {
    return send("POST", "/v1/collections", collectionBody(amount));
  }
  /// Sessions of the harness database as PostgreSQL sees them.
  long sessions() {
    pqxx::connection conn(harness_.databaseUrl());
    pqxx::nontransaction txn(conn);
    return txn
        .exec(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()")[0][0]
        .as<long>();
  }

  ApiHarness harness_;  // default options: pool of 8
  std::string key_;
  http::CurlExecutor client_;
};

TEST_F(PgRestart, RequestsSucceedAfterPostgresRestartsWithoutRestartingTheApi) {
  auto before = create(1000);
  ASSERT_EQ(before.response.status, 201) << before.response.body;
  // Fill the pool with several idle connections, as a busy server has: every one of them is
  // broken after the restart.
  {
    std::vector<std::thread> clients;
    for (int i = 0; i < 6; ++i) {
      clients.emplace_back([this, i] { create(1100 + i); });
    }
    for (auto& t : clients) t.join();
  }
  long idle_before = sessions();
  EXPECT_GE(idle_before, 2) << "the pool should hold several connections before the restart";
  ASSERT_EQ(send("GET", "/readyz").response.status, 200);

  ASSERT_EQ(pgScript("restart"), 0) << "scripts/pg restart failed";

  // The very first request after the restart must already work: broken connections are
  // discarded and the work retried on a fresh one. (A retry that takes another idle connection
  // from before the restart fails the same way: every idle connection is dead now.)
  auto after = create(2000);
  ASSERT_TRUE(after.ok()) << after.error_message;
  EXPECT_EQ(after.response.status, 201)
      << "first request after the restart (" << idle_before
      << " pooled connections before it): " << after.response.body;
  if (after.response.status == 503) {
    EXPECT_FALSE(after.response.header("retry-after").empty()) << "a 503 must carry Retry-After";
  }
  // ...and every following one (the pool still holds other broken connections).
  for (int i = 0; i < 8; ++i) {
    auto r = create(2001 + i);
    EXPECT_EQ(r.response.status, 201)
        << "request " << i << " after the restart: " << r.response.body;
  }
  auto fetched =
      send("GET", std::string("/v1/collections/") + parse(before.response.body)["id"].GetString());
  EXPECT_EQ(fetched.response.status, 200) << fetched.response.body;
  auto list = send("GET", "/v1/collections?limit=100");
  ASSERT_EQ(list.response.status, 200) << list.response.body;
  EXPECT_GE(parse(list.response.body)["data"].Size(), 10u);

  auto ready = send("GET", "/readyz");
  EXPECT_EQ(ready.response.status, 200) << ready.response.body;
}

TEST_F(PgRestart, ReadyzIsReadyRightAfterARestart) {
  ASSERT_EQ(send("GET", "/readyz").response.status, 200);
  ASSERT_EQ(pgScript("restart"), 0) << "scripts/pg restart failed";
  // The first readiness probe after the restart already sees the database again.
  auto started = Clock::now();
  auto ready = send("GET", "/readyz");
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(Clock::now() - started).count(), 5000);
  EXPECT_EQ(ready.response.status, 200) << ready.response.body;
  EXPECT_EQ(send("GET", "/healthz").response.status, 200);
}

}  // namespace
}  // namespace paymux::testing
