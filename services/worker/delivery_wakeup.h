#pragma once
#include <atomic>
#include <functional>
#include <string>

#include "services/common/secret.h"

namespace paymux::worker {

/// The PostgreSQL channel the event publisher notifies when it has created deliveries.
inline constexpr const char* kDeliveriesChannel = "paymux_deliveries";

/// Listens on kDeliveriesChannel on a connection of its own and calls `on_ready` for each
/// notification, so a worker process dispatches the deliveries an api process just created
/// instead of finding them at its next poll. Reconnects after a failure; while it is
/// disconnected (or behind a pooler that drops LISTEN), dispatch falls back to polling.
class DeliveryWakeup {
 public:
  DeliveryWakeup(Secret database_url, std::function<void()> on_ready)
      : url_(std::move(database_url)), on_ready_(std::move(on_ready)) {}
  /// Runs until `stop` (checked at least every second).
  void run(const std::atomic<bool>& stop);

 private:
  Secret url_;
  std::function<void()> on_ready_;
};

}  // namespace paymux::worker
