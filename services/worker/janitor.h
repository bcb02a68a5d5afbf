#pragma once
#include <atomic>
#include <string>

#include "connectors/registry.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/store/event_publisher.h"
#include "services/store/pool.h"

namespace paymux::worker {

/// Settles what webhooks did not: retries parked (unmatched) provider events, and re-checks
/// transactions stuck in a non-final status through the connector's status fetch, on the
/// configured backoff. Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of workers
/// share the work without checking one row twice.
class Janitor {
 public:
  Janitor(store::Pool& pool, const config::Config& config,
          const connectors::ConnectorSet& connectors, http::HttpExecutor& executor,
          store::EventPublisher& publisher)
      : pool_(pool),
        config_(config),
        connectors_(connectors),
        executor_(executor),
        publisher_(publisher) {}

  struct Pass {
    int events_retried = 0;
    int transactions_checked = 0;
    int transactions_changed = 0;
  };
  Pass runOnce();
  /// Runs passes every janitor.interval_ms until `stop` is set.
  void run(const std::atomic<bool>& stop);

 private:
  int retryUnmatched();
  void checkDueTransactions(Pass& pass);

  store::Pool& pool_;
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  store::EventPublisher& publisher_;
};

}  // namespace paymux::worker
