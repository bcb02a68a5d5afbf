#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "services/common/secret.h"

namespace paymux::config {

/// Raised for any invalid configuration. what() is exactly
/// "<file>:<line>:<column>: <path.to.key>: <message>" (line and column 1-based) and never
/// contains a secret value.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ServerConfig {
  std::string listen = "0.0.0.0:8080";  // host:port
  int threads = 2;                       // Pistache reactor threads, 1..64
  int workers = 64;                      // request worker pool (blocking DB/provider I/O), 1..4096
  int queue = 4096;                      // max queued requests before 503, 1..1000000
  int64_t max_body_bytes = 65536;        // 1..16777216
  int header_timeout_ms = 10000;         // 1..600000
  int body_timeout_ms = 30000;           // 1..600000
  int shutdown_grace_ms = 20000;         // 0..600000
  int api_key_cache_s = 60;              // 0..3600; 0: check every request's key in the database
};

struct DatabaseConfig {
  Secret url;                     // required
  int pool = 16;                  // 1..1000
  int acquire_timeout_ms = 2000;  // 1..600000
};

struct WebhookVerifyConfig {
  Secret secret;         // optional; some schemes (Wise) use public_key instead
  Secret public_key;     // PEM text, optional
  int tolerance_s = 300;  // 1..86400
};

struct ConnectorConfig {
  std::string id;    // required, [a-z0-9-]{1,64}, unique
  std::string type;  // required (registry name, e.g. "sandbox", "stripe")
  std::string base_url;  // required, http:// or https://
  std::map<std::string, Secret> credentials;      // free-form keys, values are secrets
  std::map<std::string, std::string> settings;    // free-form provider-specific, not secret
  WebhookVerifyConfig webhook;
  std::vector<std::string> kinds;       // supports.kinds: subset of {collect, payout}; default both
  std::vector<std::string> currencies;  // supports.currencies: ISO codes (uppercase 3 letters); empty = any
  std::vector<std::string> methods;     // supports.methods: payment method / beneficiary types; empty = any
  int timeout_ms = 15000;               // 1..600000
};

struct RouteMatch {
  std::optional<std::string> kind;         // collect | payout
  std::vector<std::string> currencies;     // "currency": a string or a list
  std::vector<std::string> countries;      // "country": customer country, string or list
  std::vector<std::string> methods;        // "method": payment method type, string or list
  std::optional<int64_t> min_amount;       // "amount": {min: N, max: N}, minor units
  std::optional<int64_t> max_amount;
};

struct RouteRule {
  RouteMatch when;
  std::vector<std::string> try_order;                  // "try": ordered failover
  std::vector<std::pair<std::string, int>> split;      // "split": {connector: weight 1..10000}
};  // exactly one of try/split is set

struct DeliveryConfig {
  std::vector<int> retry_schedule_s = {0, 5, 300, 1800, 7200, 18000, 36000, 36000};
  int timeout_ms = 15000;
  int concurrency = 64;              // in-flight deliveries per worker, 1..10000
  int per_subscription = 4;          // in-flight per subscription, 1..1000
  int disable_after_s = 432000;      // 5 days
  int lease_s = 60;                  // must exceed timeout
  Secret encryption_key;             // base64 of 32 bytes; optional until subscriptions exist
  std::vector<std::string> allow_hosts;  // host names or CIDRs; empty = any public
  bool allow_private_networks = false;
};

struct JanitorConfig {
  std::vector<int> schedule_s = {300, 3600, 86400};
  int unmatched_window_s = 600;
  int interval_ms = 1000;
};

struct LogConfig {
  std::string level = "info";  // debug|info|warn|error
};

struct Config {
  std::string file;  // path it was loaded from
  ServerConfig server;
  DatabaseConfig database;
  std::vector<ConnectorConfig> connectors;
  std::vector<RouteRule> routing;
  DeliveryConfig delivery;
  JanitorConfig janitor;
  LogConfig log;

  const ConnectorConfig* findConnector(const std::string& id) const;
};

/// Loads and validates a YAML file. Interpolates "${NAME}" from the environment and
/// "${file:/path}" from a file (trailing newline stripped) inside string scalars.
Config loadConfig(const std::string& path);
/// Same, from text (name is used in error messages).
Config loadConfigFromString(const std::string& yaml_text, const std::string& name);

}  // namespace paymux::config
