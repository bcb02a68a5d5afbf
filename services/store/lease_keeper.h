#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "services/store/pool.h"

namespace paymux::store {

/// Keeps the idempotency-key leases of live requests short and alive: a request holds its key
/// for kLeaseSeconds at a time, and this renews the lease of every request still running
/// (one statement for all of them, every second), so a request whose process died is known to
/// be abandoned within seconds and a retry can finish it, while a live request is never
/// mistaken for a dead one however long its provider takes.
class LeaseKeeper {
 public:
  static constexpr int kLeaseSeconds = 4;

  explicit LeaseKeeper(Pool& pool);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  /// The request holding (tenant, key) is running; renew its lease until release().
  void hold(const std::string& tenant_id, const std::string& key);
  void release(const std::string& tenant_id, const std::string& key);

  /// hold() for a scope.
  class Held {
   public:
    Held(LeaseKeeper& keeper, std::string tenant_id, std::string key);
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

   private:
    LeaseKeeper& keeper_;
    std::string tenant_id_, key_;
  };

 private:
  void run();
  void renew();

  Pool& pool_;
  std::mutex mutex_;
  std::condition_variable cv_;
  // (tenant, key) -> number of holders (a resumed request and its original may overlap)
  std::map<std::pair<std::string, std::string>, int> held_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace paymux::store
