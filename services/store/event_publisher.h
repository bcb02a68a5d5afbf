#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "services/store/pool.h"

namespace paymux::store {

/// Numbers committed events and fans them out to subscriptions (store::publishEvents), in the
/// background: woken by notify() after a commit that wrote events, and every idle interval for
/// events whose writer died before it could notify (another process, or a crash).
class EventPublisher {
 public:
  explicit EventPublisher(Pool& pool,
                          std::chrono::milliseconds idle_interval = std::chrono::milliseconds(500));

  /// A transaction that wrote events has committed.
  void notify();
  /// Numbers every event committed so far, on the caller's thread; returns how many.
  int publishNow();
  /// Numbers the tenant's committed events before a read, so that a client reading events sees
  /// everything written before its read began.
  void publishBeforeRead(const std::string& tenant_id);
  /// Runs until `stop`; wake() ends a wait early.
  void run(const std::atomic<bool>& stop);
  void wake() { notify(); }
  /// Called after each publish that created deliveries (to wake an in-process dispatcher).
  void onDeliveries(std::function<void()> callback) { on_deliveries_ = std::move(callback); }

 private:
  Pool& pool_;
  std::chrono::milliseconds idle_interval_;
  std::function<void()> on_deliveries_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool pending_ = false;
};

}  // namespace paymux::store
