// A database connection that dies during COMMIT (PostgreSQL restarting under load, as the chaos
// suite does) leaves the outcome unknown to the API: the change may or may not be stored. That
// is the database being unavailable, not a bug of ours: the answer is 503 with Retry-After (a
// retry with the same Idempotency-Key finds out which), never 500. Found by
// tests/chaos/pg_restart_under_load.test.mjs; here made deterministic with a deferred
// constraint trigger that terminates its own backend when COMMIT runs it.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <pqxx/pqxx>

#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

TEST(CommitLost, ConnectionLostDuringCommitIs503WithRetryAfterNot500) {
  ApiHarness harness;
  std::string key = harness.newTenantKey();
  {
    pqxx::connection conn(harness.databaseUrl());
    pqxx::work txn(conn);
    txn.exec(
        "CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$");
    txn.exec(
        "CREATE CONSTRAINT TRIGGER die_at_commit AFTER INSERT ON transactions"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.reference = 'die-at-commit')"
        " EXECUTE FUNCTION die_at_commit()");
    txn.commit();
  }

  auto r =
      harness.post("/v1/collections", collectionBody(1000, "EUR", "tok_success", "die-at-commit"),
                   key, "commit-lost-1");
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 503) << r.response.body;
  EXPECT_EQ(r.response.header("retry-after"), "1");
  rapidjson::Document d;
  d.Parse(r.response.body.c_str());
  ASSERT_TRUE(d.IsObject() && d.HasMember("error")) << r.response.body;
  EXPECT_STREQ(d["error"]["type"].GetString(), "api_error");
  EXPECT_STREQ(d["error"]["code"].GetString(), "service_unavailable");

  // The commit really did not happen (the backend died before it), and the API goes on serving.
  {
    pqxx::connection conn(harness.databaseUrl());
    pqxx::read_transaction txn(conn);
    EXPECT_EQ(txn.exec("SELECT count(*) FROM transactions WHERE reference = 'die-at-commit'")[0][0]
                  .as<int>(),
              0);
  }
  auto next =
      harness.post("/v1/collections", collectionBody(1000, "EUR", "tok_success", "after-the-loss"),
                   key, "commit-lost-2");
  ASSERT_TRUE(next.ok()) << next.error_message;
  EXPECT_EQ(next.response.status, 201) << next.response.body;
}

}  // namespace
}  // namespace paymux::testing
