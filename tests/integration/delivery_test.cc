// Subscription deliveries (issue 6): the dispatcher against real PostgreSQL and a real HTTP
// subscriber (an in-process SimServer that records every request), with short retry schedules.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "connectors/simkit/sim_server.h"
#include "services/common/standard_webhooks.h"
#include "services/worker/dispatcher.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document d;
  d.Parse(body.c_str());
  return d;
}

int64_t unixNow() { return static_cast<int64_t>(std::time(nullptr)); }

/// One request as the subscriber saw it.
struct Received {
  std::string path;
  std::string id;
  std::string timestamp;
  std::string signature;
  std::string content_type;
  std::string user_agent;
  std::string body;
  Clock::time_point at;
  int answered = 0;
  std::chrono::milliseconds delay{0};
};

/// A subscriber endpoint: records every request, answers with `behaviour` (default 204).
class Subscriber {
 public:
  using Behaviour = std::function<simkit::SimResponse(const Received&)>;
  Subscriber()
      : server_(
            "127.0.0.1", 0, [this](const simkit::SimRequest& r) { return handle(r); }, 4) {}

  std::string url(const std::string& path = "/hook") const { return server_.baseUrl() + path; }
  void setBehaviour(Behaviour b) {
    std::lock_guard lock(mutex_);
    behaviour_ = std::move(b);
  }
  std::vector<Received> received(const std::string& path = "") const {
    std::lock_guard lock(mutex_);
    std::vector<Received> out;
    for (const auto& r : received_) {
      if (path.empty() || r.path == path) out.push_back(r);
    }
    return out;
  }
  /// webhook-id -> how many requests carried it (for one path, or all).
  std::map<std::string, int> idCounts(const std::string& path = "") const {
    std::map<std::string, int> counts;
    for (const auto& r : received(path)) ++counts[r.id];
    return counts;
  }
  /// Distinct webhook-ids answered 2xx.
  std::set<std::string> deliveredIds(const std::string& path = "") const {
    std::set<std::string> ids;
    for (const auto& r : received(path)) {
      if (r.answered >= 200 && r.answered < 300) ids.insert(r.id);
    }
    return ids;
  }

 private:
  simkit::SimResponse handle(const simkit::SimRequest& req) {
    Received r{req.path,
               req.header("webhook-id"),
               req.header("webhook-timestamp"),
               req.header("webhook-signature"),
               req.header("content-type"),
               req.header("user-agent"),
               req.body,
               Clock::now()};
    std::lock_guard lock(mutex_);
    simkit::SimResponse resp = behaviour_ ? behaviour_(r) : simkit::SimResponse(204, "");
    r.answered = resp.status;
    r.delay = resp.delay;
    received_.push_back(r);
    return resp;
  }

  mutable std::mutex mutex_;
  Behaviour behaviour_;
  std::vector<Received> received_;
  simkit::SimServer server_;  // last: stops before the state its handler uses goes away
};

struct Sub {
  std::string id;
  std::string secret;
};

/// Polls `fn` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& fn, std::chrono::milliseconds timeout = 10s) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return fn();
}

class Deliveries : public ::testing::Test {
 protected:
  void SetUp() override { startHarness(ApiHarness::Options{}); }
  void TearDown() override { harness_.reset(); }

  void startHarness(ApiHarness::Options options) {
    harness_.reset();
    harness_ = std::make_unique<ApiHarness>(options);
    key_ = harness_->newTenantKey(&tenant_);
  }

  Sub subscribe(const std::string& url, const std::string& event_types = "") {
    std::string body = "{\"url\":\"" + url + "\"" +
                       (event_types.empty() ? "" : ",\"event_types\":" + event_types) + "}";
    auto r = harness_->post("/v1/subscriptions", body, key_);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    auto d = parse(r.response.body);
    return {d["id"].GetString(), d["secret"].GetString()};
  }
  std::string collect(const std::string& token = "tok_success") {
    auto r = harness_->post("/v1/collections", collectionBody(1000, "EUR", token), key_);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return parse(r.response.body)["id"].GetString();
  }
  std::string payout(const std::string& token = "tok_success") {
    auto r = harness_->post("/v1/payouts", payoutBody(25000, "EUR", token), key_);
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    return parse(r.response.body)["id"].GetString();
  }
  /// event id -> stored body, for this tenant.
  std::map<std::string, std::string> events() {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    std::map<std::string, std::string> out;
    for (const auto& r :
         txn.exec_params("SELECT id, body FROM events WHERE tenant_id = $1", tenant_)) {
      out[r[0].as<std::string>()] = r[1].as<std::string>();
    }
    return out;
  }
  long scalar(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::read_transaction txn(conn);
    auto r = txn.exec(sql);
    return r.empty() || r[0][0].is_null() ? 0 : r[0][0].as<long>();
  }
  void exec(const std::string& sql) {
    pqxx::connection conn(harness_->databaseUrl());
    pqxx::work txn(conn);
    txn.exec(sql);
    txn.commit();
  }
  rapidjson::Document getSubscription(const std::string& id) {
    return parse(harness_->call("GET", "/v1/subscriptions/" + id, "", key_).response.body);
  }
  std::string metrics() { return harness_->call("GET", "/metrics").response.body; }
  /// The value of one series (name with its labels) in /metrics; 0 when absent.
  double metric(const std::string& series) {
    std::string text = metrics();
    auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(text.substr(at + series.size() + 2));
  }

  std::unique_ptr<ApiHarness> harness_;
  std::string key_, tenant_;
};

TEST_F(Deliveries, EveryEventReachesTheSubscriberSignedAndByteIdentical) {
  Subscriber subscriber;
  Sub sub = subscribe(subscriber.url());
  for (int i = 0; i < 6; ++i) collect(i % 3 == 2 ? "tok_decline" : "tok_success");
  for (int i = 0; i < 4; ++i) payout();
  collect("tok_action");
  harness_->startDispatcher();
  auto stored = events();
  ASSERT_GE(stored.size(), 11u);
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == stored.size(); }))
      << subscriber.deliveredIds().size() << " of " << stored.size();
  std::set<std::string> types;
  for (const auto& r : subscriber.received()) {
    ASSERT_TRUE(stored.count(r.id)) << r.id;
    EXPECT_EQ(r.body, stored[r.id]);  // byte for byte
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.user_agent, "paymux/test");
    EXPECT_EQ(r.signature.rfind("v1,", 0), 0u) << r.signature;
    EXPECT_TRUE(
        standard_webhooks::verify(sub.secret, r.id, r.timestamp, r.signature, r.body, unixNow()))
        << r.id;
    EXPECT_FALSE(standard_webhooks::verify(standard_webhooks::generateSecret(), r.id, r.timestamp,
                                           r.signature, r.body, unixNow()));
    types.insert(parse(r.body)["type"].GetString());
  }
  EXPECT_TRUE(types.count("collection.succeeded"));
  EXPECT_TRUE(types.count("collection.failed"));
  EXPECT_TRUE(types.count("collection.requires_action"));
  for (const auto& [id, n] : subscriber.idCounts()) EXPECT_EQ(n, 1) << id;
  EXPECT_TRUE(eventually([&] {
    return scalar("SELECT count(*) FROM deliveries WHERE state = 'delivered'") ==
           static_cast<long>(stored.size());
  }));
  // The attempts API shows each one.
  auto list =
      parse(harness_->call("GET", "/v1/subscriptions/" + sub.id + "/deliveries?limit=100", "", key_)
                .response.body);
  ASSERT_TRUE(list["data"].IsArray());
  EXPECT_EQ(list["data"].Size(), stored.size());
  for (const auto& a : list["data"].GetArray()) {
    EXPECT_EQ(a["status_code"].GetInt(), 204);
    EXPECT_TRUE(a["error"].IsNull());
    EXPECT_TRUE(a["next_retry_at"].IsNull());
    EXPECT_EQ(a["attempt"].GetInt(), 1);
    EXPECT_EQ(std::string(a["id"].GetString()).rfind("dla_", 0), 0u);
  }
  std::string m = metrics();
  EXPECT_NE(m.find("paymux_deliveries_total{result=\"delivered\"}"), std::string::npos);
  EXPECT_NE(m.find("paymux_delivery_attempt_duration_seconds_count"), std::string::npos);
  EXPECT_NE(m.find("paymux_delivery_queue_depth"), std::string::npos);
  EXPECT_NE(m.find("paymux_delivery_oldest_due_age_seconds"), std::string::npos);
}

TEST_F(Deliveries, EventTypeFilterIsApplied) {
  Subscriber subscriber;
  subscribe(subscriber.url("/failed-only"), R"(["collection.failed"])");
  collect("tok_success");
  std::string declined = collect("tok_decline");
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 1; }));
  std::this_thread::sleep_for(300ms);
  auto got = subscriber.received();
  ASSERT_EQ(got.size(), 1u);
  auto body = parse(got[0].body);
  EXPECT_STREQ(body["type"].GetString(), "collection.failed");
  EXPECT_EQ(body["data"]["object"]["id"].GetString(), declined);
}

TEST_F(Deliveries, SubscriberDownThenUpGetsEverythingWithAttemptsLogged) {
  Subscriber subscriber;
  std::atomic<bool> down{true};
  subscriber.setBehaviour([&](const Received&) {
    return down ? simkit::SimResponse(500, "{\"error\":\"down for maintenance\"}")
                : simkit::SimResponse(200, "ok");
  });
  Sub sub = subscribe(subscriber.url());
  for (int i = 0; i < 5; ++i) collect();
  harness_->startDispatcher();
  // Every event fails once or twice (schedule [0, 1, 1, 1]) ...
  ASSERT_TRUE(eventually([&] { return subscriber.idCounts().size() == 5; }));
  std::this_thread::sleep_for(1300ms);
  down = false;
  // ... then arrives.
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 5; }));
  for (const auto& [id, n] : subscriber.idCounts()) EXPECT_GE(n, 2) << id;
  EXPECT_TRUE(eventually(
      [&] { return scalar("SELECT count(*) FROM deliveries WHERE state = 'delivered'") == 5; }));
  EXPECT_GE(scalar("SELECT count(*) FROM delivery_attempts WHERE status_code = 500 AND error ="
                   " 'HTTP 500' AND response_body LIKE '%down for maintenance%'"
                   " AND next_retry_at IS NOT NULL"),
            5);
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE status_code = 200"), 5);
  // The retried attempts are numbered, and each delivery's timestamps move on.
  EXPECT_GE(scalar("SELECT min(attempt) FROM delivery_attempts WHERE status_code = 200"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT delivery_id, max(attempt) AS m, count(*) AS n,"
                   " max(attempt) FILTER (WHERE status_code = 200) AS ok FROM delivery_attempts"
                   " GROUP BY delivery_id) x WHERE m = n AND ok = m"),
            5);
  auto list =
      parse(harness_->call("GET", "/v1/subscriptions/" + sub.id + "/deliveries?limit=100", "", key_)
                .response.body);
  bool saw_retry = false;
  for (const auto& a : list["data"].GetArray()) {
    if (a["status_code"].GetInt() == 500) {
      saw_retry = true;
      EXPECT_STREQ(a["error"].GetString(), "HTTP 500");
      EXPECT_TRUE(a["next_retry_at"].IsString());
    }
  }
  EXPECT_TRUE(saw_retry);
  EXPECT_TRUE(getSubscription(sub.id)["enabled"].GetBool());
}

TEST_F(Deliveries, ExhaustedScheduleMarksTheDeliveryFailed) {
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) { return simkit::SimResponse(502, ""); });
  subscribe(subscriber.url());
  collect();
  harness_->startDispatcher();
  // [0, 1, 1, 1]: four attempts, then failed.
  ASSERT_TRUE(eventually(
      [&] { return scalar("SELECT count(*) FROM deliveries WHERE state = 'failed'") == 1; }, 8s));
  EXPECT_EQ(subscriber.received().size(), 4u);
  EXPECT_EQ(scalar("SELECT attempt_count FROM deliveries"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE next_retry_at IS NULL"), 1);
}

TEST_F(Deliveries, RedirectIsAFailureAndNotFollowed) {
  Subscriber subscriber;
  subscriber.setBehaviour([&](const Received& r) {
    if (r.path == "/moved") {
      simkit::SimResponse resp(301, "");
      resp.headers.emplace_back("Location", "/elsewhere");
      return resp;
    }
    return simkit::SimResponse(200, "");
  });
  subscribe(subscriber.url("/moved"));
  collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] {
    return scalar("SELECT count(*) FROM delivery_attempts WHERE status_code = 301") >= 1;
  }));
  EXPECT_TRUE(subscriber.received("/elsewhere").empty());
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE error LIKE '%redirects are not"
                   " followed%'"),
            scalar("SELECT count(*) FROM delivery_attempts"));
}

TEST_F(Deliveries, GoneDisablesTheSubscriptionAndCancelsItsQueue) {
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) { return simkit::SimResponse(410, ""); });
  Sub sub = subscribe(subscriber.url());
  for (int i = 0; i < 3; ++i) collect();
  double before = metric("paymux_subscriptions_disabled_total{reason=\"gone\"}");
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return !getSubscription(sub.id)["enabled"].GetBool(); }));
  harness_->stopDispatcher();
  // One or more 410s (per_subscription requests may be in flight together), no retry.
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'"), 0);
  EXPECT_GE(scalar("SELECT count(*) FROM deliveries WHERE state = 'failed'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE state IN ('failed', 'canceled')"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM subscriptions WHERE disabled_reason = 'gone'"), 1);
  EXPECT_EQ(metric("paymux_subscriptions_disabled_total{reason=\"gone\"}"), before + 1);
  // New events no longer fan out to it; re-enabling resumes deliveries for new events.
  collect();
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries"), 3);
  subscriber.setBehaviour([](const Received&) { return simkit::SimResponse(200, ""); });
  auto patch = harness_->call("PATCH", "/v1/subscriptions/" + sub.id, R"({"enabled":true})", key_,
                              "", {{"Content-Type", "application/json"}});
  ASSERT_EQ(patch.response.status, 200) << patch.response.body;
  std::string fresh = collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] {
    for (const auto& r : subscriber.received()) {
      if (r.answered == 200 && parse(r.body)["data"]["object"]["id"].GetString() == fresh) {
        return true;
      }
    }
    return false;
  }));
}

TEST_F(Deliveries, RetryAfterIsHonoured) {
  Subscriber subscriber;
  std::atomic<int> calls{0};
  subscriber.setBehaviour([&](const Received&) {
    if (calls++ == 0) {
      simkit::SimResponse resp(429, R"({"error":"slow down"})");
      resp.headers.emplace_back("Retry-After", "3");
      return resp;
    }
    return simkit::SimResponse(200, "");
  });
  subscribe(subscriber.url());
  collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 1; }, 10s));
  auto got = subscriber.received();
  ASSERT_EQ(got.size(), 2u);
  auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(got[1].at - got[0].at);
  std::printf("Retry-After: 3 -> second attempt after %lld ms (schedule alone: ~1000 ms)\n",
              static_cast<long long>(gap.count()));
  EXPECT_GE(gap.count(), 2950);
  EXPECT_LT(gap.count(), 4500);
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE status_code = 429"), 1);
}

TEST_F(Deliveries, ServiceUnavailableRetryAfterIsHonouredToo) {
  Subscriber subscriber;
  std::atomic<int> calls{0};
  subscriber.setBehaviour([&](const Received&) {
    if (calls++ == 0) {
      simkit::SimResponse resp(503, "");
      resp.headers.emplace_back("Retry-After", "2");
      return resp;
    }
    return simkit::SimResponse(200, "");
  });
  subscribe(subscriber.url());
  collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 1; }, 10s));
  auto got = subscriber.received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_GE(std::chrono::duration_cast<std::chrono::milliseconds>(got[1].at - got[0].at).count(),
            1950);
}

TEST_F(Deliveries, AClaimWhoseWorkerDiedIsDeliveredAfterItsLease) {
  Subscriber subscriber;
  subscribe(subscriber.url());
  std::string id = collect();
  // A worker claimed the delivery (lease 2 s) and died before sending or recording anything.
  exec(
      "UPDATE deliveries SET leased_until = now() + interval '2 seconds',"
      " lease_token = 'crashed-worker'");
  auto claimed_at = Clock::now();
  harness_->startDispatcher();
  std::this_thread::sleep_for(1200ms);
  EXPECT_TRUE(subscriber.received().empty()) << "a live lease must not be taken over";
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 1; }, 5s));
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(subscriber.received()[0].at -
                                                                      claimed_at);
  EXPECT_GE(waited.count(), 1900);
  EXPECT_TRUE(eventually([&] {
    return scalar(
               "SELECT count(*) FROM deliveries WHERE state = 'delivered' AND attempt_count = 1"
               " AND lease_token IS NULL") == 1;
  }));
  EXPECT_EQ(subscriber.received().size(), 1u);
}

TEST_F(Deliveries, AWorkerWhoseLeaseWasTakenOverCannotRecordOverTheNewClaim) {
  // The dispatcher sends; meanwhile its lease passes to another claimer (as when a worker looked
  // dead). Its answer is still logged as an attempt, but the delivery is the new claimer's.
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) {
    simkit::SimResponse r(200, "");
    r.delay = 800ms;
    return r;
  });
  subscribe(subscriber.url());
  collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.received().size() == 1; }));
  exec(
      "UPDATE deliveries SET lease_token = 'next-claimer', leased_until = now() + interval '1 "
      "min'");
  ASSERT_TRUE(eventually([&] { return scalar("SELECT count(*) FROM delivery_attempts") == 1; }));
  harness_->stopDispatcher();
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE state = 'pending' AND attempt_count = 0"
                   " AND lease_token = 'next-claimer'"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE status_code = 200"), 1);
}

TEST_F(Deliveries, NoDeliveryIsSentTwiceByTwoDispatchers) {
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) {
    simkit::SimResponse r(200, "");
    r.delay = 20ms;
    return r;
  });
  for (int s = 0; s < 3; ++s) subscribe(subscriber.url("/s" + std::to_string(s)));
  for (int i = 0; i < 20; ++i) (i % 2 ? collect() : payout());
  size_t events_total = events().size();
  auto second = harness_->newDispatcher();
  std::atomic<bool> stop{false};
  std::thread other([&] { second->run(stop); });
  harness_->startDispatcher();
  bool all = eventually([&] { return subscriber.received().size() >= 3 * events_total; }, 20s);
  std::this_thread::sleep_for(500ms);  // anything duplicated would show up by now
  stop = true;
  second->wake();
  other.join();
  harness_->stopDispatcher();
  ASSERT_TRUE(all) << subscriber.received().size() << " of " << 3 * events_total;
  for (int s = 0; s < 3; ++s) {
    auto counts = subscriber.idCounts("/s" + std::to_string(s));
    EXPECT_EQ(counts.size(), events_total);
    for (const auto& [id, n] : counts) EXPECT_EQ(n, 1) << "/s" << s << " " << id;
  }
  EXPECT_EQ(subscriber.received().size(), 3 * events_total);
  auto a = harness_->dispatcher().totals();
  auto b = second->totals();
  std::printf("two dispatchers shared %zu deliveries: %ld + %ld\n", 3 * events_total, a.delivered,
              b.delivered);
  EXPECT_EQ(a.delivered + b.delivered, static_cast<long>(3 * events_total));
}

/// Largest number of requests the subscriber was answering at the same time (from arrival and
/// answer delay).
size_t maxOverlap(const std::vector<Received>& got) {
  std::vector<std::pair<Clock::time_point, int>> edges;
  for (const auto& r : got) {
    edges.emplace_back(r.at, +1);
    edges.emplace_back(r.at + r.delay, -1);
  }
  std::sort(edges.begin(), edges.end(), [](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : x.second < y.second;
  });
  int now = 0, max = 0;
  for (const auto& [t, d] : edges) max = std::max(max, now += d);
  return static_cast<size_t>(max);
}

TEST_F(Deliveries, PerSubscriptionAndTotalInFlightCapsHold) {
  ApiHarness::Options o;
  o.delivery_per_subscription = 3;
  o.delivery_concurrency = 5;
  startHarness(o);
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) {
    simkit::SimResponse r(200, "");
    r.delay = 300ms;
    return r;
  });
  subscribe(subscriber.url("/a"));
  subscribe(subscriber.url("/b"));
  for (int i = 0; i < 12; ++i) collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 12; }, 20s));
  ASSERT_TRUE(eventually([&] { return subscriber.received().size() == 24; }, 20s));
  size_t a = maxOverlap(subscriber.received("/a"));
  size_t b = maxOverlap(subscriber.received("/b"));
  size_t all = maxOverlap(subscriber.received());
  std::printf("max in flight: /a %zu, /b %zu, total %zu (caps 3 per subscription, 5 total)\n", a, b,
              all);
  EXPECT_LE(a, 3u);
  EXPECT_LE(b, 3u);
  EXPECT_LE(all, 5u);
  EXPECT_GE(all, 4u);  // and they really run concurrently
}

std::pair<long, long> percentiles(std::vector<long> ms) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  };
  return {at(0.50), at(0.99)};
}

TEST_F(Deliveries, AHangingEndpointDoesNotDelayOtherSubscriptions) {
  ApiHarness::Options o;
  o.delivery_timeout_ms = 3000;
  o.delivery_schedule = "[0, 1, 1, 1, 1, 1]";
  startHarness(o);
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received& r) {
    simkit::SimResponse resp(200, "");
    if (r.path == "/hang") resp.delay = 30s;  // never answers within the timeout
    return resp;
  });
  subscribe(subscriber.url("/healthy"));
  harness_->startDispatcher();

  // Events paced 40 ms apart; latency = from the API call to the healthy subscriber's receipt.
  auto measure = [&](int n) {
    std::map<std::string, Clock::time_point> sent;
    for (int i = 0; i < n; ++i) {
      auto t0 = Clock::now();
      sent[collect()] = t0;
      std::this_thread::sleep_for(40ms);
    }
    EXPECT_TRUE(eventually(
        [&] {
          size_t got = 0;
          for (const auto& r : subscriber.received("/healthy")) {
            if (sent.count(parse(r.body)["data"]["object"]["id"].GetString())) ++got;
          }
          return got >= sent.size();
        },
        15s));
    std::vector<long> latencies;
    for (const auto& r : subscriber.received("/healthy")) {
      auto it = sent.find(parse(r.body)["data"]["object"]["id"].GetString());
      if (it == sent.end()) continue;
      latencies.push_back(
          std::chrono::duration_cast<std::chrono::milliseconds>(r.at - it->second).count());
    }
    return latencies;
  };
  auto [base50, base99] = percentiles(measure(40));
  subscribe(subscriber.url("/hang"));
  auto hang_started = Clock::now();
  auto with_hang = measure(80);
  auto [hang50, hang99] = percentiles(with_hang);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - hang_started);
  std::printf(
      "healthy subscription delivery latency (API call -> receipt):\n"
      "  alone:                       p50 %ld ms, p99 %ld ms (40 events)\n"
      "  beside a hanging endpoint:   p50 %ld ms, p99 %ld ms (80 events over %lld ms;"
      " the other endpoint times out after 3000 ms)\n",
      base50, base99, hang50, hang99, static_cast<long long>(elapsed.count()));
  // The hanging endpoint really was hanging and retried meanwhile...
  EXPECT_GE(subscriber.received("/hang").size(), 4u);
  EXPECT_GE(scalar("SELECT count(*) FROM delivery_attempts WHERE error LIKE 'timeout after%'"), 4);
  // ... never held more than its per-subscription cap ...
  EXPECT_LE(scalar("SELECT count(*) FROM deliveries d JOIN subscriptions s ON s.id ="
                   " d.subscription_id WHERE s.url LIKE '%/hang' AND d.leased_until > now()"),
            4);
  // ... and the healthy one never waited for it.
  EXPECT_LT(hang99, 1000);
  EXPECT_LT(hang50, 400);
}

TEST_F(Deliveries, DuringRotationBothTheOldAndTheNewSecretVerifyTheSameDelivery) {
  Subscriber subscriber;
  Sub sub = subscribe(subscriber.url());
  auto rotated = harness_->call("POST", "/v1/subscriptions/" + sub.id + "/rotate_secret", "", key_);
  ASSERT_EQ(rotated.response.status, 200) << rotated.response.body;
  std::string fresh = parse(rotated.response.body)["secret"].GetString();
  ASSERT_NE(fresh, sub.secret);
  collect();
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 1; }));
  auto r = subscriber.received()[0];
  EXPECT_NE(r.signature.find(' '), std::string::npos) << "two signatures expected: " << r.signature;
  EXPECT_TRUE(
      standard_webhooks::verify(sub.secret, r.id, r.timestamp, r.signature, r.body, unixNow()));
  EXPECT_TRUE(standard_webhooks::verify(fresh, r.id, r.timestamp, r.signature, r.body, unixNow()));
  EXPECT_FALSE(standard_webhooks::verify(standard_webhooks::generateSecret(), r.id, r.timestamp,
                                         r.signature, r.body, unixNow()));
  // After the overlap, only the new secret signs.
  exec(
      "UPDATE subscriptions SET secrets = (SELECT jsonb_agg(CASE WHEN x->'expires_at' <>"
      " 'null'::jsonb THEN jsonb_set(x, '{expires_at}', '\"2020-01-01T00:00:00Z\"') ELSE x END)"
      " FROM jsonb_array_elements(secrets) x)");
  collect();
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 2; }));
  auto later = subscriber.received()[1];
  EXPECT_EQ(later.signature.find(' '), std::string::npos) << later.signature;
  EXPECT_TRUE(standard_webhooks::verify(fresh, later.id, later.timestamp, later.signature,
                                        later.body, unixNow()));
  EXPECT_FALSE(standard_webhooks::verify(sub.secret, later.id, later.timestamp, later.signature,
                                         later.body, unixNow()));
}

TEST_F(Deliveries, ASubscriptionFailingForDisableAfterIsDisabled) {
  ApiHarness::Options o;
  o.delivery_disable_after_s = 2;
  o.delivery_schedule = "[0, 1, 1, 1, 1, 1, 1, 1]";
  startHarness(o);
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) { return simkit::SimResponse(500, ""); });
  Sub sub = subscribe(subscriber.url());
  collect();
  double before = metric("paymux_subscriptions_disabled_total{reason=\"failing\"}");
  harness_->startDispatcher();
  ASSERT_TRUE(eventually([&] { return !getSubscription(sub.id)["enabled"].GetBool(); }, 10s));
  EXPECT_EQ(scalar("SELECT count(*) FROM subscriptions WHERE disabled_reason = 'failing'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM deliveries WHERE state = 'canceled'"), 1);
  EXPECT_GE(subscriber.received().size(), 3u);
  EXPECT_EQ(metric("paymux_subscriptions_disabled_total{reason=\"failing\"}"), before + 1);
}

TEST_F(Deliveries, ASuccessResetsTheFailureClock) {
  ApiHarness::Options o;
  o.delivery_disable_after_s = 2;
  o.delivery_schedule = "[0, 1, 1, 1, 1, 1, 1, 1]";
  startHarness(o);
  Subscriber subscriber;
  std::atomic<int> calls{0};
  // Fails, succeeds, fails...: never failing for 2 s without a success in between.
  subscriber.setBehaviour(
      [&](const Received&) { return simkit::SimResponse(calls++ % 2 ? 200 : 500, ""); });
  Sub sub = subscribe(subscriber.url());
  harness_->startDispatcher();
  for (int i = 0; i < 6; ++i) {
    collect();
    std::this_thread::sleep_for(600ms);
  }
  ASSERT_TRUE(eventually([&] { return subscriber.deliveredIds().size() == 6; }, 10s));
  EXPECT_TRUE(getSubscription(sub.id)["enabled"].GetBool());
}

TEST_F(Deliveries, RecoverRedeliversWithTheSameWebhookId) {
  Subscriber subscriber;
  Sub sub = subscribe(subscriber.url());
  collect();
  collect();
  ASSERT_TRUE(harness_->dispatcher().runUntilIdle(10s));
  ASSERT_EQ(subscriber.deliveredIds().size(), 2u);
  auto r = harness_->post("/v1/subscriptions/" + sub.id + "/recover",
                          R"({"since":"2000-01-01T00:00:00Z"})", key_);
  ASSERT_EQ(r.response.status, 200) << r.response.body;
  EXPECT_EQ(parse(r.response.body)["queued"].GetInt(), 2);
  ASSERT_TRUE(harness_->dispatcher().runUntilIdle(10s));
  for (const auto& [id, n] : subscriber.idCounts()) EXPECT_EQ(n, 2) << id;
}

TEST_F(Deliveries, ConnectionRefusedAndTimeoutsAreRecordedAsErrors) {
  ApiHarness::Options o;
  o.delivery_timeout_ms = 500;
  startHarness(o);
  Subscriber subscriber;
  subscriber.setBehaviour([](const Received&) {
    simkit::SimResponse r(200, "");
    r.delay = 5s;
    return r;
  });
  subscribe(subscriber.url("/slow"));
  subscribe("http://127.0.0.1:9/closed");  // discard port: nothing listens
  collect();
  ASSERT_TRUE(harness_->dispatcher().runUntilIdle(10s));
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE error = 'timeout after 500 ms'"
                   " AND status_code IS NULL"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM delivery_attempts WHERE status_code IS NULL AND error"
                   " LIKE '%onnect%'"),
            1);
  EXPECT_LE(scalar("SELECT max(latency_ms) FROM delivery_attempts"), 1500);
}

}  // namespace
}  // namespace paymux::testing
