#include "services/store/event_publisher.h"

#include <thread>

#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/store/events_repo.h"

namespace paymux::store {
namespace {
constexpr int kBatch = 2000;
// why: under load, notifications arrive faster than passes finish; a short pause after a pass
// that found work lets the next one take a bigger batch (one commit for all of them).
constexpr auto kBusyPause = std::chrono::milliseconds(3);
}

EventPublisher::EventPublisher(Pool& pool, std::chrono::milliseconds idle_interval)
    : pool_(pool), idle_interval_(idle_interval) {}

void EventPublisher::wake() {
  {
    std::lock_guard lock(mutex_);
    pending_ = true;
  }
  cv_.notify_one();
}

int EventPublisher::publishNow() {
  int total = 0;
  int deliveries = 0;
  for (;;) {
    PublishedBatch batch = pool_.run([](pqxx::connection& conn) { return publishEvents(conn, kBatch); });
    total += batch.events;
    deliveries += batch.deliveries;
    if (batch.events < kBatch) break;
  }
  if (total > 0) {
    metrics::Registry::global().counterAdd("paymux_events_published_total",
                                           "Events numbered and fanned out to subscriptions", {},
                                           total);
  }
  if (deliveries > 0 && on_deliveries_) on_deliveries_();
  return total;
}

void EventPublisher::run(const std::atomic<bool>& stop) {
  while (!stop.load()) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, idle_interval_, [this] { return pending_; });
      pending_ = false;
    }
    if (stop.load()) break;
    try {
      if (publishNow() > 0) std::this_thread::sleep_for(kBusyPause);
    } catch (const std::exception& e) {
      log::warn("event publishing failed; retrying", {{"error", e.what()}});
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&stop] { return stop.load(); });
    }
  }
}

}  // namespace paymux::store
