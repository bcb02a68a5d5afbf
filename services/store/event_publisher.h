#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "services/store/pool.h"

namespace paymux::store {

/// The sweeper for events written unnumbered (store::publishEvents numbers them and fans them
/// out): older paymux builds numbered events after commit, so during a rolling upgrade their
/// processes, or one that died before numbering, leave such events. Today's writers number in
/// the write itself (store::WriteSet), so a pass normally finds nothing.
class EventPublisher {
 public:
  explicit EventPublisher(Pool& pool,
                          std::chrono::milliseconds idle_interval = std::chrono::milliseconds(500));

  /// Numbers every unnumbered event committed so far, on the caller's thread; returns how many.
  int publishNow();
  /// Runs a pass every idle interval until `stop`; wake() ends a wait early.
  void run(const std::atomic<bool>& stop);
  void wake();
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
