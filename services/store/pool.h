#pragma once
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "services/common/secret.h"

namespace paymux::store {

/// No connection could be had within the acquire timeout (answer 503, retryable).
class PoolTimeout : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// PostgreSQL is unreachable (answer 503, retryable). Messages never contain the URL.
class DatabaseUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bounded pool of libpqxx connections. Connections are opened lazily and replaced when
/// they break (for example after PostgreSQL restarts).
class Pool {
 public:
  Pool(Secret url, int size, std::chrono::milliseconds acquire_timeout);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Runs `fn` with a connection. If the connection turns out to be broken before anything was
  /// committed, `fn` is run once more on a fresh connection, so `fn` must be one whole
  /// database transaction (or read-only).
  template <typename Fn>
  auto run(Fn&& fn) -> decltype(fn(std::declval<pqxx::connection&>())) {
    for (int attempt = 0;; ++attempt) {
      Lease lease = acquire();
      try {
        return fn(*lease.connection);
      } catch (const pqxx::broken_connection&) {
        lease.broken = true;
        if (attempt >= 1) throw DatabaseUnavailable("database connection lost");
      }
    }
  }

  int size() const { return size_; }
  int inUse() const;
  const Secret& url() const { return url_; }

 private:
  struct Lease {
    Pool* pool = nullptr;
    std::unique_ptr<pqxx::connection> connection;
    bool broken = false;
    Lease(Pool* p, std::unique_ptr<pqxx::connection> c) : pool(p), connection(std::move(c)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease();
  };
  Lease acquire();
  void release(std::unique_ptr<pqxx::connection> connection, bool broken);

  Secret url_;
  int size_;
  std::chrono::milliseconds acquire_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;    // connections that exist (idle + leased)
  int leased_ = 0;
};

}  // namespace paymux::store
