// The connection pool under exhaustion: a bounded wait, PoolTimeout, a 503 with Retry-After
// over HTTP, never a hang; and recovery once the connection is free again.
#include "services/store/pool.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <future>
#include <pqxx/pqxx>
#include <thread>

#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long msSince(Clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

/// A one-shot gate: the holder blocks in wait() until open() (or a safety timeout).
class Gate {
 public:
  void open() { promise_.set_value(); }
  bool wait(milliseconds timeout) { return future_.wait_for(timeout) == std::future_status::ready; }

 private:
  std::promise<void> promise_;
  std::shared_future<void> future_{promise_.get_future().share()};
};

class PoolExhaustion : public ::testing::Test {
 protected:
  TestDatabase db_;
};

TEST_F(PoolExhaustion, SecondCallerTimesOutAfterTheAcquireTimeout) {
  store::Pool pool(Secret(db_.url()), 1, milliseconds(300));
  Gate release;
  std::promise<void> holding;
  std::thread holder([&] {
    pool.run([&](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      txn.exec("SELECT 1");
      holding.set_value();
      release.wait(milliseconds(10000));  // why: bounded even if the test body fails early
      return 0;
    });
  });
  holding.get_future().wait();
  EXPECT_EQ(pool.inUse(), 1);

  auto started = Clock::now();
  EXPECT_THROW(pool.run([](pqxx::connection&) { return 0; }), store::PoolTimeout);
  long waited = msSince(started);
  EXPECT_GE(waited, 290) << "gave up before the acquire timeout";
  EXPECT_LT(waited, 1000) << "waited far beyond the 300 ms acquire timeout";

  // A waiter that is still within its timeout when the connection is released gets it.
  auto waiter = std::async(std::launch::async, [&] {
    auto t = Clock::now();
    int pid = pool.run([](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      return txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
    });
    return std::make_pair(pid, msSince(t));
  });
  std::this_thread::sleep_for(milliseconds(100));
  release.open();
  holder.join();
  auto [pid, waited2] = waiter.get();
  EXPECT_GT(pid, 0);
  EXPECT_LT(waited2, 300) << "the released connection must go to the waiter at once";
  EXPECT_EQ(pool.inUse(), 0);
  // The single connection is reused, not reopened.
  int again = pool.run([](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    return txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  EXPECT_EQ(again, pid);
}

TEST_F(PoolExhaustion, AKilledConnectionIsReplacedAndTheCallRetriedOnce) {
  store::Pool pool(Secret(db_.url()), 1, milliseconds(300));
  auto backendPid = [&] {
    return pool.run([](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);
      return txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
    });
  };
  int first = backendPid();
  {
    pqxx::connection admin(db_.url());
    pqxx::nontransaction txn(admin);
    EXPECT_TRUE(
        txn.exec("SELECT pg_terminate_backend(" + std::to_string(first) + ")")[0][0].as<bool>());
    // Wait (bounded) until the backend is really gone.
    for (int i = 0; i < 100; ++i) {
      if (txn.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = " +
                   std::to_string(first))[0][0]
              .as<int>() == 0) {
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  int calls = 0;
  int second = pool.run([&](pqxx::connection& conn) {
    ++calls;
    pqxx::nontransaction txn(conn);
    return txn.exec("SELECT pg_backend_pid()")[0][0].as<int>();
  });
  EXPECT_NE(second, first);
  EXPECT_LE(calls, 2);
  EXPECT_EQ(pool.inUse(), 0);
  EXPECT_EQ(backendPid(), second) << "the fresh connection stays in the pool";
}

/// Over HTTP: the API's only pool connection is stuck behind a table lock taken from outside.
class PoolExhaustionHttp : public ::testing::Test {
 protected:
  static ApiHarness::Options options() {
    ApiHarness::Options o;
    o.pool = 1;
    o.acquire_timeout_ms = 300;
    return o;
  }
  PoolExhaustionHttp() : harness_(options()) { key_ = harness_.newTenantKey(); }

  http::HttpResult get(const std::string& path, milliseconds timeout = milliseconds(10000)) {
    http::HttpRequestSpec spec{
        "GET", harness_.baseUrl() + path, {{"Authorization", "Bearer " + key_}}, ""};
    return client_.send(spec, timeout);
  }
  /// Backends of the harness database waiting on a lock (the API's stuck connection).
  int lockWaiters(pqxx::connection& watcher) {
    pqxx::nontransaction txn(watcher);
    return txn
        .exec(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")[0][0]
        .as<int>();
  }

  ApiHarness harness_;
  std::string key_;
  http::CurlExecutor client_;
};

TEST_F(PoolExhaustionHttp, BusyPoolAnswers503WithRetryAfterAndRecovers) {
  ASSERT_EQ(get("/v1/collections").response.status, 200) << "the pool works before the test";

  pqxx::connection locker(harness_.databaseUrl());
  auto lock = std::make_unique<pqxx::work>(locker);
  lock->exec("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE");

  // Request 1 takes the single pool connection and blocks on the lock.
  auto stuck =
      std::async(std::launch::async, [&] { return get("/v1/collections", milliseconds(15000)); });
  pqxx::connection watcher(harness_.databaseUrl());
  bool waiting = false;
  for (int i = 0; i < 250 && !waiting; ++i) {
    waiting = lockWaiters(watcher) >= 1;
    if (!waiting) std::this_thread::sleep_for(milliseconds(20));
  }
  ASSERT_TRUE(waiting) << "request 1 never reached the lock";

  // Request 2 cannot get a connection: 503 with Retry-After after about the acquire timeout.
  auto started = Clock::now();
  auto busy = get("/v1/collections", milliseconds(5000));
  long took = msSince(started);
  ASSERT_TRUE(busy.ok()) << busy.error_message << " (the request hung)";
  EXPECT_EQ(busy.response.status, 503) << busy.response.body;
  EXPECT_GE(took, 250);
  EXPECT_LT(took, 2000) << "a busy pool must answer within acquire_timeout + margin";
  EXPECT_FALSE(busy.response.header("retry-after").empty());
  auto body = parse(busy.response.body);
  ASSERT_TRUE(body.IsObject() && body.HasMember("error")) << busy.response.body;
  EXPECT_STREQ(body["error"]["code"].GetString(), "service_unavailable") << busy.response.body;
  EXPECT_STREQ(body["error"]["type"].GetString(), "api_error") << busy.response.body;

  // Routes without the database keep answering; readiness reports the busy pool, bounded too.
  started = Clock::now();
  EXPECT_EQ(get("/healthz", milliseconds(2000)).response.status, 200);
  auto ready = get("/readyz", milliseconds(5000));
  EXPECT_EQ(ready.response.status, 503);
  EXPECT_LT(msSince(started), 2000);

  // Release the lock: request 1 completes, and a third request succeeds.
  lock->abort();
  lock.reset();
  auto first = stuck.get();
  ASSERT_TRUE(first.ok()) << first.error_message;
  EXPECT_EQ(first.response.status, 200) << first.response.body;
  auto third = get("/v1/collections", milliseconds(5000));
  EXPECT_EQ(third.response.status, 200) << third.response.body;
  auto created = harness_.post("/v1/collections", collectionBody(1234), key_);
  EXPECT_EQ(created.response.status, 201) << created.response.body;
}

// A batch statement's generic plan, made while its table is new and empty, must still look rows
// up by index: the plan is kept while the table grows, and a hash join over a sequential scan
// made the write path 3 to 4 times slower on a fresh database.
TEST(PooledConnection, PlansABatchJoinAsIndexLookupsOnAnEmptyTable) {
  TestDatabase db;
  store::Pool pool(Secret(db.url()), 1, milliseconds(2000));
  std::string plan = pool.run([](pqxx::connection& conn) {
    pqxx::work txn(conn);
    txn.exec("SET LOCAL plan_cache_mode = force_generic_plan");
    txn.exec(
        "PREPARE batch_lookup(json) AS SELECT t.id FROM transactions t"
        " JOIN json_to_recordset($1) AS c(id text) ON c.id = t.id ORDER BY t.id FOR UPDATE OF t");
    std::string text;
    for (const auto& row : txn.exec("EXPLAIN EXECUTE batch_lookup('[]')")) {
      text += row[0].as<std::string>() + "\n";
    }
    return text;
  });
  EXPECT_NE(plan.find("Index Scan using transactions_pkey"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Seq Scan on transactions"), std::string::npos) << plan;
  EXPECT_EQ(plan.find("Hash Join"), std::string::npos) << plan;
}

}  // namespace
}  // namespace paymux::testing
