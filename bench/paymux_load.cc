// paymux-load: closed-loop HTTP load generator for bench/run.
//   paymux-load collections --url URL --key KEY [--currency EUR] [--token T] -c N -d SECONDS
//   paymux-load direct --url SIM_URL -c N -d SECONDS          (the sandbox simulator itself)
//   paymux-load get --url URL -c N -d SECONDS                  (any GET, e.g. paymuxd's /healthz)
//   paymux-load webhooks --url URL --key KEY --connector ID --secret S -c N --count M
// Prints one JSON line: requests, ok, errors, seconds, rps, p50_ms, p90_ms, p99_ms, max_ms and
// machine_cpu_ms_per_request (the whole machine's busy CPU over the measured phase, per answer).
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "services/common/crypto.h"
#include "services/common/http_client.h"

namespace {

using Clock = std::chrono::steady_clock;
using paymux::http::CurlExecutor;
using paymux::http::HttpRequestSpec;

struct Options {
  std::string mode, url, key, currency = "EUR", token = "tok_success", connector = "sandbox-fast",
                              secret;
  int concurrency = 8;
  double duration_s = 10;
  long count = 0;
  double rate = 0;        // webhooks: requests per second in total (0 = as fast as possible)
  std::string sent_log;   // webhooks: "<transaction id> <unix ms sent>" per request
};

struct Stats {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  long ok = 0, errors = 0;
  void add(const std::vector<double>& l, long o, long e) {
    std::lock_guard lock(mutex);
    latencies_ms.insert(latencies_ms.end(), l.begin(), l.end());
    ok += o;
    errors += e;
  }
};

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

/// The whole machine's busy CPU time so far, in clock ticks (user, nice, system, irq, softirq:
/// every process, this one included; not idle, I/O wait or steal).
long long machineBusyTicks() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq;
  return user + nice + system + irq + softirq;
}

/// `busy_ticks`: machineBusyTicks() over the measured phase; reported as CPU per answered request.
void report(Stats& s, double seconds, long long busy_ticks) {
  std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
  long n = static_cast<long>(s.latencies_ms.size());
  double cpu_ms = 1000.0 * static_cast<double>(busy_ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)) /
                  static_cast<double>(std::max(1L, s.ok));
  std::printf(
      "{\"requests\":%ld,\"ok\":%ld,\"errors\":%ld,\"seconds\":%.2f,\"rps\":%.1f,"
      "\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,"
      "\"machine_cpu_ms_per_request\":%.3f}\n",
      n, s.ok, s.errors, seconds, static_cast<double>(s.ok) / seconds, pct(s.latencies_ms, 0.5),
      pct(s.latencies_ms, 0.9), pct(s.latencies_ms, 0.99),
      s.latencies_ms.empty() ? 0 : s.latencies_ms.back(), cpu_ms);
}

std::string collectionBody(const Options& o, long i) {
  return "{\"amount\":" + std::to_string(100 + i % 1000) + ",\"currency\":\"" + o.currency +
         "\",\"reference\":\"bench-" + std::to_string(i) +
         "\",\"payment_method\":{\"type\":\"card\",\"token\":\"" + o.token + "\"}}";
}

/// Runs `fn(thread, seq)` in a closed loop on N threads until the deadline (or `total` calls).
template <typename Fn>
double closedLoop(const Options& o, Stats& stats, long total, Fn fn, long long* busy_ticks = nullptr) {
  std::atomic<long> next{0};
  long long busy_start = machineBusyTicks();
  auto start = Clock::now();
  auto deadline = start + std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.concurrency; ++t) {
    threads.emplace_back([&, t] {
      CurlExecutor client;
      std::vector<double> lat;
      long ok = 0, err = 0;
      for (;;) {
        long seq = next.fetch_add(1);
        if (total > 0 ? seq >= total : Clock::now() >= deadline) break;
        auto begin = Clock::now();
        bool good = fn(client, t, seq);
        lat.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        good ? ++ok : ++err;
      }
      stats.add(lat, ok, err);
    });
  }
  for (auto& th : threads) th.join();
  if (busy_ticks) *busy_ticks = machineBusyTicks() - busy_start;
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int runCollections(const Options& o) {
  Stats stats;
  std::string run = paymux::crypto::randomToken(8);
  long long busy = 0;
  double secs = closedLoop(o, stats, 0, [&](CurlExecutor& c, int, long seq) {
    HttpRequestSpec spec{"POST", o.url + "/v1/collections",
                         {{"Authorization", "Bearer " + o.key},
                          {"Content-Type", "application/json"},
                          {"Idempotency-Key", run + "-" + std::to_string(seq)}},
                         collectionBody(o, seq)};
    auto r = c.send(spec, std::chrono::seconds(30));
    return r.ok() && r.response.status == 201;
  }, &busy);
  report(stats, secs, busy);
  return 0;
}

int runDirect(const Options& o) {
  Stats stats;
  std::string run = paymux::crypto::randomToken(8);
  long long busy = 0;
  double secs = closedLoop(o, stats, 0, [&](CurlExecutor& c, int, long seq) {
    std::string id = "col_direct_" + run + std::to_string(seq);
    HttpRequestSpec spec{"POST", o.url + "/v1/payments",
                         {{"Authorization", "Bearer sk_sandbox_local"},
                          {"Content-Type", "application/json"},
                          {"Idempotency-Key", id}},
                         "{\"kind\":\"collect\",\"amount\":100,\"currency\":\"EUR\",\"reference\":\"" +
                             id + "\",\"token\":\"tok_success\"}"};
    auto r = c.send(spec, std::chrono::seconds(30));
    return r.ok() && r.response.status == 200;
  }, &busy);
  report(stats, secs, busy);
  return 0;
}

int runGet(const Options& o) {
  Stats stats;
  long long busy = 0;
  double secs = closedLoop(o, stats, 0, [&](CurlExecutor& c, int, long) {
    auto r = c.send(HttpRequestSpec{"GET", o.url, {}, ""}, std::chrono::seconds(30));
    return r.ok() && r.response.status == 200;
  }, &busy);
  report(stats, secs, busy);
  return 0;
}

int runWebhooks(Options o) {
  // Phase 1 (not measured): collections that stay processing until their webhook arrives.
  struct Target {
    std::string id, ref;
    long amount;
  };
  std::vector<Target> targets(static_cast<size_t>(o.count));
  o.token = "tok_async";
  Stats setup;
  std::string run = paymux::crypto::randomToken(8);
  closedLoop(o, setup, o.count, [&](CurlExecutor& c, int, long seq) {
    HttpRequestSpec spec{"POST", o.url + "/v1/collections",
                         {{"Authorization", "Bearer " + o.key},
                          {"Content-Type", "application/json"},
                          {"Idempotency-Key", run + "-w-" + std::to_string(seq)}},
                         collectionBody(o, seq)};
    auto r = c.send(spec, std::chrono::seconds(30));
    if (!r.ok() || r.response.status != 201) return false;
    rapidjson::Document d;
    d.Parse(r.response.body.c_str());
    targets[static_cast<size_t>(seq)] = {d["id"].GetString(), d["provider_reference"].GetString(),
                                         d["amount"].GetInt64()};
    return true;
  });
  std::fprintf(stderr, "webhooks: %ld collections prepared (%ld errors)\n", setup.ok, setup.errors);
  // Phase 2 (measured): one signed "succeeded" webhook per collection.
  std::mutex sent_mutex;
  std::FILE* sent = o.sent_log.empty() ? nullptr : std::fopen(o.sent_log.c_str(), "w");
  auto phase_start = Clock::now();
  Stats stats;
  long long busy = 0;
  double secs = closedLoop(o, stats, o.count, [&](CurlExecutor& c, int, long seq) {
    const auto& t = targets[static_cast<size_t>(seq)];
    if (t.id.empty()) return false;
    if (o.rate > 0) {
      // Open loop: request `seq` is due at seq / rate seconds after the start.
      std::this_thread::sleep_until(phase_start + std::chrono::microseconds(
                                                      static_cast<long>(1e6 * seq / o.rate)));
    }
    if (sent) {
      long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      std::lock_guard lock(sent_mutex);
      std::fprintf(sent, "%s %ld\n", t.id.c_str(), ms);
    }
    long now = static_cast<long>(std::time(nullptr));
    std::string body = "{\"id\":\"evt_bench_" + run + std::to_string(seq) +
                       "\",\"type\":\"payment.updated\",\"created\":" + std::to_string(now) +
                       ",\"data\":{\"id\":\"" + t.ref +
                       "\",\"object\":\"payment\",\"kind\":\"collect\",\"status\":\"succeeded\","
                       "\"amount\":" + std::to_string(t.amount) + ",\"currency\":\"" + o.currency +
                       "\",\"reference\":\"" + t.id + "\"}}";
    std::string sig = "t=" + std::to_string(now) + ",v1=" +
                      paymux::crypto::hexEncode(paymux::crypto::hmacSha256(
                          o.secret, std::to_string(now) + "." + body));
    HttpRequestSpec spec{"POST", o.url + "/webhooks/" + o.connector,
                         {{"Content-Type", "application/json"}, {"Sandbox-Signature", sig}}, body};
    auto r = c.send(spec, std::chrono::seconds(30));
    return r.ok() && r.response.status == 200;
  }, &busy);
  if (sent) std::fclose(sent);
  report(stats, secs, busy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: paymux-load collections|direct|get|webhooks [options]\n");
    return 2;
  }
  Options o;
  o.mode = argv[1];
  std::map<std::string, std::string> args;
  for (int i = 2; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  auto get = [&](const std::string& a, const std::string& b, const std::string& def) {
    if (args.count(a)) return args[a];
    if (args.count(b)) return args[b];
    return def;
  };
  o.url = get("--url", "--url", "");
  o.key = get("--key", "--key", "");
  o.currency = get("--currency", "--currency", "EUR");
  o.token = get("--token", "--token", "tok_success");
  o.connector = get("--connector", "--connector", "sandbox-fast");
  o.secret = get("--secret", "--secret", "");
  o.concurrency = std::stoi(get("-c", "--concurrency", "8"));
  o.duration_s = std::stod(get("-d", "--duration", "10"));
  o.count = std::stol(get("--count", "--count", "0"));
  o.rate = std::stod(get("--rate", "--rate", "0"));
  o.sent_log = get("--sent-log", "--sent-log", "");
  if (o.mode == "collections") return runCollections(o);
  if (o.mode == "direct") return runDirect(o);
  if (o.mode == "get") return runGet(o);
  if (o.mode == "webhooks") return runWebhooks(o);
  std::fprintf(stderr, "unknown mode %s\n", o.mode.c_str());
  return 2;
}
