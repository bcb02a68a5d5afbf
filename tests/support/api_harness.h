#pragma once
#include <memory>
#include <string>

#include "connectors/sandbox/sandbox_simulator.h"
#include "services/common/http_client.h"
#include "tests/support/test_db.h"

namespace paymux::worker {
class Janitor;
class Dispatcher;
}
namespace paymux::store {
class ApiKeyCache;
}
namespace paymux::config {
struct Config;
}

namespace paymux::testing {

/// The whole API in-process: a private database, three sandbox simulators (a, b, and one that
/// answers every create with 503), paymux's services and its HTTP server on an ephemeral port.
/// Requests go over real HTTP on loopback.
class ApiHarness {
 public:
  struct Options {
    int pool = 8;
    int acquire_timeout_ms = 1000;
    int connector_timeout_ms = 1500;
    int sim_latency_ms = 0;
    int workers = 32;
    int max_body_bytes = 65536;
    int janitor_first_check_s = 300;  // janitor.schedule_s[0]
    int unmatched_window_s = 600;
    // Subscriber deliveries (delivery.*); short by default so retry tests stay quick.
    std::string delivery_schedule = "[0, 1, 1, 1]";  // retry_schedule_s, YAML list
    int delivery_timeout_ms = 2000;
    int delivery_concurrency = 64;
    int delivery_per_subscription = 4;
    int delivery_disable_after_s = 432000;
    int delivery_lease_s = 5;
    bool allow_private_networks = true;  // test subscribers listen on 127.0.0.1
    std::string allow_hosts = "[]";      // YAML list
    int dispatcher_poll_ms = 50;
  };
  ApiHarness();
  explicit ApiHarness(Options options);
  ~ApiHarness();

  std::string baseUrl() const;
  /// The janitor over the same database and connectors (tests drive its passes).
  worker::Janitor& janitor();
  /// The API keys the server remembers (kept current by a listener, as in `paymuxd serve`).
  store::ApiKeyCache& apiKeys();
  /// The harness's delivery dispatcher (same database and delivery config); tests either drive
  /// it with runUntilIdle() or run it on a thread with startDispatcher().
  worker::Dispatcher& dispatcher();
  /// Runs dispatcher() on a background thread until stopDispatcher() (or destruction).
  void startDispatcher();
  void stopDispatcher();
  /// Another dispatcher over the same database, as a second worker process would be.
  std::unique_ptr<worker::Dispatcher> newDispatcher();
  const config::Config& config() const;
  const std::string& databaseUrl() const { return db_.url(); }
  /// Creates a tenant and an API key for it; returns the key (tenant id in *tenant_id).
  std::string newTenantKey(std::string* tenant_id = nullptr);
  connectors::sandbox::SandboxSimulator& simA() { return *sim_a_; }
  connectors::sandbox::SandboxSimulator& simB() { return *sim_b_; }

  http::HttpResult call(const std::string& method, const std::string& path,
                        const std::string& body = "", const std::string& key = "",
                        const std::string& idempotency_key = "", http::Headers extra = {});
  /// POST JSON with a key; asserts nothing.
  http::HttpResult post(const std::string& path, const std::string& body, const std::string& key,
                        const std::string& idempotency_key = "");

  struct Impl;

 private:
  Options options_;
  TestDatabase db_;
  std::unique_ptr<connectors::sandbox::SandboxSimulator> sim_a_, sim_b_, sim_down_;
  std::unique_ptr<Impl> impl_;
  http::CurlExecutor client_;
};

/// A collection body with the given amount, currency and scenario token.
std::string collectionBody(int64_t amount = 1000, const std::string& currency = "EUR",
                           const std::string& token = "tok_success",
                           const std::string& reference = "order-42");
std::string payoutBody(int64_t amount = 25000, const std::string& currency = "EUR",
                       const std::string& token = "tok_success");

}  // namespace paymux::testing
