// The shared write path against real PostgreSQL: group commit (batches, isolation of a bad
// item, errors reach their own caller), event numbering in the write set (gap-free per-tenant
// sequences in commit order under concurrent writers, bodies numbered, fan-out once, the sweeper
// for events an earlier version left unnumbered) and the write set's version check.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "services/common/crypto.h"
#include "services/store/event_publisher.h"
#include "services/store/events_repo.h"
#include "services/store/group_commit.h"
#include "services/store/pool.h"
#include "services/store/tenants_repo.h"
#include "services/store/write_set.h"
#include "services/store/lease_keeper.h"
#include "services/store/listener.h"
#include "tests/support/test_db.h"

namespace paymux::testing {
namespace {

using std::chrono::milliseconds;

class WritePath : public ::testing::Test {
 protected:
  void SetUp() override {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    tenant_a_ = store::createTenant(txn, "a");
    tenant_b_ = store::createTenant(txn, "b");
    txn.exec("CREATE TABLE gc_items (id int PRIMARY KEY, batch_txid bigint NOT NULL)");
    txn.commit();
  }
  long scalar(const std::string& sql) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    return txn.exec(sql)[0][0].as<long>();
  }
  /// An event as a causing transaction hands it to the write set: unnumbered.
  static store::NewEvent event(const std::string& tenant) {
    std::string id = crypto::randomId("evt", 20);
    return {id, tenant, "collection.succeeded", "",
            R"({"id":")" + id + R"(","object":"event","type":"collection.succeeded","sequence":null,)"
            R"("created_at":"2026-12-01T00:00:00Z","data":{"object":{"note":"\"sequence\":null"}}})"};
  }

  TestDatabase db_;
  std::string tenant_a_, tenant_b_;
};

struct Row {
  int id = 0;
  bool committed = false;
};

TEST_F(WritePath, GroupCommitBatchesConcurrentCallersIntoFewTransactions) {
  store::Pool pool(Secret(db_.url()), 4, milliseconds(2000));
  std::atomic<int> flushes{0};
  store::GroupCommit<Row> commits(pool, [&](pqxx::connection& conn, std::vector<Row*>& batch) {
    pqxx::work txn(conn);
    for (Row* r : batch) {
      txn.exec_params("INSERT INTO gc_items VALUES ($1, txid_current())", r->id);
    }
    std::this_thread::sleep_for(milliseconds(5));  // a flush slow enough for a queue to form
    txn.commit();
    ++flushes;
    for (Row* r : batch) r->committed = true;
  });
  constexpr int kCallers = 64;
  std::vector<std::thread> callers;
  std::vector<Row> rows(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    rows[i].id = i;
    callers.emplace_back([&, i] { commits.submit(rows[i]); });
  }
  for (auto& t : callers) t.join();
  for (const auto& r : rows) EXPECT_TRUE(r.committed) << r.id;
  EXPECT_EQ(scalar("SELECT count(*) FROM gc_items"), kCallers);
  // Every caller returned after its own row committed, and the rows shared transactions.
  EXPECT_EQ(scalar("SELECT count(DISTINCT batch_txid) FROM gc_items"), flushes.load());
  EXPECT_LT(flushes.load(), kCallers / 2) << "concurrent callers were not batched";
}

TEST_F(WritePath, GroupCommitKeepsBothLeaderPlacesInUseUnderSustainedLoad) {
  // Two leaders finishing at nearly the same time must not both hand their place to the same
  // waiting caller: a place handed twice is used once, and the group commit would run with one
  // flush at a time from then on.
  store::Pool pool(Secret(db_.url()), 4, milliseconds(2000));
  std::atomic<int> in_flight{0};
  std::mutex seen_mutex;
  std::vector<int> concurrency;  // per flush, flushes running when it started (itself included)
  store::GroupCommit<Row> commits(
      pool,
      [&](pqxx::connection&, std::vector<Row*>& batch) {
        int now = ++in_flight;
        {
          std::lock_guard lock(seen_mutex);
          concurrency.push_back(now);
        }
        std::this_thread::sleep_for(milliseconds(2));
        --in_flight;
        for (Row* r : batch) r->committed = true;
      },
      /*max_batch=*/4, /*max_leaders=*/2);
  constexpr int kCallers = 24, kEach = 40;
  std::vector<std::thread> callers;
  std::atomic<int> committed{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        Row row;
        commits.submit(row);
        if (row.committed) ++committed;
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(committed.load(), kCallers * kEach);
  ASSERT_GT(concurrency.size(), 40u);
  // The second half of the run still had two flushes at once most of the time.
  size_t half = concurrency.size() / 2, overlapped = 0;
  for (size_t i = half; i < concurrency.size(); ++i) {
    EXPECT_LE(concurrency[i], 2);
    overlapped += concurrency[i] == 2 ? 1 : 0;
  }
  EXPECT_GT(overlapped, (concurrency.size() - half) / 4);
}

TEST_F(WritePath, GroupCommitIsolatesTheItemThatFailsItsBatch) {
  store::Pool pool(Secret(db_.url()), 4, milliseconds(2000));
  store::GroupCommit<Row> commits(pool, [&](pqxx::connection& conn, std::vector<Row*>& batch) {
    pqxx::work txn(conn);
    for (Row* r : batch) {
      if (r->id < 0) throw std::invalid_argument("negative id");
      txn.exec_params("INSERT INTO gc_items VALUES ($1, txid_current())", r->id);
    }
    std::this_thread::sleep_for(milliseconds(5));
    txn.commit();
    for (Row* r : batch) r->committed = true;
  });
  constexpr int kCallers = 40;
  std::vector<Row> rows(kCallers);
  std::vector<int> errors(kCallers, 0);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    rows[i].id = i % 10 == 3 ? -i : i;
    callers.emplace_back([&, i] {
      try {
        commits.submit(rows[i]);
      } catch (const std::invalid_argument&) {
        errors[i] = 1;
      }
    });
  }
  for (auto& t : callers) t.join();
  for (int i = 0; i < kCallers; ++i) {
    bool bad = i % 10 == 3;
    EXPECT_EQ(errors[i], bad ? 1 : 0) << i;
    EXPECT_EQ(rows[i].committed, !bad) << i;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM gc_items"), kCallers - 4);
}

TEST_F(WritePath, WriteSetNumbersEventsGapFreePerTenantUnderConcurrentWritersAndASweeper) {
  store::Pool pool(Secret(db_.url()), 12, milliseconds(5000));
  // The sweeper numbers events that an earlier paymux version wrote unnumbered (a rolling
  // upgrade); one writer below writes them that way.
  store::EventPublisher sweeper(pool, milliseconds(20));
  std::atomic<bool> stop{false};
  std::thread background([&] { sweeper.run(stop); });
  constexpr int kWriters = 6, kSetsEach = 60;
  std::atomic<bool> writing{true};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kSetsEach; ++i) {
        try {
          pool.run([&](pqxx::connection& conn) {
            if (w == 0) {  // as paymux before numbering moved into the write
              pqxx::work txn(conn);
              auto e = event(tenant_a_);
              txn.exec_params("INSERT INTO events (id, tenant_id, type, body) VALUES ($1, $2, $3, $4)",
                              e.id, e.tenant_id, e.type, e.body);
              txn.commit();
              return 0;
            }
            // Sets holding both tenants, in either order, from autocommitted statements (as
            // the group commits write) and from explicit transactions (as webhooks do).
            store::WriteSet writes;
            bool a_first = (w + i) % 2 == 0;
            writes.addEvent(event(a_first ? tenant_a_ : tenant_b_));
            writes.addEvent(event(a_first ? tenant_b_ : tenant_a_));
            if (i % 5 == 0) writes.addEvent(event(a_first ? tenant_a_ : tenant_b_));
            if (w % 2 == 0) {
              pqxx::nontransaction txn(conn);
              writes.write(txn);
            } else {
              pqxx::work txn(conn);
              writes.write(txn);
              txn.commit();
            }
            return 0;
          });
        } catch (const std::exception& e) {
          ++errors;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  // A reader catching up by sequence meanwhile must only ever see a gap-free prefix.
  std::atomic<int> gaps{0};
  std::thread reader([&] {
    pqxx::connection conn(db_.url());
    while (writing) {
      pqxx::nontransaction txn(conn);
      for (const auto& tenant : {tenant_a_, tenant_b_}) {
        auto r = txn.exec_params(
            "SELECT count(*), coalesce(max(sequence), 0) FROM events WHERE tenant_id = $1"
            " AND sequence IS NOT NULL",
            tenant)[0];
        if (r[0].as<long>() != r[1].as<long>()) ++gaps;
      }
    }
  });
  for (auto& t : threads) t.join();
  writing = false;
  reader.join();
  sweeper.publishNow();
  stop = true;
  sweeper.wake();
  background.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(gaps.load(), 0) << "a reader saw sequence n+1 before n";
  long per_writer = 2 * kSetsEach + kSetsEach / 5;
  long total = kSetsEach + (kWriters - 1) * per_writer;
  EXPECT_EQ(scalar("SELECT count(*) FROM events"), total);
  EXPECT_EQ(scalar("SELECT count(*) FROM events WHERE sequence IS NULL"), 0);
  long numbered = 0;
  for (const auto& tenant : {tenant_a_, tenant_b_}) {
    long count = scalar("SELECT count(*) FROM events WHERE tenant_id = '" + tenant + "'");
    numbered += count;
    EXPECT_EQ(scalar("SELECT max(sequence) FROM events WHERE tenant_id = '" + tenant + "'"), count);
    EXPECT_EQ(scalar("SELECT count(DISTINCT sequence) FROM events WHERE tenant_id = '" + tenant + "'"),
              count);
    EXPECT_EQ(scalar("SELECT event_sequence FROM tenants WHERE id = '" + tenant + "'"), count);
  }
  EXPECT_EQ(numbered, total);
  // Each body carries its own sequence, and only the envelope's placeholder was replaced.
  pqxx::connection conn(db_.url());
  pqxx::nontransaction txn(conn);
  for (const auto& r : txn.exec("SELECT sequence, body FROM events")) {
    rapidjson::Document d;
    d.Parse(r[1].c_str());
    ASSERT_FALSE(d.HasParseError());
    EXPECT_EQ(d["sequence"].GetInt64(), r[0].as<int64_t>());
    EXPECT_STREQ(d["data"]["object"]["note"].GetString(), "\"sequence\":null");
  }
}

TEST_F(WritePath, EventsOfOneSetAreNumberedInTheOrderTheyWereAdded) {
  pqxx::connection conn(db_.url());
  store::WriteSet writes;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto e = event(i % 2 ? tenant_a_ : tenant_b_);
    ids.push_back(e.id);
    writes.addEvent(e);
  }
  pqxx::nontransaction txn(conn);
  writes.write(txn);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(txn.exec_params("SELECT sequence FROM events WHERE id = $1", ids[i])[0][0].as<int>(),
              i / 2 + 1)
        << i;
  }
}

TEST_F(WritePath, AnEventOfAnUnknownTenantFailsTheWholeSet) {
  pqxx::connection conn(db_.url());
  store::WriteSet writes;
  writes.addEvent(event(tenant_a_));
  writes.addEvent(event("ten_nobody"));
  pqxx::nontransaction txn(conn);
  EXPECT_THROW(writes.write(txn), pqxx::sql_error);
  EXPECT_EQ(scalar("SELECT count(*) FROM events"), 0);
  EXPECT_EQ(scalar("SELECT event_sequence FROM tenants WHERE id = '" + tenant_a_ + "'"), 0);
}

TEST_F(WritePath, WriteSetFansOutEachEventOnceToMatchingSubscriptions) {
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params(
        "INSERT INTO subscriptions (id, tenant_id, url, event_types) VALUES"
        " ('sub_all', $1, 'https://a.example', '{}'),"
        " ('sub_failed', $1, 'https://b.example', '{collection.failed}'),"
        " ('sub_off', $1, 'https://c.example', '{}')",
        tenant_a_);
    txn.exec("UPDATE subscriptions SET enabled = false WHERE id = 'sub_off'");
    store::WriteSet writes;
    for (int i = 0; i < 3; ++i) writes.addEvent(event(tenant_a_));
    writes.write(txn);
    txn.commit();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE subscription_id = 'sub_all'"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE subscription_id <> 'sub_all'"), 0);
  // The sweeper finds nothing left to number, and numbers (and fans out) an event an earlier
  // version wrote unnumbered, once.
  store::Pool pool(Secret(db_.url()), 2, milliseconds(2000));
  store::EventPublisher sweeper(pool);
  EXPECT_EQ(sweeper.publishNow(), 0);
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    auto e = event(tenant_a_);
    txn.exec_params("INSERT INTO events (id, tenant_id, type, body) VALUES ($1, $2, $3, $4)",
                    e.id, e.tenant_id, e.type, e.body);
    txn.commit();
  }
  EXPECT_EQ(sweeper.publishNow(), 1);
  EXPECT_EQ(sweeper.publishNow(), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE subscription_id = 'sub_all'"), 4);
  EXPECT_EQ(scalar("SELECT max(sequence) FROM events"), 4);
}

TEST_F(WritePath, WriteSetSkipsAChangedRowWithEverythingTiedToIt) {
  pqxx::connection conn(db_.url());
  {
    pqxx::work txn(conn);
    for (const char* id : {"col_fresh", "col_stale"}) {
      txn.exec_params(
          "INSERT INTO transactions (id, tenant_id, kind, status, amount_minor, currency, reference)"
          " VALUES ($1, $2, 'collect', 'pending', 100, 'EUR', 'r')",
          std::string(id), tenant_a_);
    }
    // Someone else changed col_stale after we read it at version 1.
    txn.exec("UPDATE transactions SET version = 2 WHERE id = 'col_stale'");
    txn.commit();
  }
  store::WriteSet writes;
  for (const char* id : {"col_fresh", "col_stale"}) {
    store::TransactionRecord tx;
    tx.id = id;
    tx.tenant_id = tenant_a_;
    tx.status = TxStatus::kSucceeded;
    tx.version = 1;
    writes.changeTransaction(tx, tx.version, std::chrono::system_clock::now());
    writes.addAttempts(id, {{"sandbox-a", "succeeded", "", 0, 5}});
    auto e = event(tenant_a_);
    e.transaction_id = id;
    writes.addEvent(e);
  }
  pqxx::work txn(conn);
  EXPECT_EQ(writes.write(txn), std::vector<std::string>{"col_stale"});
  txn.commit();
  EXPECT_EQ(scalar("SELECT count(*) FROM transactions WHERE status = 'succeeded'"), 1);
  EXPECT_EQ(scalar("SELECT version FROM transactions WHERE id = 'col_fresh'"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM attempts WHERE transaction_id = 'col_stale'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM events WHERE transaction_id = 'col_stale'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM attempts WHERE transaction_id = 'col_fresh'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM events WHERE transaction_id = 'col_fresh'"), 1);
}

TEST_F(WritePath, WritingDeliveriesWakesListeningWorkersAtOnce) {
  std::atomic<int> wakeups{0};
  store::NotificationListener wakeup(Secret(db_.url()), store::kDeliveriesChannel, [&] { ++wakeups; },
                                    [&](bool listening) {
                                      if (listening) ++wakeups;
                                    });
  std::atomic<bool> stop{false};
  std::thread listening([&] { wakeup.run(stop); });
  auto eventually = [](auto condition) {
    for (int i = 0; i < 300 && !condition(); ++i) std::this_thread::sleep_for(milliseconds(10));
    return condition();
  };
  // One wake-up on (re)connecting, for deliveries created while nobody listened.
  ASSERT_TRUE(eventually([&] { return wakeups.load() == 1; }));
  store::Pool pool(Secret(db_.url()), 2, milliseconds(2000));
  auto write_event = [&] {
    pool.run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      store::WriteSet writes;
      writes.addEvent(event(tenant_a_));
      writes.write(txn);
      txn.commit();
      return 0;
    });
  };
  write_event();  // no subscription yet: no deliveries, no wake-up
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    txn.exec_params("INSERT INTO subscriptions (id, tenant_id, url) VALUES ('sub_w', $1, 'https://a.example')",
                    tenant_a_);
    txn.commit();
  }
  write_event();
  EXPECT_TRUE(eventually([&] { return wakeups.load() == 2; }));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(wakeups.load(), 2);
  stop = true;
  listening.join();
}

TEST_F(WritePath, LeaseRenewalNeverWaitsForARowAnotherTransactionHolds) {
  // A request's own batch may hold its key row while completing it; renewal waiting for it
  // while holding other keys that batch needs was a deadlock (PostgreSQL broke it after 1 s).
  {
    pqxx::connection conn(db_.url());
    pqxx::work txn(conn);
    for (const char* key : {"busy", "idle"}) {
      txn.exec_params(
          "INSERT INTO idempotency_keys (tenant_id, key, request_hash, state, locked_until)"
          " VALUES ($1, $2, 'h', 'running', now() + interval '2 seconds')",
          tenant_a_, std::string(key));
    }
    txn.commit();
  }
  pqxx::connection holder(db_.url());
  pqxx::work holding(holder);
  holding.exec_params("SELECT 1 FROM idempotency_keys WHERE tenant_id = $1 AND key = 'busy' FOR UPDATE",
                      tenant_a_);
  store::Pool pool(Secret(db_.url()), 2, milliseconds(2000));
  auto lease_of = [&](const char* key) {
    pqxx::connection conn(db_.url());
    pqxx::nontransaction txn(conn);
    return txn.exec_params("SELECT extract(epoch FROM locked_until - now()) FROM idempotency_keys"
                           " WHERE tenant_id = $1 AND key = $2",
                           tenant_a_, std::string(key))[0][0].as<double>();
  };
  {
    store::LeaseKeeper keeper(pool);
    store::LeaseKeeper::Held busy(keeper, tenant_a_, "busy");
    store::LeaseKeeper::Held idle(keeper, tenant_a_, "idle");
    std::this_thread::sleep_for(milliseconds(1600));
    EXPECT_GT(lease_of("idle"), 2.5) << "renewed although another key of the batch was locked";
    holding.commit();  // before the keeper stops: a renewal stuck on the lock would hang it
  }
}

}  // namespace
}  // namespace paymux::testing
