// paymuxd: wiring and subcommands only.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/registry.h"
#include "services/api/routes.h"
#include "services/api/server.h"
#include "services/api/validation.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/engine/payments.h"
#include "services/engine/subscriptions.h"
#include "services/engine/webhooks.h"
#include "services/store/migrations.h"
#include "services/store/api_key_cache.h"
#include "services/store/event_publisher.h"
#include "services/store/listener.h"
#include "services/store/pool.h"
#include "services/store/tenants_repo.h"
#include "services/worker/dispatcher.h"
#include "services/worker/janitor.h"

#include <atomic>
#include <thread>

namespace {

using namespace paymux;

constexpr const char* kUsage =
    "usage: paymuxd <command> [options]\n"
    "  serve --config FILE [--all]       run the HTTP API (--all: and the background worker)\n"
    "  work --config FILE                run the background worker (deliveries, janitor)\n"
    "  migrate [--database-url URL] [--migrations DIR]\n"
    "                                    apply pending migrations (URL defaults to $PAYMUX_DATABASE_URL)\n"
    "  check-config FILE                 validate a configuration file\n"
    "  admin tenant create --name NAME   create a tenant, print its id\n"
    "  admin key create --tenant ID [--mode test|live]\n"
    "                                    create an API key, print it once\n"
    "  admin key revoke KEY_ID           revoke an API key\n"
    "  admin discrepancies [--open]      list discrepancies (provider vs paymux)\n"
    "  admin discrepancy resolve ID --note TEXT\n"
    "                                    close a discrepancy with a note\n"
    "  admin deliveries --subscription ID [--failed]\n"
    "                                    list a subscription's deliveries (--failed: only failed)\n"
    "  admin redeliver EVENT_ID          queue an event again for every subscription it matches\n"
    "  version                           print the version\n";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --name value, or "" for flags
};

Args parseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      bool flag = a == "--all" || a == "--open" || a == "--failed";
      args.options[a.substr(2)] = (!flag && i + 1 < argc) ? argv[++i] : "";
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

std::string option(const Args& args, const std::string& name, const std::string& fallback = "") {
  auto it = args.options.find(name);
  return it == args.options.end() ? fallback : it->second;
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string migrationsDir(const Args& args) {
  return option(args, "migrations", envOr("PAYMUX_MIGRATIONS_DIR", PAYMUX_DEFAULT_MIGRATIONS_DIR));
}

std::string schemasDir() {
  return envOr("PAYMUX_SCHEMAS_DIR", std::string(PAYMUX_DEFAULT_MIGRATIONS_DIR) + "/../schemas");
}

Secret databaseUrl(const Args& args) {
  std::string url = option(args, "database-url", envOr("PAYMUX_DATABASE_URL", ""));
  if (url.empty() && args.options.count("config")) {
    return config::loadConfig(option(args, "config")).database.url;
  }
  if (url.empty()) throw std::runtime_error("set PAYMUX_DATABASE_URL or pass --database-url");
  return Secret(url);
}

int migrate(const Args& args) {
  auto files = store::readMigrations(migrationsDir(args));
  pqxx::connection conn(databaseUrl(args).reveal());
  auto applied = store::applyMigrations(conn, files);
  for (const auto& name : applied) log::info("migration applied", {{"name", name}});
  log::info("migrations current", {{"applied_now", std::to_string(applied.size())},
                                   {"total", std::to_string(files.size())}});
  return 0;
}

int listDiscrepancies(const Args& args) {
  pqxx::connection conn(databaseUrl(args).reveal());
  pqxx::read_transaction txn(conn);
  bool open_only = args.options.count("open") > 0;
  auto rows = txn.exec_params(
      "SELECT d.id, coalesce(d.transaction_id, '-'), d.kind, d.detail,"
      " to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
      " CASE WHEN d.resolved_at IS NULL THEN 'open' ELSE 'resolved' END"
      " FROM discrepancies d WHERE NOT $1 OR d.resolved_at IS NULL ORDER BY d.id",
      open_only);
  std::cout << "id\ttransaction\tkind\tstate\tcreated_at\tdetail\n";
  for (const auto& r : rows) {
    std::cout << r[0].c_str() << '\t' << r[1].c_str() << '\t' << r[2].c_str() << '\t'
              << r[5].c_str() << '\t' << r[4].c_str() << '\t' << r[3].c_str() << '\n';
  }
  return 0;
}

int listDeliveries(const Args& args) {
  std::string subscription = option(args, "subscription");
  if (subscription.empty()) throw std::runtime_error("--subscription is required");
  pqxx::connection conn(databaseUrl(args).reveal());
  pqxx::read_transaction txn(conn);
  auto rows = txn.exec_params(
      "SELECT d.id, d.event_id, e.type, d.state, d.attempt_count,"
      " coalesce(d.last_status::text, '-'),"
      " CASE WHEN d.state = 'pending' THEN to_char(d.next_attempt_at AT TIME ZONE 'UTC',"
      "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') ELSE '-' END,"
      " coalesce(d.last_error, '')"
      " FROM deliveries d JOIN events e ON e.id = d.event_id"
      " WHERE d.subscription_id = $1 AND (NOT $2 OR d.state = 'failed') ORDER BY d.id",
      subscription, args.options.count("failed") > 0);
  std::cout << "id\tevent\ttype\tstate\tattempts\tlast_status\tnext_attempt_at\tlast_error\n";
  for (const auto& r : rows) {
    for (int i = 0; i < 8; ++i) std::cout << r[i].c_str() << (i == 7 ? '\n' : '\t');
  }
  return 0;
}

// why: an operator's replay: the event keeps its id (webhook-id), so receivers deduplicate it.
int redeliver(const Args& args, const std::string& event_id) {
  pqxx::connection conn(databaseUrl(args).reveal());
  pqxx::work txn(conn);
  auto r = txn.exec_params(
      "WITH ev AS (SELECT id, tenant_id, type FROM events WHERE id = $1 AND sequence IS NOT NULL),"
      " targets AS (SELECT s.id FROM subscriptions s, ev WHERE s.tenant_id = ev.tenant_id"
      "   AND s.enabled AND s.deleted_at IS NULL"
      "   AND (cardinality(s.event_types) = 0 OR ev.type = ANY (s.event_types))),"
      " reset AS (UPDATE deliveries d SET state = 'pending', next_attempt_at = now(),"
      "   attempt_count = 0, leased_until = NULL, lease_token = NULL"
      "   WHERE d.event_id = $1 AND d.subscription_id IN (SELECT id FROM targets) RETURNING 1),"
      " created AS (INSERT INTO deliveries (subscription_id, event_id, state, next_attempt_at)"
      "   SELECT t.id, $1, 'pending', now() FROM targets t"
      "   ON CONFLICT (subscription_id, event_id) DO NOTHING RETURNING 1)"
      " SELECT (SELECT count(*) FROM ev), (SELECT count(*) FROM reset) +"
      " (SELECT count(*) FROM created)",
      event_id)[0];
  if (r[0].as<int>() == 0) throw std::runtime_error("no event with that id");
  txn.commit();
  log::info("event queued for redelivery", {{"event", event_id}, {"deliveries", r[1].c_str()}});
  std::cout << r[1].c_str() << std::endl;
  return 0;
}

int admin(const Args& args) {
  const auto& p = args.positional;
  if (p.size() == 2 && p[1] == "discrepancies") return listDiscrepancies(args);
  if (p.size() == 2 && p[1] == "deliveries") return listDeliveries(args);
  if (p.size() == 3 && p[1] == "redeliver") return redeliver(args, p[2]);
  if (p.size() < 3) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  pqxx::connection conn(databaseUrl(args).reveal());
  pqxx::work txn(conn);
  if (p[1] == "tenant" && p[2] == "create") {
    std::string name = option(args, "name");
    if (name.empty()) throw std::runtime_error("--name is required");
    std::string id = store::createTenant(txn, name);
    txn.commit();
    std::cout << id << std::endl;
    return 0;
  }
  if (p[1] == "key" && p[2] == "create") {
    std::string tenant = option(args, "tenant");
    std::string mode = option(args, "mode", "test");
    if (mode != "test" && mode != "live") throw std::runtime_error("--mode must be test or live");
    if (tenant.empty() || !store::tenantExists(txn, tenant)) {
      throw std::runtime_error("--tenant must name an existing tenant");
    }
    auto key = store::createApiKey(txn, tenant, mode);
    txn.commit();
    log::info("api key created", {{"key_id", key.id}, {"tenant", tenant}});
    std::cout << key.key << std::endl;
    return 0;
  }
  if (p[1] == "discrepancy" && p[2] == "resolve" && p.size() >= 4) {
    std::string note = option(args, "note");
    if (note.empty()) throw std::runtime_error("--note is required");
    auto r = txn.exec_params(
        "UPDATE discrepancies SET resolved_at = now(), resolution_note = $2"
        " WHERE id = $1::bigint AND resolved_at IS NULL",
        p[3], note);
    txn.commit();
    if (r.affected_rows() != 1) throw std::runtime_error("no open discrepancy with that id");
    log::info("discrepancy resolved", {{"id", p[3]}});
    return 0;
  }
  if (p[1] == "key" && p[2] == "revoke" && p.size() >= 4) {
    bool revoked = store::revokeApiKey(txn, p[3]);
    txn.commit();
    if (!revoked) throw std::runtime_error("no active key with that id");
    log::info("api key revoked", {{"key_id", p[3]}});
    return 0;
  }
  std::fputs(kUsage, stderr);
  return 2;
}

// why: block the shutdown signals before any thread starts so only sigwait in main sees them.
sigset_t blockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return signals;
}

worker::Dispatcher::Options dispatcherOptions() {
  worker::Dispatcher::Options options;
  options.user_agent = std::string("paymux/") + PAYMUX_VERSION;
  return options;
}

/// The sweeper for events older builds left unnumbered (store::EventPublisher), on its own
/// thread: in every process that writes events.
class PublisherThread {
 public:
  explicit PublisherThread(store::EventPublisher& publisher)
      : publisher_(publisher), thread_([this] { publisher_.run(stop_); }) {}
  ~PublisherThread() {
    stop_ = true;
    publisher_.wake();
    thread_.join();
  }

 private:
  store::EventPublisher& publisher_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

/// The background work of `paymuxd work` (and `serve --all`): the janitor and the delivery
/// dispatcher, each on its own thread.
class BackgroundWorker {
 public:
  BackgroundWorker(store::Pool& pool, const config::Config& config,
                   const connectors::ConnectorSet& connectors, store::EventPublisher& publisher)
      : payments_(pool, config, connectors, executor_),
        janitor_(pool, config, connectors, executor_, payments_),
        dispatcher_(pool, config.delivery, dispatcherOptions()),
        // why: wakes the dispatcher as soon as any api process created deliveries; on
        // (re)connecting too, for those created while nobody listened.
        wakeup_(config.database.url, store::kDeliveriesChannel,
                [this] { dispatcher_.deliveriesReady(); },
                [this](bool listening) {
                  if (listening) dispatcher_.deliveriesReady();
                }) {
    publisher.onDeliveries([this] { dispatcher_.deliveriesReady(); });
  }
  ~BackgroundWorker() { stop(); }
  void start() {
    thread_ = std::thread([this] { janitor_.run(stop_); });
    dispatcher_thread_ = std::thread([this] { dispatcher_.run(stop_); });
    wakeup_thread_ = std::thread([this] { wakeup_.run(stop_); });
  }
  void stop() {
    stop_ = true;
    dispatcher_.wake();
    if (thread_.joinable()) thread_.join();
    if (dispatcher_thread_.joinable()) dispatcher_thread_.join();
    if (wakeup_thread_.joinable()) wakeup_thread_.join();
  }

 private:
  http::CurlExecutor executor_;
  engine::PaymentService payments_;  // the janitor finishes requests whose process died
  worker::Janitor janitor_;
  worker::Dispatcher dispatcher_;
  store::NotificationListener wakeup_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::thread dispatcher_thread_;
  std::thread wakeup_thread_;
};

int serve(const Args& args) {
  std::string config_path = option(args, "config");
  if (config_path.empty()) throw std::runtime_error("--config is required");
  auto config = config::loadConfig(config_path);
  log::setLevel(config.log.level);

  sigset_t signals = blockShutdownSignals();

  connectors::ConnectorSet connectors(config);
  store::Pool pool(config.database.url, config.database.pool,
                   std::chrono::milliseconds(config.database.acquire_timeout_ms));
  metrics::Registry::global().gaugeCallback("paymux_db_pool_connections_in_use",
                                            "Database connections currently leased",
                                            [&pool] { return static_cast<double>(pool.inUse()); });
  http::CurlExecutor executor;
  store::EventPublisher publisher(pool);
  engine::PaymentService payments(pool, config, connectors, executor);
  engine::EventService events(pool);
  engine::WebhookService webhooks(pool, connectors, executor);
  engine::SubscriptionService subscriptions(pool, config.delivery);
  api::SchemaSet schemas(schemasDir());

  api::ApiContext ctx;
  ctx.config = &config;
  ctx.pool = &pool;
  ctx.connectors = &connectors;
  ctx.payments = &payments;
  ctx.events = &events;
  ctx.webhooks = &webhooks;
  ctx.subscriptions = &subscriptions;
  ctx.schemas = &schemas;
  store::ApiKeyCache api_keys(std::chrono::seconds(config.server.api_key_cache_s));
  std::optional<store::ApiKeyRevocations> revocations;
  if (config.server.api_key_cache_s > 0) {
    revocations.emplace(config.database.url, api_keys);
    ctx.api_keys = &api_keys;
  }
  ctx.migrations = store::readMigrations(migrationsDir(args));
  api::HttpServer* server_ptr = nullptr;
  ctx.draining = [&server_ptr] { return server_ptr != nullptr && server_ptr->draining(); };
  api::ApiRouter router(std::move(ctx));
  api::HttpServer server(config.server, [&router](const api::ApiRequest& r) { return router.handle(r); });
  server_ptr = &server;
  server.start();
  log::info("paymuxd serving", {{"listen", config.server.listen},
                                {"port", std::to_string(server.port())},
                                {"connectors", std::to_string(connectors.ids().size())}});
  PublisherThread publishing(publisher);
  BackgroundWorker worker(pool, config, connectors, publisher);
  if (args.options.count("all")) worker.start();
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("shutting down", {{"signal", std::to_string(sig)}});
  bool clean = server.drain(std::chrono::milliseconds(config.server.shutdown_grace_ms));
  worker.stop();
  log::info("stopped", {{"clean", clean ? "true" : "false"}});
  return 0;
}

int work(const Args& args) {
  std::string config_path = option(args, "config");
  if (config_path.empty()) throw std::runtime_error("--config is required");
  auto config = config::loadConfig(config_path);
  log::setLevel(config.log.level);
  sigset_t signals = blockShutdownSignals();
  connectors::ConnectorSet connectors(config);
  store::Pool pool(config.database.url, config.database.pool,
                   std::chrono::milliseconds(config.database.acquire_timeout_ms));
  store::EventPublisher publisher(pool);
  PublisherThread publishing(publisher);
  BackgroundWorker worker(pool, config, connectors, publisher);
  worker.start();
  // why: workers expose /healthz, /readyz and /metrics (delivery backlog, janitor) on the same
  // listen address as the api, so probes and scrapes work the same for both deployments.
  api::ApiContext ctx;
  ctx.config = &config;
  ctx.pool = &pool;
  ctx.ops_only = true;
  ctx.migrations = store::readMigrations(migrationsDir(args));
  api::ApiRouter router(std::move(ctx));
  api::HttpServer ops(config.server, [&router](const api::ApiRequest& r) { return router.handle(r); });
  ops.start();
  log::info("paymuxd worker running", {{"connectors", std::to_string(connectors.ids().size())},
                                       {"ops_port", std::to_string(ops.port())}});
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("shutting down", {{"signal", std::to_string(sig)}});
  ops.drain(std::chrono::milliseconds(1000));
  worker.stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parseArgs(argc, argv);
  if (args.positional.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string& command = args.positional[0];
  try {
    if (command == "serve") return serve(args);
    if (command == "work") return work(args);
    if (command == "migrate") return migrate(args);
    if (command == "admin") return admin(args);
    if (command == "check-config") {
      if (args.positional.size() < 2) throw std::runtime_error("check-config needs a FILE");
      auto config = config::loadConfig(args.positional[1]);
      connectors::ConnectorSet check(config);
      std::cout << args.positional[1] << ": ok (" << config.connectors.size() << " connectors, "
                << config.routing.size() << " routes)" << std::endl;
      return 0;
    }
    if (command == "version") {
      std::cout << "paymuxd " << PAYMUX_VERSION << std::endl;
      return 0;
    }
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << std::endl;
    return 1;
  } catch (const pqxx::broken_connection&) {
    log::error("cannot connect to the database");
    return 1;
  } catch (const std::exception& e) {
    log::error(e.what());
    return 1;
  }
  std::fputs(kUsage, stderr);
  return 2;
}
