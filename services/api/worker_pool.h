#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace paymux::api {

/// Runs request handlers off Pistache's reactor threads (they block on the database and on
/// providers). Bounded: submit() refuses work when the queue is full.
class WorkerPool {
 public:
  WorkerPool(int threads, int max_queue);
  ~WorkerPool();
  /// False when the queue is full (the caller answers 503).
  bool submit(std::function<void()> task);
  /// Tasks queued or running.
  int pending() const;
  void stop();

 private:
  // why: an idle worker waits on its own condition variable and submit() wakes the one that went
  // idle last. With one shared condition variable the kernel wakes waiters in FIFO order, so
  // every task landed on a different one of a thousand threads, with a cold cache and a cold
  // malloc cache (a fifth of the process's CPU went to malloc).
  struct IdleWorker {
    std::condition_variable wake;
    bool woken = false;
  };
  void loop();
  mutable std::mutex mutex_;
  std::vector<IdleWorker*> idle_;  // a stack: the most recently idle worker is at the back
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  int max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace paymux::api
