// API keys remembered by the server (store::ApiKeyCache) stop working as soon as api_keys
// changes, however it is changed, over real HTTP and PostgreSQL.
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "services/store/api_key_cache.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using Clock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds within = std::chrono::milliseconds(5000)) {
  auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

class ApiKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(eventually([&] { return harness_.apiKeys().listening(); }));
  }
  long listStatus(const std::string& key) {
    auto r = harness_.call("GET", "/v1/collections?limit=1", "", key);
    return r.ok() ? r.response.status : -1;
  }
  void sql(const std::string& statement, const std::string& tenant_id = "") {
    pqxx::connection conn(harness_.databaseUrl());
    pqxx::work txn(conn);
    if (tenant_id.empty()) {
      txn.exec(statement);
    } else {
      txn.exec_params(statement, tenant_id);
    }
    txn.commit();
  }
  // A key the server has checked once and now remembers.
  std::string rememberedKey(std::string* tenant_id) {
    std::string key = harness_.newTenantKey(tenant_id);
    size_t before = harness_.apiKeys().size();
    EXPECT_EQ(listStatus(key), 200);
    EXPECT_EQ(harness_.apiKeys().size(), before + 1);
    EXPECT_EQ(listStatus(key), 200);
    return key;
  }
  ApiHarness harness_;
};

TEST_F(ApiKeys, ARememberedKeyIsRefusedOnceRevoked) {
  std::string tenant;
  std::string key = rememberedKey(&tenant);
  auto revoked = Clock::now();
  sql("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1", tenant);
  ASSERT_TRUE(eventually([&] { return listStatus(key) == 401; }, std::chrono::milliseconds(2000)))
      << "a revoked key still authenticates";
  EXPECT_LT(Clock::now() - revoked, std::chrono::milliseconds(1000));
}

TEST_F(ApiKeys, ARememberedKeyIsRefusedOnceItsRowIsDeletedOrTruncated) {
  std::string tenant;
  std::string deleted = rememberedKey(&tenant);
  sql("DELETE FROM api_keys WHERE tenant_id = $1", tenant);
  EXPECT_TRUE(eventually([&] { return listStatus(deleted) == 401; }, std::chrono::milliseconds(2000)));

  std::string truncated = rememberedKey(&tenant);
  sql("TRUNCATE api_keys");
  EXPECT_TRUE(eventually([&] { return listStatus(truncated) == 401; }, std::chrono::milliseconds(2000)));
}

TEST_F(ApiKeys, NothingIsRememberedWhileRevocationsCannotBeHeard) {
  std::string tenant;
  std::string key = rememberedKey(&tenant);
  // The listener's connection dies: a revocation made now would not be heard.
  pqxx::connection admin(harness_.databaseUrl());
  pqxx::nontransaction(admin).exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
      " WHERE datname = current_database() AND query LIKE 'LISTEN%'");
  ASSERT_TRUE(eventually([&] { return !harness_.apiKeys().listening(); }));
  EXPECT_EQ(harness_.apiKeys().size(), 0u);
  EXPECT_EQ(listStatus(key), 200);
  EXPECT_EQ(harness_.apiKeys().size(), 0u) << "remembered while not listening";
  sql("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1", tenant);
  EXPECT_EQ(listStatus(key), 401);

  // It reconnects and remembers keys again.
  ASSERT_TRUE(eventually([&] { return harness_.apiKeys().listening(); }));
  rememberedKey(&tenant);
}

}  // namespace
}  // namespace paymux::testing
