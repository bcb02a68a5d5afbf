#include "services/worker/dispatcher.h"

#include <curl/curl.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <map>
#include <set>

#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/standard_webhooks.h"

namespace paymux::worker {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kResponseBodyMax = 4096;
// why: a Retry-After of days would park a delivery past any sensible schedule; a day is the
// longest wait an endpoint can ask for.
constexpr long kRetryAfterMaxS = 86400;

CURLM* multiOf(void* p) { return static_cast<CURLM*>(p); }

void count(const char* result) {
  metrics::Registry::global().counterAdd("paymux_deliveries_total", "Delivery attempts by result",
                                         {{"result", result}});
}

void countDisabled(const char* reason) {
  metrics::Registry::global().counterAdd("paymux_subscriptions_disabled_total",
                                         "Subscriptions disabled by paymux", {{"reason", reason}});
}

/// Text safe for a PostgreSQL text column: valid UTF-8 without NUL; anything else becomes '?'.
std::string sanitize(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len > 0 && c != 0 && i + len <= in.size();
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (static_cast<unsigned char>(in[i + k]) & 0xc0) == 0x80;
    }
    if (ok) {
      out.append(in, i, len);
      i += len;
    } else {
      out.push_back('?');
      ++i;
    }
  }
  return out;
}

std::string idArray(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (const auto& id : ids) out += (out.size() > 1 ? "," : "") + ("\"" + id + "\"");
  return out + "}";
}

}  // namespace

/// One request in flight. Owned by in_flight_; libcurl holds a pointer to it (CURLOPT_PRIVATE).
struct Dispatcher::Transfer {
  int64_t delivery_id = 0;
  std::string subscription_id;
  std::string event_id;
  std::string lease_token;
  int attempt = 1;  // 1 for the first attempt at this delivery
  std::string url;
  std::string host;
  std::string body;  // the stored event body, byte for byte
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string response;  // first kResponseBodyMax bytes
  std::string retry_after;
  bool address_blocked = false;
  const engine::DestinationPolicy* policy = nullptr;
  char error_buffer[CURL_ERROR_SIZE] = {};

  ~Transfer() {
    if (headers) curl_slist_free_all(headers);
    if (easy) curl_easy_cleanup(easy);
  }

  static size_t onBody(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    size_t len = size * n;
    if (t->response.size() < kResponseBodyMax) {
      t->response.append(data, std::min(len, kResponseBodyMax - t->response.size()));
    }
    return len;  // why: keep reading (and discarding) so keep-alive connections stay usable
  }
  static size_t onHeader(char* data, size_t size, size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) t->retry_after.clear();
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
      std::string_view v = line.substr(kName.size());
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) {
        v.remove_suffix(1);
      }
      t->retry_after = std::string(v);
    }
    return size * n;
  }
  /// Connect-time destination check: the URL was checked when saved, but a host name can
  /// resolve to a private address later (DNS rebinding).
  static curl_socket_t onOpenSocket(void* user, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(user);
    if (!t->policy->addressAllowed(t->host, &address->addr)) {
      t->address_blocked = true;
      return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  }
};

/// A finished request, ready to be recorded.
struct Dispatcher::Outcome {
  std::unique_ptr<Transfer> transfer;
  long status = 0;  // 0 when no HTTP response arrived
  std::string error;
  long latency_ms = 0;
  std::optional<long> retry_after_s;
};

Dispatcher::Dispatcher(store::Pool& pool, const config::DeliveryConfig& config, Options options)
    : pool_(pool),
      config_(config),
      options_(std::move(options)),
      policy_(config),
      box_(engine::subscriptionSecretBox(config)),
      rng_(std::random_device{}()) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  auto& m = metrics::Registry::global();
  // why: export every series from the start, so dashboards and alerts see zeros, not gaps.
  for (const char* r : {"delivered", "retry", "failed", "gone"}) {
    m.counterAdd("paymux_deliveries_total", "Delivery attempts by result", {{"result", r}}, 0);
  }
  for (const char* r : {"gone", "failing"}) {
    m.counterAdd("paymux_subscriptions_disabled_total", "Subscriptions disabled by paymux",
                 {{"reason", r}}, 0);
  }
}

Dispatcher::~Dispatcher() {
  for (auto& t : in_flight_) curl_multi_remove_handle(multiOf(multi_), t->easy);
  in_flight_.clear();
  curl_multi_cleanup(multiOf(multi_));
}

void Dispatcher::wake() { curl_multi_wakeup(multiOf(multi_)); }

void Dispatcher::deliveriesReady() {
  claim_now_.store(true);
  wake();
}

Dispatcher::Totals Dispatcher::totals() const {
  return {attempts_.load(), delivered_.load(), retried_.load(), failed_.load()};
}

void Dispatcher::run(const std::atomic<bool>& stop) {
  log::info("delivery dispatcher running",
            {{"concurrency", std::to_string(config_.concurrency)},
             {"per_subscription", std::to_string(config_.per_subscription)}});
  while (!stop.load()) pump(true);
  auto deadline = Clock::now() + options_.stop_grace;
  while (!in_flight_.empty() && Clock::now() < deadline) pump(false);
  abandonInFlight();
}

bool Dispatcher::runUntilIdle(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (in_flight_.empty()) {
      next_claim_ = Clock::now();
      if (claimAndStart(config_.concurrency) == 0) return true;
    }
    pump(true);
  }
  return false;
}

void Dispatcher::pump(bool claim) {
  auto now = Clock::now();
  int capacity = config_.concurrency - static_cast<int>(in_flight_.size());
  if (claim_now_.exchange(false)) next_claim_ = now;
  if (claim && capacity > 0 && now >= next_claim_) {
    int got = 0;
    try {
      got = claimAndStart(capacity);
    } catch (const std::exception& e) {
      log::warn("claiming deliveries failed; retrying", {{"error", e.what()}});
      got = -1;
    }
    // why: a full batch suggests more is due; otherwise wait, so an idle queue costs one small
    // query per poll interval (and an unreachable database one log line a second).
    next_claim_ = got == capacity ? now
                  : got < 0 ? now + std::max<std::chrono::milliseconds>(options_.poll_interval,
                                                                        std::chrono::seconds(1))
                            : now + options_.poll_interval;
  }
  int running = 0;
  curl_multi_perform(multiOf(multi_), &running);
  reap();
  if (Clock::now() >= next_gauges_) {
    try {
      refreshGauges();
    } catch (const std::exception& e) {
      log::warn("refreshing delivery gauges failed", {{"error", e.what()}});
    }
    next_gauges_ = Clock::now() + options_.gauge_interval;
  }
  auto wait = std::chrono::milliseconds(100);
  if (claim && static_cast<int>(in_flight_.size()) < config_.concurrency) {
    wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_claim_ - Clock::now());
  } else if (claim) {
    wait = options_.gauge_interval;  // full: a finishing transfer wakes the poll
  }
  wait = std::clamp(wait, std::chrono::milliseconds(0), options_.gauge_interval);
  curl_multi_poll(multiOf(multi_), nullptr, 0, static_cast<int>(wait.count()), nullptr);
}

int Dispatcher::claimAndStart(int max) {
  if (max <= 0) return 0;
  if (!box_) {
    if (!warned_no_key_) {
      log::error("delivery.encryption_key is not set: subscription deliveries cannot be signed");
      warned_no_key_ = true;
    }
    return 0;
  }
  struct Claimed {
    int64_t id;
    std::string subscription_id, event_id, url, body, secrets;
    int attempt_count;
  };
  std::string token = crypto::randomToken(24);
  std::vector<Claimed> claimed = pool_.run([&](pqxx::connection& conn) {
    pqxx::work txn(conn);
    // 1. Subscriptions with due, unleased deliveries and room under the per-subscription cap,
    // oldest due first. Locking them (skipping any another claimer holds) makes the cap exact
    // across dispatchers; NO KEY UPDATE does not block events' fan-out inserts.
    auto ready = txn.exec_params(
        "SELECT s.id, $1 - leased.n FROM subscriptions s"
        " CROSS JOIN LATERAL (SELECT min(d.next_attempt_at) AS due FROM deliveries d"
        "   WHERE d.subscription_id = s.id AND d.state = 'pending' AND d.next_attempt_at <= now()"
        "   AND (d.leased_until IS NULL OR d.leased_until <= now())) oldest"
        " CROSS JOIN LATERAL (SELECT count(*) AS n FROM deliveries l"
        "   WHERE l.subscription_id = s.id AND l.state = 'pending' AND l.leased_until > now())"
        "   leased"
        " WHERE s.enabled AND s.deleted_at IS NULL AND oldest.due IS NOT NULL AND leased.n < $1"
        " ORDER BY oldest.due LIMIT $2 FOR NO KEY UPDATE OF s SKIP LOCKED",
        config_.per_subscription, max);
    if (ready.empty()) return std::vector<Claimed>{};
    // 2. Share `max` among them: each takes what its cap leaves, oldest due first.
    std::vector<std::string> subs;
    std::string takes = "{";
    int left = max;
    for (const auto& r : ready) {
      if (left == 0) break;
      int take = std::min(r[1].as<int>(), left);
      left -= take;
      subs.push_back(r[0].as<std::string>());
      takes += (takes.size() > 1 ? "," : "") + std::to_string(take);
    }
    takes += "}";
    // 3. Lease their oldest due deliveries and read what sending needs.
    auto rows = txn.exec_params(
        "WITH picked AS (SELECT p.id FROM unnest($1::text[], $2::int[]) AS r(sub_id, take)"
        "   CROSS JOIN LATERAL (SELECT d.id FROM deliveries d WHERE d.subscription_id = r.sub_id"
        "     AND d.state = 'pending' AND d.next_attempt_at <= now()"
        "     AND (d.leased_until IS NULL OR d.leased_until <= now())"
        "     ORDER BY d.next_attempt_at LIMIT r.take FOR UPDATE SKIP LOCKED) p),"
        " leased AS (UPDATE deliveries d SET leased_until = now() + make_interval(secs => $3),"
        "   lease_token = $4 FROM picked WHERE d.id = picked.id"
        "   RETURNING d.id, d.subscription_id, d.event_id, d.attempt_count)"
        " SELECT l.id, l.subscription_id, l.event_id, s.url, e.body,"
        "   (SELECT coalesce(json_agg(x->>'ciphertext'), '[]')::text"
        "      FROM jsonb_array_elements(s.secrets) x WHERE x->'expires_at' = 'null'::jsonb"
        "      OR (x->>'expires_at')::timestamptz > now()),"
        "   l.attempt_count"
        " FROM leased l JOIN subscriptions s ON s.id = l.subscription_id"
        " JOIN events e ON e.id = l.event_id ORDER BY l.id",
        idArray(subs), takes, config_.lease_s, token);
    std::vector<Claimed> out;
    for (const auto& r : rows) {
      out.push_back({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                     r[3].as<std::string>(), r[4].as<std::string>(), r[5].as<std::string>(),
                     r[6].as<int>()});
    }
    txn.commit();
    return out;
  });

  std::map<std::string, std::vector<std::string>> keys;  // per subscription, opened once
  for (auto& c : claimed) {
    auto t = std::make_unique<Transfer>();
    t->delivery_id = c.id;
    t->subscription_id = c.subscription_id;
    t->event_id = c.event_id;
    t->lease_token = token;
    t->attempt = c.attempt_count + 1;
    t->url = c.url;
    t->host = engine::DestinationPolicy::hostOf(c.url);
    t->body = std::move(c.body);
    t->policy = &policy_;
    auto it = keys.find(c.subscription_id);
    if (it == keys.end()) {
      std::vector<std::string> ciphertexts;
      rapidjson::Document doc;
      doc.Parse(c.secrets.c_str());
      if (doc.IsArray()) {
        for (const auto& v : doc.GetArray()) {
          if (v.IsString()) ciphertexts.emplace_back(v.GetString(), v.GetStringLength());
        }
      }
      it = keys.emplace(c.subscription_id,
                        engine::openSigningKeys(*box_, c.subscription_id, ciphertexts))
               .first;
    }
    if (it->second.empty()) {
      // No usable secret: record a failed attempt rather than send an unsigned request.
      std::vector<Outcome> outcomes(1);
      outcomes[0].transfer = std::move(t);
      outcomes[0].error = "no signing secret can be decrypted (operator: check encryption_key)";
      record(outcomes);
      continue;
    }
    std::string why = policy_.checkUrl(t->url);
    if (!why.empty()) {
      std::vector<Outcome> outcomes(1);
      outcomes[0].transfer = std::move(t);
      outcomes[0].error = "destination not allowed by delivery policy: " + why;
      record(outcomes);
      continue;
    }
    int64_t ts = static_cast<int64_t>(std::time(nullptr));  // this attempt's time
    std::string signature =
        standard_webhooks::signatureHeader(it->second, t->event_id, ts, t->body);
    t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
    t->headers = curl_slist_append(t->headers, ("webhook-id: " + t->event_id).c_str());
    t->headers =
        curl_slist_append(t->headers, ("webhook-timestamp: " + std::to_string(ts)).c_str());
    t->headers = curl_slist_append(t->headers, ("webhook-signature: " + signature).c_str());
    t->headers = curl_slist_append(t->headers, "Expect:");
    // why: Pistache-based receivers close the connection after each response unless asked.
    t->headers = curl_slist_append(t->headers, "Connection: keep-alive");
    start(std::move(t));
  }
  return static_cast<int>(claimed.size());
}

void Dispatcher::start(std::unique_ptr<Transfer> t) {
  t->easy = curl_easy_init();
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_URL, t->url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(config_.timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, std::min(10000L, long{config_.timeout_ms}));
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Transfer::onBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Transfer::onHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Transfer::onOpenSocket);
  curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_multi_add_handle(multiOf(multi_), e);
  in_flight_.push_back(std::move(t));
}

void Dispatcher::reap() {
  std::vector<Outcome> outcomes;
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multiOf(multi_), &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    CURLcode code = msg->data.result;
    curl_multi_remove_handle(multiOf(multi_), easy);
    auto it = std::find_if(in_flight_.begin(), in_flight_.end(),
                           [easy](const auto& t) { return t->easy == easy; });
    if (it == in_flight_.end()) continue;
    Outcome o;
    o.transfer = std::move(*it);
    in_flight_.erase(it);
    Transfer& t = *o.transfer;
    curl_off_t total_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    o.latency_ms = static_cast<long>(total_us / 1000);
    if (code == CURLE_OK) {
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &o.status);
      if (o.status >= 300 && o.status < 400) {
        o.error = "HTTP " + std::to_string(o.status) + " (redirects are not followed)";
      } else if (o.status < 200 || o.status >= 300) {
        o.error = "HTTP " + std::to_string(o.status);
      }
      if ((o.status == 429 || o.status == 503) && !t.retry_after.empty()) {
        const std::string& v = t.retry_after;
        if (std::all_of(v.begin(), v.end(), ::isdigit) && v.size() <= 9) {
          o.retry_after_s = std::stol(v);
        } else if (time_t at = curl_getdate(v.c_str(), nullptr); at > 0) {
          o.retry_after_s = std::max<long>(0, static_cast<long>(at - std::time(nullptr)));
        }
        if (o.retry_after_s) o.retry_after_s = std::min(*o.retry_after_s, kRetryAfterMaxS);
      }
    } else if (t.address_blocked) {
      o.error = "destination address not allowed by delivery policy";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
      o.error = "timeout after " + std::to_string(config_.timeout_ms) + " ms";
    } else {
      o.error = t.error_buffer[0] != '\0' ? t.error_buffer : curl_easy_strerror(code);
    }
    metrics::Registry::global().observe("paymux_delivery_attempt_duration_seconds",
                                        "Delivery request latency", {},
                                        static_cast<double>(total_us) / 1e6);
    outcomes.push_back(std::move(o));
  }
  if (outcomes.empty()) return;
  record(outcomes);
  next_claim_ = Clock::now();  // capacity was freed
}

double Dispatcher::retryDelay(int attempts_made, std::optional<long> retry_after_s) {
  const auto& schedule = config_.retry_schedule_s;
  double base = schedule[static_cast<size_t>(attempts_made)];
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  double delay = base * jitter(rng_);
  if (retry_after_s) delay = std::max(delay, static_cast<double>(*retry_after_s));
  return delay;
}

void Dispatcher::record(std::vector<Outcome>& outcomes) {
  struct Row {
    const Outcome* o;
    std::string result;  // delivered | retry | failed | gone
    double delay_s = 0;
  };
  std::vector<Row> rows;
  std::set<std::string> subs;
  for (const auto& o : outcomes) {
    Row row{&o, "", 0};
    int made = o.transfer->attempt;  // attempts made, this one included
    if (o.status >= 200 && o.status < 300) {
      row.result = "delivered";
    } else if (o.status == 410) {
      row.result = "gone";
    } else if (made < static_cast<int>(config_.retry_schedule_s.size())) {
      row.result = "retry";
      row.delay_s = retryDelay(made, o.retry_after_s);
    } else {
      row.result = "failed";
    }
    subs.insert(o.transfer->subscription_id);
    rows.push_back(row);
  }
  std::vector<std::string> disabled;  // (reason per subscription) for metrics after commit
  std::vector<std::string> disabled_reasons;
  try {
    pool_.run([&](pqxx::connection& conn) {
      disabled.clear();
      disabled_reasons.clear();
      pqxx::work txn(conn);
      // why: subscription rows first, then deliveries, in id order: the same order the API's
      // update, delete and recover take, so the two never deadlock.
      txn.exec_params(
          "SELECT id FROM subscriptions WHERE id = ANY ($1::text[]) ORDER BY id"
          " FOR NO KEY UPDATE",
          idArray(std::vector<std::string>(subs.begin(), subs.end())));
      for (const auto& row : rows) {
        const Transfer& t = *row.o->transfer;
        std::optional<int> status;
        if (row.o->status > 0) status = static_cast<int>(row.o->status);
        std::optional<std::string> error;
        if (!row.o->error.empty()) error = sanitize(row.o->error);
        std::string state = row.result == "delivered" ? "delivered"
                            : row.result == "retry"   ? "pending"
                                                      : "failed";
        // Only the holder of the current lease may record the outcome; a canceled delivery
        // stays canceled.
        auto updated = txn.exec_params(
            "UPDATE deliveries SET state = $3, attempt_count = attempt_count + 1,"
            " leased_until = NULL, lease_token = NULL, last_status = $4, last_error = $5,"
            " next_attempt_at = CASE WHEN $3 = 'pending'"
            "   THEN now() + make_interval(secs => $6) ELSE next_attempt_at END,"
            " delivered_at = CASE WHEN $3 = 'delivered' THEN now() ELSE delivered_at END"
            " WHERE id = $1 AND lease_token = $2 AND state = 'pending'"
            " RETURNING CASE WHEN $3 = 'pending' THEN next_attempt_at END",
            t.delivery_id, t.lease_token, state, status, error, row.delay_s);
        std::optional<std::string> next_retry;
        if (!updated.empty() && !updated[0][0].is_null()) {
          next_retry = updated[0][0].as<std::string>();
        }
        txn.exec_params(
            "INSERT INTO delivery_attempts (public_id, delivery_id, subscription_id, attempt,"
            " status_code, latency_ms, response_body, error, next_retry_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::timestamptz)",
            crypto::randomId("dla", 20), t.delivery_id, t.subscription_id, t.attempt, status,
            static_cast<int>(row.o->latency_ms), sanitize(t.response), error, next_retry);
        if (row.result == "delivered") {
          txn.exec_params(
              "UPDATE subscriptions SET failing_since = NULL"
              " WHERE id = $1 AND failing_since IS NOT NULL",
              t.subscription_id);
          continue;
        }
        // 410: the endpoint is gone; otherwise disable once every attempt since the last
        // success has failed for disable_after_s.
        auto off = txn.exec_params(
            "UPDATE subscriptions SET failing_since = coalesce(failing_since, now()),"
            " enabled = CASE WHEN $2 OR coalesce(failing_since, now())"
            "   <= now() - make_interval(secs => $3) THEN false ELSE enabled END,"
            " disabled_reason = CASE WHEN $2 THEN 'gone' ELSE 'failing' END,"
            " updated_at = now()"
            " WHERE id = $1 AND enabled AND ($2 OR coalesce(failing_since, now())"
            "   <= now() - make_interval(secs => $3))"
            " RETURNING 1",
            t.subscription_id, row.result == "gone", config_.disable_after_s);
        if (off.empty()) {
          txn.exec_params(
              "UPDATE subscriptions SET failing_since = now()"
              " WHERE id = $1 AND failing_since IS NULL",
              t.subscription_id);
          continue;
        }
        txn.exec_params(
            "UPDATE deliveries SET state = 'canceled', leased_until = NULL, lease_token = NULL"
            " WHERE subscription_id = $1 AND state = 'pending'",
            t.subscription_id);
        disabled.push_back(t.subscription_id);
        disabled_reasons.push_back(row.result == "gone" ? "gone" : "failing");
      }
      txn.commit();
    });
  } catch (const std::exception& e) {
    // The leases run out and the deliveries are sent again: at least once, never lost.
    log::warn("recording delivery outcomes failed; they will be retried after the lease",
              {{"error", e.what()}, {"outcomes", std::to_string(outcomes.size())}});
    return;
  }
  for (size_t i = 0; i < disabled.size(); ++i) {
    countDisabled(disabled_reasons[i].c_str());
    log::warn("subscription disabled",
              {{"subscription", disabled[i]}, {"reason", disabled_reasons[i]}});
  }
  for (const auto& row : rows) {
    ++attempts_;
    count(row.result.c_str());
    if (row.result == "delivered") ++delivered_;
    if (row.result == "retry") ++retried_;
    if (row.result == "failed" || row.result == "gone") ++failed_;
    if (row.result != "delivered") {
      log::info("delivery attempt failed", {{"subscription", row.o->transfer->subscription_id},
                                            {"event", row.o->transfer->event_id},
                                            {"attempt", std::to_string(row.o->transfer->attempt)},
                                            {"result", row.result},
                                            {"error", sanitize(row.o->error)}});
    }
  }
}

void Dispatcher::abandonInFlight() {
  if (in_flight_.empty()) return;
  std::string ids = "{", tokens = "{";
  for (auto& t : in_flight_) {
    curl_multi_remove_handle(multiOf(multi_), t->easy);
    ids += (ids.size() > 1 ? "," : "") + std::to_string(t->delivery_id);
    tokens += (tokens.size() > 1 ? "," : "") + t->lease_token;
  }
  ids += "}";
  tokens += "}";
  try {
    pool_.run([&](pqxx::connection& conn) {
      pqxx::work txn(conn);
      // why: the request may or may not have arrived; releasing the lease re-sends it at once
      // (at least once) instead of after lease_s.
      txn.exec_params(
          "UPDATE deliveries d SET leased_until = NULL, lease_token = NULL"
          " FROM unnest($1::bigint[], $2::text[]) AS mine(id, token)"
          " WHERE d.id = mine.id AND d.lease_token = mine.token AND d.state = 'pending'",
          ids, tokens);
      txn.commit();
    });
  } catch (const std::exception& e) {
    log::warn("releasing delivery leases failed; they expire by themselves", {{"error", e.what()}});
  }
  log::info("delivery dispatcher abandoned requests at stop",
            {{"count", std::to_string(in_flight_.size())}});
  in_flight_.clear();
}

void Dispatcher::refreshGauges() {
  auto r = pool_.run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return txn.exec(
        "SELECT count(*), coalesce(extract(epoch FROM now() - min(next_attempt_at)"
        " FILTER (WHERE next_attempt_at <= now())), 0)::float8"
        " FROM deliveries WHERE state = 'pending'")[0];
  });
  auto& m = metrics::Registry::global();
  m.gaugeSet("paymux_delivery_queue_depth", "Deliveries waiting to be delivered", {},
             r[0].as<double>());
  m.gaugeSet("paymux_delivery_oldest_due_age_seconds",
             "How long the oldest due delivery has been waiting", {}, r[1].as<double>());
}

}  // namespace paymux::worker
