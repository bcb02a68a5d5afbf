#pragma once
#include <atomic>
#include <string>

#include "connectors/registry.h"
#include "services/common/config.h"
#include "services/common/http_client.h"
#include "services/engine/payments.h"
#include "services/store/pool.h"

namespace paymux::worker {

/// Settles what webhooks did not: retries parked (unmatched) provider events, re-checks
/// transactions stuck in a non-final status through the connector's status fetch, on the
/// configured backoff, and finishes transactions whose request died before calling the
/// provider (PaymentService::complete). Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of workers
/// share the work without checking one row twice.
class Janitor {
 public:
  Janitor(store::Pool& pool, const config::Config& config,
          const connectors::ConnectorSet& connectors, http::HttpExecutor& executor,
          engine::PaymentService& payments)
      : pool_(pool),
        config_(config),
        connectors_(connectors),
        executor_(executor),
        payments_(payments) {}

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
  /// Finishes a transaction whose request died before calling its provider, unless a live
  /// request holds its Idempotency-Key; true when it did.
  bool finishAbandoned(const std::string& id);
  void checkDueTransactions(Pass& pass);

  store::Pool& pool_;
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
  http::HttpExecutor& executor_;
  engine::PaymentService& payments_;
};

}  // namespace paymux::worker
