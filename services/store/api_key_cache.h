#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "services/common/secret.h"
#include "services/store/listener.h"

namespace paymux::store {

/// The channel migration 0007's trigger NOTIFYs after any change to api_keys.
inline constexpr const char* kApiKeysChannel = "paymux_api_keys";

/// Remembers which tenant an API key belongs to, so an API request does not cost a database
/// round trip to authenticate.
///
/// A revocation reaches every process within milliseconds: the api_keys trigger NOTIFYs
/// kApiKeysChannel and each process's NotificationListener calls invalidate(). The cache is
/// used only while that listener is connected (setListening), because a notification sent
/// while nobody listens is lost; entries also expire after `max_age` in case one goes astray.
/// Unknown and revoked keys are never remembered.
class ApiKeyCache {
 public:
  using Clock = std::chrono::steady_clock;
  using Lookup = std::function<std::optional<std::string>(const std::string& key)>;

  explicit ApiKeyCache(std::chrono::seconds max_age = std::chrono::seconds(60),
                       size_t capacity = 10000);

  /// The tenant owning `key`: remembered, or asked of `lookup` (the database).
  std::optional<std::string> authenticate(const std::string& key, const Lookup& lookup);
  /// Something in api_keys changed: forget every key.
  void invalidate();
  /// Whether revocations are being heard; forgets every key either way.
  void setListening(bool listening);
  bool listening() const;
  size_t size() const;

 private:
  struct Entry {
    std::string tenant_id;
    Clock::time_point stored_at;
  };

  std::chrono::seconds max_age_;
  size_t capacity_;
  mutable std::mutex mutex_;
  bool listening_ = false;
  // why: a lookup that began before an invalidation may have read the key as still valid;
  // its answer is remembered only if no invalidation happened meanwhile.
  uint64_t generation_ = 0;
  std::unordered_map<std::string, Entry> entries_;  // by SHA-256 of the key
};

/// Keeps a cache in step with api_keys: LISTENs on kApiKeysChannel on a thread of its own
/// from construction to destruction (one per process that authenticates API requests).
class ApiKeyRevocations {
 public:
  ApiKeyRevocations(Secret database_url, ApiKeyCache& cache);
  ~ApiKeyRevocations();
  ApiKeyRevocations(const ApiKeyRevocations&) = delete;
  ApiKeyRevocations& operator=(const ApiKeyRevocations&) = delete;

 private:
  std::atomic<bool> stop_{false};
  NotificationListener listener_;
  std::thread thread_;
};

}  // namespace paymux::store
