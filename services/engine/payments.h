#pragma once
#include <rapidjson/document.h>

#include <string>

#include "connectors/registry.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/engine/payment_request.h"
#include "services/engine/routing.h"
#include "services/engine/transitions.h"
#include "services/store/group_commit.h"
#include "services/store/lease_keeper.h"
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
                 const connectors::ConnectorSet& connectors, http::HttpExecutor& executor);

  /// `body` has passed the JSON Schema; `request_hash` identifies the request for idempotency;
  /// `idempotency_key` may be empty. Throws ApiError for client faults.
  Reply create(const std::string& tenant_id, Kind kind, const rapidjson::Document& body,
               const std::string& request_hash, const std::string& idempotency_key);

  /// Finishes a stored transaction whose request never recorded a provider call (its process
  /// died): calls the provider with the same idempotency key the first attempt used, records
  /// the outcome and stores it as the answer of its Idempotency-Key. The caller holds that key
  /// (its lease expired and was taken over) or the transaction has none.
  Reply complete(const store::TransactionRecord& tx);
  /// An upper bound on how long any live request can take (every connector timing out, and a
  /// margin): a transaction without an Idempotency-Key older than this has no live request.
  int longestRequestS() const;

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
  /// What claimAlone found: a final answer, a transaction of an abandoned request to finish,
  /// or neither (the key is ours: go on).
  struct Claim {
    std::optional<Reply> reply;
    std::optional<store::TransactionRecord> resume;
  };
  static void flushIntents(pqxx::connection& conn, std::vector<Intent*>& batch);
  /// The route to finish `tx` on: today's, if it still starts at the stored connector.
  std::vector<std::string> routeOf(const store::TransactionRecord& tx, const ParsedRequest& parsed);
  Reply callAndRecord(store::TransactionRecord& tx, connectors::PaymentRequest& payment,
                      const std::vector<std::string>& route);
  CallOutcome callConnectors(connectors::PaymentRequest& payment,
                             const std::vector<std::string>& route);
  void flushOutcomes(pqxx::connection& conn, std::vector<Outcome*>& batch);
  /// Claims the key on its own (replay, mismatch, in progress, abandoned) and, when it is ours,
  /// stores the transaction.
  Claim claimAlone(const std::string& tenant_id, const store::TransactionRecord& tx,
                                  std::chrono::system_clock::time_point created,
                                  const std::string& request_hash,
                                  const std::string& idempotency_key);
  /// The outcome's writes on `tx` (as read at tx.version): status, attempts, event, and the
  /// response stored under its Idempotency-Key.
  Reply recordOutcome(store::TransactionRecord& tx, const CallOutcome& outcome,
                      store::WriteSet& writes);
  /// Records the outcome on the freshly locked row.
  Reply recordOutcomeAlone(const std::string& tenant_id, const std::string& transaction_id,
                           const std::string& idempotency_key, const CallOutcome& outcome);

  store::Pool& pool_;
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  Router router_;
  store::LeaseKeeper leases_;
  store::GroupCommit<Intent> intents_;
  store::GroupCommit<Outcome> outcomes_;
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
