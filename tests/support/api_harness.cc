#include "tests/support/api_harness.h"

#include <atomic>
#include <pqxx/pqxx>
#include <thread>

#include "connectors/registry.h"
#include "services/api/routes.h"
#include "services/api/server.h"
#include "services/api/validation.h"
#include "services/common/config.h"
#include "services/common/crypto.h"
#include "services/engine/payments.h"
#include "services/engine/subscriptions.h"
#include "services/engine/webhooks.h"
#include "services/worker/dispatcher.h"
#include "services/worker/janitor.h"
#include "services/store/api_key_cache.h"
#include "services/store/event_publisher.h"
#include "services/store/pool.h"
#include "services/store/tenants_repo.h"

namespace paymux::testing {

struct ApiHarness::Impl {
  config::Config config;
  std::unique_ptr<connectors::ConnectorSet> connectors;
  std::unique_ptr<store::Pool> pool;
  std::unique_ptr<store::EventPublisher> publisher;
  std::atomic<bool> publisher_stop{false};
  std::thread publisher_thread;
  http::CurlExecutor executor;
  std::unique_ptr<engine::PaymentService> payments;
  std::unique_ptr<engine::EventService> events;
  std::unique_ptr<engine::WebhookService> webhooks;
  std::unique_ptr<worker::Janitor> janitor;
  std::unique_ptr<engine::SubscriptionService> subscriptions;
  std::unique_ptr<worker::Dispatcher> dispatcher;
  worker::Dispatcher::Options dispatcher_options;
  std::atomic<bool> dispatcher_stop{false};
  std::thread dispatcher_thread;
  std::unique_ptr<api::SchemaSet> schemas;
  store::ApiKeyCache api_keys;
  std::unique_ptr<store::ApiKeyRevocations> revocations;
  std::unique_ptr<api::ApiRouter> router;
  std::unique_ptr<api::HttpServer> server;
};

namespace {
std::string connectorYaml(const std::string& id, const std::string& url, int timeout_ms,
                          const std::string& extra = "") {
  return "  - id: " + id + "\n    type: sandbox\n    base_url: \"" + url +
         "\"\n    credentials: { api_key: sk_sandbox_local }\n"
         "    webhook: { secret: whsec_sandbox_local }\n    timeout_ms: " +
         std::to_string(timeout_ms) + "\n" + extra;
}
}  // namespace

ApiHarness::ApiHarness() : ApiHarness(Options{}) {}

ApiHarness::ApiHarness(Options options) : options_(options), impl_(std::make_unique<Impl>()) {
  connectors::sandbox::SimulatorOptions sim;
  sim.latency_ms = options.sim_latency_ms;
  sim.timeout_ms = 4000;
  sim.slow_ms = 400;  // below the connector timeout: slow, but answered
  sim_a_ = std::make_unique<connectors::sandbox::SandboxSimulator>(sim);
  sim_b_ = std::make_unique<connectors::sandbox::SandboxSimulator>(sim);
  sim.fail_status = 503;
  sim_down_ = std::make_unique<connectors::sandbox::SandboxSimulator>(sim);

  int t = options.connector_timeout_ms;
  std::string yaml =
      "server: { listen: \"127.0.0.1:0\", threads: 2, workers: " + std::to_string(options.workers) +
      ", max_body_bytes: " + std::to_string(options.max_body_bytes) +
      ", shutdown_grace_ms: 5000 }\n"
      "database: { url: \"" + db_.url() + "\", pool: " + std::to_string(options.pool) +
      ", acquire_timeout_ms: " + std::to_string(options.acquire_timeout_ms) + " }\n" +
      "connectors:\n" + connectorYaml("sandbox-a", sim_a_->baseUrl(), t) +
      connectorYaml("sandbox-b", sim_b_->baseUrl(), t) +
      connectorYaml("sandbox-down", sim_down_->baseUrl(), t) +
      connectorYaml("sandbox-usd", sim_a_->baseUrl(), t, "    supports: { currencies: [USD] }\n") +
      "routing:\n"
      "  - when: { kind: collect, currency: GBP }\n    try: [sandbox-down, sandbox-b]\n"
      "  - when: { kind: collect, currency: [EUR, USD] }\n    try: [sandbox-a, sandbox-b]\n"
      "  - when: { kind: payout }\n    split: { sandbox-a: 50, sandbox-b: 50 }\n"
      "janitor: { schedule_s: [" + std::to_string(options.janitor_first_check_s) +
      ", 1, 1], unmatched_window_s: " + std::to_string(options.unmatched_window_s) + " }\n" +
      "delivery: { retry_schedule_s: " + options.delivery_schedule +
      ", timeout_ms: " + std::to_string(options.delivery_timeout_ms) +
      ", concurrency: " + std::to_string(options.delivery_concurrency) +
      ", per_subscription: " + std::to_string(options.delivery_per_subscription) +
      ", disable_after_s: " + std::to_string(options.delivery_disable_after_s) +
      ", lease_s: " + std::to_string(options.delivery_lease_s) +
      ", encryption_key: \"" + crypto::base64Encode(crypto::randomBytes(32)) +
      "\", allow_private_networks: " + (options.allow_private_networks ? "true" : "false") +
      ", allow_hosts: " + options.allow_hosts + " }\n";
  impl_->config = config::loadConfigFromString(yaml, "harness.yaml");
  impl_->connectors = std::make_unique<connectors::ConnectorSet>(impl_->config);
  impl_->pool = std::make_unique<store::Pool>(
      impl_->config.database.url, impl_->config.database.pool,
      std::chrono::milliseconds(impl_->config.database.acquire_timeout_ms));
  // As in `paymuxd serve`: the sweeper for events an earlier version left unnumbered.
  impl_->publisher = std::make_unique<store::EventPublisher>(*impl_->pool);
  impl_->publisher_thread =
      std::thread([this] { impl_->publisher->run(impl_->publisher_stop); });
  impl_->payments = std::make_unique<engine::PaymentService>(
      *impl_->pool, impl_->config, *impl_->connectors, impl_->executor);
  impl_->events = std::make_unique<engine::EventService>(*impl_->pool);
  impl_->webhooks = std::make_unique<engine::WebhookService>(*impl_->pool, *impl_->connectors,
                                                             impl_->executor);
  impl_->janitor = std::make_unique<worker::Janitor>(*impl_->pool, impl_->config,
                                                     *impl_->connectors, impl_->executor,
                                                     *impl_->payments);
  impl_->subscriptions =
      std::make_unique<engine::SubscriptionService>(*impl_->pool, impl_->config.delivery);
  impl_->dispatcher_options.poll_interval = std::chrono::milliseconds(options.dispatcher_poll_ms);
  impl_->dispatcher_options.gauge_interval = std::chrono::milliseconds(200);
  impl_->dispatcher_options.user_agent = "paymux/test";
  impl_->dispatcher = newDispatcher();
  impl_->schemas = std::make_unique<api::SchemaSet>(sourceDir() + "/schemas");
  api::ApiContext ctx;
  ctx.config = &impl_->config;
  ctx.pool = impl_->pool.get();
  ctx.connectors = impl_->connectors.get();
  ctx.payments = impl_->payments.get();
  ctx.events = impl_->events.get();
  ctx.webhooks = impl_->webhooks.get();
  ctx.subscriptions = impl_->subscriptions.get();
  ctx.schemas = impl_->schemas.get();
  // As in `paymuxd serve`: checked keys are remembered until api_keys changes.
  impl_->revocations =
      std::make_unique<store::ApiKeyRevocations>(impl_->config.database.url, impl_->api_keys);
  ctx.api_keys = &impl_->api_keys;
  ctx.migrations = store::readMigrations(sourceDir() + "/migrations");
  impl_->router = std::make_unique<api::ApiRouter>(std::move(ctx));
  auto* router = impl_->router.get();
  impl_->server = std::make_unique<api::HttpServer>(
      impl_->config.server, [router](const api::ApiRequest& r) { return router->handle(r); });
  impl_->server->start();
}

ApiHarness::~ApiHarness() {
  stopDispatcher();
  impl_->server->drain(std::chrono::milliseconds(2000));
  impl_->publisher_stop = true;
  impl_->publisher->wake();
  impl_->publisher_thread.join();
  impl_.reset();
}

worker::Janitor& ApiHarness::janitor() { return *impl_->janitor; }

store::ApiKeyCache& ApiHarness::apiKeys() { return impl_->api_keys; }

worker::Dispatcher& ApiHarness::dispatcher() { return *impl_->dispatcher; }

void ApiHarness::startDispatcher() {
  if (impl_->dispatcher_thread.joinable()) return;
  impl_->dispatcher_stop = false;
  impl_->dispatcher_thread =
      std::thread([this] { impl_->dispatcher->run(impl_->dispatcher_stop); });
}

void ApiHarness::stopDispatcher() {
  if (!impl_->dispatcher_thread.joinable()) return;
  impl_->dispatcher_stop = true;
  impl_->dispatcher->wake();
  impl_->dispatcher_thread.join();
}

std::unique_ptr<worker::Dispatcher> ApiHarness::newDispatcher() {
  return std::make_unique<worker::Dispatcher>(*impl_->pool, impl_->config.delivery,
                                              impl_->dispatcher_options);
}

const config::Config& ApiHarness::config() const { return impl_->config; }


std::string ApiHarness::baseUrl() const {
  return "http://127.0.0.1:" + std::to_string(impl_->server->port());
}

std::string ApiHarness::newTenantKey(std::string* tenant_id) {
  pqxx::connection conn(db_.url());
  pqxx::work txn(conn);
  std::string tenant = store::createTenant(txn, "test tenant");
  auto key = store::createApiKey(txn, tenant, "test");
  txn.commit();
  if (tenant_id) *tenant_id = tenant;
  return key.key;
}

http::HttpResult ApiHarness::call(const std::string& method, const std::string& path,
                                  const std::string& body, const std::string& key,
                                  const std::string& idempotency_key, http::Headers extra) {
  http::HttpRequestSpec spec{method, baseUrl() + path, std::move(extra), body};
  if (!key.empty()) spec.headers.emplace_back("Authorization", "Bearer " + key);
  if (!idempotency_key.empty()) spec.headers.emplace_back("Idempotency-Key", idempotency_key);
  return client_.send(spec, std::chrono::milliseconds(30000));
}

http::HttpResult ApiHarness::post(const std::string& path, const std::string& body,
                                  const std::string& key, const std::string& idempotency_key) {
  return call("POST", path, body, key, idempotency_key, {{"Content-Type", "application/json"}});
}

std::string collectionBody(int64_t amount, const std::string& currency, const std::string& token,
                           const std::string& reference) {
  return "{\"amount\":" + std::to_string(amount) + ",\"currency\":\"" + currency +
         "\",\"reference\":\"" + reference +
         "\",\"payment_method\":{\"type\":\"card\",\"token\":\"" + token +
         "\"},\"metadata\":{\"policy\":\"42\"}}";
}

std::string payoutBody(int64_t amount, const std::string& currency, const std::string& token) {
  return "{\"amount\":" + std::to_string(amount) + ",\"currency\":\"" + currency +
         "\",\"reference\":\"claim-981\",\"beneficiary\":{\"type\":\"provider_account\","
         "\"account_id\":\"" + token + "\",\"name\":\"Ada Lovelace\"}}";
}

}  // namespace paymux::testing
