#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "services/store/pool.h"

namespace paymux::store {

/// Group commit: the writes of concurrent callers share one database transaction, so a burst of
/// N requests costs one commit (one WAL flush) and a few statements instead of N of each.
///
/// A caller that finds a free leader place flushes at once, on its own thread, everything queued
/// (up to max_batch): under light load each write commits alone, with no added wait; under load
/// the queue fills while a flush runs and the next leader takes it whole. Every caller returns
/// only once its own item is committed, or rethrows its error.
// why: PostgreSQL's cost per committed transaction (WAL flush, commit record, snapshot and lock
// bookkeeping) dominated a payment's database time; batching is the only way past it that keeps
// "durably stored before we answer".
template <typename Item>
class GroupCommit {
 public:
  /// Writes `items` in one database transaction on `conn` and commits it, filling in each item's
  /// results. Must order its row locks deterministically (two batches may run at once).
  using Flush = std::function<void(pqxx::connection& conn, std::vector<Item*>& items)>;

  GroupCommit(Pool& pool, Flush flush, size_t max_batch = 256, int max_leaders = 2)
      : pool_(pool), flush_(std::move(flush)), max_batch_(max_batch), max_leaders_(max_leaders) {}

  /// Blocks until `item` is committed; rethrows the error that kept it from committing.
  void submit(Item& item) {
    Slot slot(&item);
    std::unique_lock lock(mutex_);
    queue_.push_back(&slot);
    if (leaders_ < max_leaders_) {
      ++leaders_;
      slot.lead = true;
    }
    while (!slot.done) {
      if (slot.lead) {
        slot.lead = false;
        lead(lock);
        continue;
      }
      slot.wake.wait(lock);
    }
    if (slot.error) std::rethrow_exception(slot.error);
  }

 private:
  struct Slot {
    explicit Slot(Item* i) : item(i) {}
    Item* item;
    bool done = false;
    bool lead = false;
    std::exception_ptr error;
    std::condition_variable wake;
  };

  // Called holding `lock` and one leader place; returns holding `lock`, having passed the place
  // on to the oldest queued caller, or given it back when nobody waits.
  void lead(std::unique_lock<std::mutex>& lock) {
    std::vector<Slot*> batch;
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    if (!batch.empty()) {
      lock.unlock();
      write(batch);
      lock.lock();
      for (Slot* s : batch) {
        s->done = true;
        s->wake.notify_one();
      }
    }
    if (queue_.empty()) {
      --leaders_;
    } else {
      queue_.front()->lead = true;
      queue_.front()->wake.notify_one();
    }
  }

  void write(std::vector<Slot*>& batch) {
    std::vector<Item*> items;
    for (Slot* s : batch) items.push_back(s->item);
    try {
      pool_.run([&](pqxx::connection& conn) { flush_(conn, items); });
      return;
    } catch (const PoolTimeout&) {
      failAll(batch);
      return;
    } catch (const DatabaseUnavailable&) {
      failAll(batch);
      return;
    } catch (...) {
      if (batch.size() == 1) {
        batch[0]->error = std::current_exception();
        return;
      }
    }
    // why: one bad item must not fail its neighbours; write each alone to find it.
    for (Slot* s : batch) {
      std::vector<Item*> one{s->item};
      try {
        pool_.run([&](pqxx::connection& conn) { flush_(conn, one); });
      } catch (...) {
        s->error = std::current_exception();
      }
    }
  }

  static void failAll(std::vector<Slot*>& batch) {
    for (Slot* s : batch) s->error = std::current_exception();
  }

  Pool& pool_;
  Flush flush_;
  size_t max_batch_;
  int max_leaders_;
  std::mutex mutex_;
  std::deque<Slot*> queue_;
  int leaders_ = 0;
};

}  // namespace paymux::store
