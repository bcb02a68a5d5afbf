#include "services/store/api_key_cache.h"

#include "services/common/crypto.h"

namespace paymux::store {

ApiKeyCache::ApiKeyCache(std::chrono::seconds max_age, size_t capacity)
    : max_age_(max_age), capacity_(capacity) {}

std::optional<std::string> ApiKeyCache::authenticate(const std::string& key,
                                                     const Lookup& lookup) {
  std::string digest = crypto::sha256(key);
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (listening_) {
      auto it = entries_.find(digest);
      if (it != entries_.end()) {
        if (Clock::now() - it->second.stored_at < max_age_) return it->second.tenant_id;
        entries_.erase(it);
      }
    }
    generation = generation_;
  }
  std::optional<std::string> tenant = lookup(key);
  if (!tenant) return tenant;
  std::lock_guard lock(mutex_);
  if (listening_ && generation == generation_) {
    if (entries_.size() >= capacity_) entries_.clear();
    entries_[digest] = Entry{*tenant, Clock::now()};
  }
  return tenant;
}

void ApiKeyCache::invalidate() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

void ApiKeyCache::setListening(bool listening) {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
  listening_ = listening;
}

bool ApiKeyCache::listening() const {
  std::lock_guard lock(mutex_);
  return listening_;
}

size_t ApiKeyCache::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

ApiKeyRevocations::ApiKeyRevocations(Secret database_url, ApiKeyCache& cache)
    : listener_(std::move(database_url), kApiKeysChannel, [&cache] { cache.invalidate(); },
                [&cache](bool listening) { cache.setListening(listening); }),
      thread_([this] { listener_.run(stop_); }) {}

ApiKeyRevocations::~ApiKeyRevocations() {
  stop_ = true;
  thread_.join();
}

}  // namespace paymux::store
