#pragma once
#include <string>

#include "connectors/registry.h"
#include "services/common/http_client.h"
#include "services/engine/payments.h"
#include "services/store/pool.h"

namespace paymux::engine {

/// Provider webhook intake: verify on the raw bytes, store every event (deduplicated by
/// connector + provider event id) and reconcile it, all committed before the 2xx.
class WebhookService {
 public:
  WebhookService(store::Pool& pool, const connectors::ConnectorSet& connectors,
                 http::HttpExecutor& executor)
      : pool_(pool), connectors_(connectors), executor_(executor) {}

  /// Throws ApiError: 404 unknown connector, 401 bad signature, 400 unreadable body.
  Reply receive(const std::string& connector_id, const http::Headers& headers,
                const std::string& body);

 private:
  store::Pool& pool_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
};

}  // namespace paymux::engine
