#include "services/store/lease_keeper.h"

#include <vector>

#include "services/common/json.h"
#include "services/common/log.h"
#include "services/store/prepared.h"

namespace paymux::store {
namespace {
constexpr auto kRenewEvery = std::chrono::seconds(1);
}

LeaseKeeper::LeaseKeeper(Pool& pool) : pool_(pool), thread_([this] { run(); }) {}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LeaseKeeper::hold(const std::string& tenant_id, const std::string& key) {
  std::lock_guard lock(mutex_);
  ++held_[{tenant_id, key}];
}

void LeaseKeeper::release(const std::string& tenant_id, const std::string& key) {
  std::lock_guard lock(mutex_);
  auto it = held_.find({tenant_id, key});
  if (it != held_.end() && --it->second == 0) held_.erase(it);
}

LeaseKeeper::Held::Held(LeaseKeeper& keeper, std::string tenant_id, std::string key)
    : keeper_(keeper), tenant_id_(std::move(tenant_id)), key_(std::move(key)) {
  if (!key_.empty()) keeper_.hold(tenant_id_, key_);
}

LeaseKeeper::Held::~Held() {
  if (!key_.empty()) keeper_.release(tenant_id_, key_);
}

void LeaseKeeper::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    cv_.wait_for(lock, kRenewEvery, [this] { return stop_; });
    if (stop_ || held_.empty()) continue;
    lock.unlock();
    try {
      renew();
    } catch (const std::exception& e) {
      // why: a lease that lapses while the database is away only lets a retry finish the
      // request too; both send the provider the same idempotency key.
      log::warn("renewing idempotency leases failed", {{"error", e.what()}});
    }
    lock.lock();
  }
}

void LeaseKeeper::renew() {
  rapidjson::StringBuffer sb;
  {
    json::Writer w(sb);
    w.StartArray();
    std::lock_guard lock(mutex_);
    for (const auto& [held, count] : held_) {
      w.StartObject();
      json::kv(w, "tenant_id", held.first);
      json::kv(w, "key", held.second);
      w.EndObject();
    }
    w.EndArray();
  }
  pool_.run([&](pqxx::connection& conn) {
    pqxx::nontransaction txn(conn);
    // why SKIP LOCKED: a row locked now is being completed by its request's own batch; waiting
    // for it while holding other rows that batch needs would be a deadlock (found by bench/run).
    execPrepared(txn, "renew_idempotency_leases",
                 "WITH held AS (SELECT k.tenant_id, k.key FROM idempotency_keys k"
                 "   JOIN json_to_recordset($1::json) AS x(tenant_id text, key text)"
                 "   ON k.tenant_id = x.tenant_id AND k.key = x.key"
                 "   WHERE k.state = 'running' FOR UPDATE OF k SKIP LOCKED)"
                 " UPDATE idempotency_keys k SET locked_until = now() + make_interval(secs => $2)"
                 " FROM held WHERE k.tenant_id = held.tenant_id AND k.key = held.key",
                 std::string(sb.GetString(), sb.GetSize()), kLeaseSeconds);
    return 0;
  });
}

}  // namespace paymux::store
