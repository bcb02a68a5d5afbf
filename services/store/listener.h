#pragma once
#include <atomic>
#include <functional>
#include <string>

#include "services/common/secret.h"

namespace paymux::store {

/// The channel a write set (or the event sweeper) NOTIFYs when it has created deliveries.
inline constexpr const char* kDeliveriesChannel = "paymux_deliveries";

/// LISTENs on one channel on a connection of its own and calls `on_notify` for each
/// notification. `on_listening(true)` runs once LISTEN is in place (after every reconnect:
/// notifications sent while disconnected are lost), `on_listening(false)` when the connection
/// is lost; it then reconnects once a second.
class NotificationListener {
 public:
  NotificationListener(Secret database_url, std::string channel, std::function<void()> on_notify,
                       std::function<void(bool)> on_listening)
      : url_(std::move(database_url)),
        channel_(std::move(channel)),
        on_notify_(std::move(on_notify)),
        on_listening_(std::move(on_listening)) {}
  /// Runs until `stop` (checked every 100 ms).
  void run(const std::atomic<bool>& stop);

 private:
  Secret url_;
  std::string channel_;
  std::function<void()> on_notify_;
  std::function<void(bool)> on_listening_;
};

}  // namespace paymux::store
