#include "services/api/worker_pool.h"

namespace paymux::api {

WorkerPool::WorkerPool(int threads, int max_queue) : max_queue_(max_queue) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(std::function<void()> task) {
  std::lock_guard lock(mutex_);
  if (stopping_ || static_cast<int>(queue_.size()) >= max_queue_) return false;
  queue_.push_back(std::move(task));
  if (!idle_.empty()) {
    IdleWorker* worker = idle_.back();
    idle_.pop_back();
    worker->woken = true;
    // why: notified under the lock; once it is released the worker may run, finish and exit.
    worker->wake.notify_one();
  }
  return true;
}

int WorkerPool::pending() const {
  std::lock_guard lock(mutex_);
  return static_cast<int>(queue_.size()) + running_;
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (IdleWorker* worker : idle_) worker->wake.notify_one();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::loop() {
  IdleWorker self;
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      while (queue_.empty() && !stopping_) {
        self.woken = false;
        idle_.push_back(&self);
        while (!self.woken && !stopping_) self.wake.wait(lock);
        if (!self.woken) std::erase(idle_, &self);
      }
      // why: drain what was accepted before stopping; accepted requests must be answered.
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_;
    }
    task();
    std::lock_guard lock(mutex_);
    --running_;
  }
}

}  // namespace paymux::api
