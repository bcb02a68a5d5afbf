#include "services/store/api_key_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace paymux::store {
namespace {

struct CountingLookup {
  std::optional<std::string> answer = std::string("ten_1");
  int calls = 0;
  ApiKeyCache::Lookup fn() {
    return [this](const std::string&) {
      ++calls;
      return answer;
    };
  }
};

TEST(ApiKeyCache, RemembersAKnownKeyWhileListening) {
  ApiKeyCache cache;
  cache.setListening(true);
  CountingLookup db;
  EXPECT_EQ(cache.authenticate("pmx_test_a", db.fn()), "ten_1");
  EXPECT_EQ(cache.authenticate("pmx_test_a", db.fn()), "ten_1");
  EXPECT_EQ(db.calls, 1);
  EXPECT_EQ(cache.authenticate("pmx_test_b", db.fn()), "ten_1");
  EXPECT_EQ(db.calls, 2);
}

TEST(ApiKeyCache, AsksTheDatabaseEveryTimeWhileRevocationsCannotBeHeard) {
  ApiKeyCache cache;  // not listening yet
  CountingLookup db;
  cache.authenticate("pmx_test_a", db.fn());
  cache.authenticate("pmx_test_a", db.fn());
  EXPECT_EQ(db.calls, 2);
  cache.setListening(true);
  cache.authenticate("pmx_test_a", db.fn());
  cache.setListening(false);  // the listener's connection was lost
  cache.authenticate("pmx_test_a", db.fn());
  EXPECT_EQ(db.calls, 4);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(ApiKeyCache, NeverRemembersAnUnknownKey) {
  ApiKeyCache cache;
  cache.setListening(true);
  CountingLookup db;
  db.answer.reset();
  EXPECT_FALSE(cache.authenticate("pmx_test_bad", db.fn()));
  db.answer = "ten_2";  // the key was created since
  EXPECT_EQ(cache.authenticate("pmx_test_bad", db.fn()), "ten_2");
  EXPECT_EQ(db.calls, 2);
}

TEST(ApiKeyCache, AnInvalidationForgetsEveryKey) {
  ApiKeyCache cache;
  cache.setListening(true);
  CountingLookup db;
  cache.authenticate("pmx_test_a", db.fn());
  cache.invalidate();
  db.answer.reset();  // revoked
  EXPECT_FALSE(cache.authenticate("pmx_test_a", db.fn()));
  EXPECT_EQ(db.calls, 2);
}

TEST(ApiKeyCache, ALookupOverlappingAnInvalidationIsNotRemembered) {
  ApiKeyCache cache;
  cache.setListening(true);
  int calls = 0;
  // The database answered "valid", but a revocation was heard before the answer came back.
  auto racing = [&](const std::string&) -> std::optional<std::string> {
    ++calls;
    if (calls == 1) cache.invalidate();
    return std::string("ten_1");
  };
  EXPECT_EQ(cache.authenticate("pmx_test_a", racing), "ten_1");
  EXPECT_EQ(cache.size(), 0u);
  cache.authenticate("pmx_test_a", racing);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(ApiKeyCache, EntriesExpire) {
  ApiKeyCache cache(std::chrono::seconds(0));
  cache.setListening(true);
  CountingLookup db;
  cache.authenticate("pmx_test_a", db.fn());
  cache.authenticate("pmx_test_a", db.fn());
  EXPECT_EQ(db.calls, 2);
}

TEST(ApiKeyCache, StaysWithinItsCapacity) {
  ApiKeyCache cache(std::chrono::seconds(60), 3);
  cache.setListening(true);
  CountingLookup db;
  for (int i = 0; i < 10; ++i) cache.authenticate("pmx_test_" + std::to_string(i), db.fn());
  EXPECT_LE(cache.size(), 3u);
}

TEST(ApiKeyCache, ConcurrentCallersAgree) {
  ApiKeyCache cache;
  cache.setListening(true);
  std::atomic<int> calls{0};
  auto lookup = [&](const std::string&) -> std::optional<std::string> {
    ++calls;
    return std::string("ten_1");
  };
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        if (cache.authenticate("pmx_test_a", lookup) != "ten_1") ++wrong;
        if (t == 0 && i % 100 == 0) cache.invalidate();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_LT(calls.load(), 8000);
}

}  // namespace
}  // namespace paymux::store
