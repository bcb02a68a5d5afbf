#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "services/common/config.h"
#include "services/common/secret_box.h"
#include "services/engine/subscriptions.h"
#include "services/store/pool.h"

namespace paymux::worker {

/// Delivers events to subscriptions (the outbox side of API.md "Subscriptions (push)").
///
/// Due deliveries are claimed in short transactions with FOR UPDATE SKIP LOCKED and a lease
/// (deliveries.leased_until = now + delivery.lease_s, longer than any request), so any number of
/// dispatchers share the queue and a crashed one's claims come back when its lease runs out.
/// A claim never takes a subscription past delivery.per_subscription leased deliveries, nor this
/// dispatcher past delivery.concurrency in flight. Requests run concurrently on one thread with
/// libcurl's multi interface, so an endpoint that hangs until its timeout holds only its own
/// slots while every other subscription keeps flowing.
class Dispatcher {
 public:
  struct Options {
    /// How often to look for due deliveries while there is spare capacity.
    std::chrono::milliseconds poll_interval{200};
    /// How often the queue gauges are refreshed from the database.
    std::chrono::milliseconds gauge_interval{1000};
    /// On stop, how long requests in flight may still finish; the rest are abandoned and their
    /// leases released so another dispatcher sends them at once.
    std::chrono::milliseconds stop_grace{3000};
    std::string user_agent = "paymux";
  };

  Dispatcher(store::Pool& pool, const config::DeliveryConfig& config, Options options);
  Dispatcher(store::Pool& pool, const config::DeliveryConfig& config)
      : Dispatcher(pool, config, Options{}) {}
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Runs until `stop` is set (call wake() after setting it to return promptly).
  void run(const std::atomic<bool>& stop);
  /// Runs until nothing is in flight and no delivery is due (or `timeout` passes); for tests and
  /// one-shot tools. Returns true when it went idle.
  bool runUntilIdle(std::chrono::milliseconds timeout);
  /// Interrupts the wait of run() (thread-safe).
  void wake();
  /// New deliveries exist: claim at once instead of at the next poll (thread-safe).
  void deliveriesReady();

  struct Totals {
    long attempts = 0;
    long delivered = 0;
    long retried = 0;
    long failed = 0;
  };
  Totals totals() const;

 private:
  struct Transfer;
  struct Outcome;

  /// One turn of the loop: claim if there is room and it is time, drive the transfers, record
  /// the finished ones, then wait for sockets, a wake() or the next claim time.
  void pump(bool claim);
  /// Claims up to `max` due deliveries and starts their requests; returns how many.
  int claimAndStart(int max);
  void start(std::unique_ptr<Transfer> transfer);
  /// Collects finished requests and records them.
  void reap();
  void record(std::vector<Outcome>& outcomes);
  /// Removes every request in flight and releases its lease (stop after the grace period).
  void abandonInFlight();
  void refreshGauges();
  double retryDelay(int attempts_made, std::optional<long> retry_after_s);

  store::Pool& pool_;
  const config::DeliveryConfig& config_;
  Options options_;
  engine::DestinationPolicy policy_;
  std::optional<crypto::SecretBox> box_;
  void* multi_ = nullptr;  // CURLM*
  std::vector<std::unique_ptr<Transfer>> in_flight_;
  std::mt19937_64 rng_;
  std::chrono::steady_clock::time_point next_claim_{};
  std::chrono::steady_clock::time_point next_gauges_{};
  bool warned_no_key_ = false;
  std::atomic<long> attempts_{0}, delivered_{0}, retried_{0}, failed_{0};
  std::atomic<bool> claim_now_{false};
};

}  // namespace paymux::worker
