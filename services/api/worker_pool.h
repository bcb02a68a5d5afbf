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
  void loop();
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  int max_queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace paymux::api
