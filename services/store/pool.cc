#include "services/store/pool.h"

namespace paymux::store {
namespace {

// why: every statement paymuxd runs is a key lookup or a batch of them (a json_to_recordset that
// the planner assumes holds 100 rows), and prepared statements keep the generic plan they got
// when first planned. On a new or small table that plan is a hash join over a sequential scan,
// and it stays while the table grows, until autovacuum's next ANALYZE (up to a minute): on a
// fresh database the write path ran 3 to 4 times slower for that long. Without these the
// planner picks index lookups whatever the table's size was at planning time.
constexpr const char* kSessionSettings =
    "SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off";

}  // namespace

Pool::Pool(Secret url, int size, std::chrono::milliseconds acquire_timeout)
    : url_(std::move(url)), size_(size), acquire_timeout_(acquire_timeout) {}

Pool::~Pool() = default;

int Pool::inUse() const {
  std::lock_guard lock(mutex_);
  return leased_;
}

Pool::Lease::~Lease() {
  if (pool != nullptr && connection) pool->release(std::move(connection), broken);
}

Pool::Lease Pool::acquire() {
  std::unique_lock lock(mutex_);
  bool got = available_.wait_for(lock, acquire_timeout_,
                                 [this] { return !idle_.empty() || open_ < size_; });
  if (!got) throw PoolTimeout("no database connection available within the acquire timeout");
  ++leased_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  try {
    // why: connect outside the lock so a slow or down database does not stall other callers.
    auto conn = std::make_unique<pqxx::connection>(url_.reveal());
    pqxx::nontransaction(*conn).exec(kSessionSettings);
    return Lease(this, std::move(conn));
  } catch (const std::exception&) {
    lock.lock();
    --open_;
    --leased_;
    available_.notify_one();
    // The libpq message may echo the connection string's host; keep it generic.
    throw DatabaseUnavailable("database unreachable");
  }
}

void Pool::release(std::unique_ptr<pqxx::connection> connection, bool broken) {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    std::lock_guard lock(mutex_);
    --leased_;
    if (broken || !connection->is_open()) {
      --open_;
      // why: one broken connection usually means the server restarted or the network dropped,
      // so the idle ones are dead too; dropping them lets the caller's retry open a fresh one
      // instead of drawing another corpse.
      open_ -= static_cast<int>(idle_.size());
      dropped.swap(idle_);
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  available_.notify_all();
  // Closed outside the lock: closing may wait on the network.
  dropped.clear();
  connection.reset();
}

}  // namespace paymux::store
