#pragma once
#include <string>
#include <vector>

#include "connectors/registry.h"
#include "services/common/http_client.h"
#include "services/engine/payments.h"
#include "services/engine/reconcile.h"
#include "services/store/group_commit.h"
#include "services/store/pool.h"

namespace paymux::engine {

/// Provider webhook intake: verify on the raw bytes, store every event (deduplicated by
/// connector + provider event id) and reconcile it, all committed before the 2xx. Concurrent
/// webhooks share database transactions (store::GroupCommit).
class WebhookService {
 public:
  WebhookService(store::Pool& pool, const connectors::ConnectorSet& connectors,
                 http::HttpExecutor& executor);

  /// Throws ApiError: 404 unknown connector, 401 bad signature, 400 unreadable body.
  Reply receive(const std::string& connector_id, const http::Headers& headers,
                const std::string& body);

 private:
  /// One webhook's events, stored and reconciled in a shared database transaction.
  struct Delivery {
    std::string connector_id;
    const std::vector<connectors::ProviderEvent>* events = nullptr;
    const std::string* body = nullptr;
    const std::string* headers_json = nullptr;
    // Results, set by the flush that committed them:
    std::vector<EventOutcome> outcomes;  // per event; kDuplicate for events already stored
  };
  void flush(pqxx::connection& conn, std::vector<Delivery*>& batch);
  std::vector<EventOutcome> storeAndReconcile(const std::string& connector_id,
                                              const std::vector<connectors::ProviderEvent>& events,
                                              const std::string& body,
                                              const std::string& headers_json);

  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  store::GroupCommit<Delivery> commits_;
};

}  // namespace paymux::engine
