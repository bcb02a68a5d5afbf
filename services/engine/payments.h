#pragma once
#include <rapidjson/document.h>

#include <string>

#include "connectors/registry.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/engine/routing.h"
#include "services/engine/transitions.h"
#include "services/store/event_publisher.h"
#include "services/store/group_commit.h"
#include "services/store/pool.h"
#include "services/store/write_set.h"

namespace paymux::engine {

/// A response for the HTTP layer: status and JSON body.
struct Reply {
  int status = 200;
  std::string body;
  bool replayed = false;  // Idempotent-Replayed: true
};

/// Orchestrates collections and payouts: idempotency, routing with failover, the connector call,
/// and persistence (the transaction is stored before any provider is called). Concurrent
/// requests share database transactions (store::GroupCommit) for both of their writes.
class PaymentService {
 public:
  PaymentService(store::Pool& pool, const config::Config& config,
                 const connectors::ConnectorSet& connectors, http::HttpExecutor& executor,
                 store::EventPublisher& publisher);

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
  /// Step 1 of a request: its transaction and idempotency claim, before any provider call.
  struct Intent {
    const store::TransactionRecord* tx;
    const std::string* key;
    const std::string* request_hash;
    std::chrono::system_clock::time_point created_at;
    bool stored = false;  // false: the key is taken (or claimed twice in one batch): claimAlone
  };
  /// Step 3: the connector's answer, its event and the stored response.
  struct Outcome {
    const std::string* transaction_id;
    const store::WriteSet* writes;
    bool conflict = false;  // the row changed since step 1 (a webhook): recordOutcomeAlone
  };
  /// The result of calling the routed connectors in order.
  struct CallOutcome {
    StatusReport report;
    std::vector<store::AttemptRecord> attempts;
  };
  static void flushIntents(pqxx::connection& conn, std::vector<Intent*>& batch);
  void flushOutcomes(pqxx::connection& conn, std::vector<Outcome*>& batch);
  /// Claims the key on its own (replay, mismatch, in progress, abandoned); nullopt when claimed
  /// and the transaction stored.
  std::optional<Reply> claimAlone(const std::string& tenant_id, const store::TransactionRecord& tx,
                                  std::chrono::system_clock::time_point created,
                                  const std::string& request_hash,
                                  const std::string& idempotency_key);
  /// The outcome's writes on `tx` (as read at tx.version): status, attempts, event, response.
  Reply recordOutcome(store::TransactionRecord& tx, const CallOutcome& outcome,
                      const std::string& idempotency_key, store::WriteSet& writes);
  /// Records the outcome on the freshly locked row.
  Reply recordOutcomeAlone(const std::string& tenant_id, const std::string& transaction_id,
                           const std::string& idempotency_key, const CallOutcome& outcome);

  store::Pool& pool_;
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  store::EventPublisher& publisher_;
  Router router_;
  store::GroupCommit<Intent> intents_;
  store::GroupCommit<Outcome> outcomes_;
};

/// Events API (pull).
class EventService {
 public:
  EventService(store::Pool& pool, store::EventPublisher& publisher)
      : pool_(pool), publisher_(publisher) {}
  Reply get(const std::string& tenant_id, const std::string& id);
  Reply list(const std::string& tenant_id, int limit, const std::string& starting_after,
             const std::string& type, std::optional<int64_t> after_sequence);

 private:
  store::Pool& pool_;
  store::EventPublisher& publisher_;
};

}  // namespace paymux::engine
