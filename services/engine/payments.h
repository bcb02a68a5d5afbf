#pragma once
#include <rapidjson/document.h>

#include <string>

#include "connectors/registry.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/engine/routing.h"
#include "services/store/pool.h"

namespace paymux::engine {

/// A response for the HTTP layer: status and JSON body.
struct Reply {
  int status = 200;
  std::string body;
  bool replayed = false;  // Idempotent-Replayed: true
};

/// Orchestrates collections and payouts: idempotency, routing with failover, the connector call,
/// and persistence (the transaction is stored before any provider is called).
class PaymentService {
 public:
  PaymentService(store::Pool& pool, const config::Config& config,
                 const connectors::ConnectorSet& connectors, http::HttpExecutor& executor);

  /// `body` has passed the JSON Schema; `request_hash` identifies the request for idempotency;
  /// `idempotency_key` may be empty. Throws ApiError for client faults.
  Reply create(const std::string& tenant_id, Kind kind, const rapidjson::Document& body,
               const std::string& request_hash, const std::string& idempotency_key);

  Reply get(const std::string& tenant_id, Kind kind, const std::string& id);
  Reply list(const std::string& tenant_id, Kind kind, int limit, const std::string& starting_after,
             const std::string& status, const std::string& reference);

  /// The idempotency key we send a provider: stable per (transaction, connector).
  static std::string providerIdempotencyKey(const std::string& transaction_id,
                                            const std::string& connector_id);

 private:
  store::Pool& pool_;
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  Router router_;
};

/// Events API (pull).
class EventService {
 public:
  explicit EventService(store::Pool& pool) : pool_(pool) {}
  Reply get(const std::string& tenant_id, const std::string& id);
  Reply list(const std::string& tenant_id, int limit, const std::string& starting_after,
             const std::string& type, std::optional<int64_t> after_sequence);

 private:
  store::Pool& pool_;
};

}  // namespace paymux::engine
