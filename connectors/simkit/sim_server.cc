#include "connectors/simkit/sim_server.h"

#include "services/common/listen_backlog.h"
#include "services/common/pistache_headers.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace paymux::simkit {
namespace {
using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Sends responses when they fall due, from one thread.
class DelayQueue {
 public:
  DelayQueue() : thread_([this] { loop(); }) {}
  ~DelayQueue() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void push(Clock::time_point due, std::function<void()> fn) {
    {
      std::lock_guard lock(mutex_);
      queue_.emplace(due, std::move(fn));
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto due = queue_.begin()->first;
      if (Clock::now() < due) {
        cv_.wait_until(lock, due);
        continue;
      }
      auto fn = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::multimap<Clock::time_point, std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

void send(Pistache::Http::ResponseWriter& writer, const SimResponse& r) {
  for (const auto& [k, v] : r.headers) {
    http::addHeader(writer, k, v);
  }
  writer.headers().add<Pistache::Http::Header::ContentType>(r.content_type);
  writer.send(static_cast<Pistache::Http::Code>(r.status), r.body);
}

class Handler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)
  Handler(std::shared_ptr<SimHandler> handler, std::shared_ptr<DelayQueue> delays)
      : handler_(std::move(handler)), delays_(std::move(delays)) {}

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override {
    SimRequest req;
    req.method = Pistache::Http::methodString(request.method());
    req.path = request.resource();
    std::string q;
    for (auto it = request.query().parameters_begin(); it != request.query().parameters_end(); ++it) {
      if (!q.empty()) q += "&";
      q += it->first + "=" + it->second;
    }
    req.query = q;
    req.headers = http::allHeaders(request);
    req.body = request.body();
    SimResponse resp;
    try {
      resp = (*handler_)(req);
    } catch (const std::exception& e) {
      resp = SimResponse{500, std::string("{\"error\":\"simulator: ") + e.what() + "\"}"};
    }
    if (resp.delay.count() <= 0) {
      send(writer, resp);
      return;
    }
    auto shared = std::make_shared<Pistache::Http::ResponseWriter>(std::move(writer));
    delays_->push(Clock::now() + resp.delay, [shared, resp] { send(*shared, resp); });
  }

 private:
  std::shared_ptr<SimHandler> handler_;
  std::shared_ptr<DelayQueue> delays_;
};
}  // namespace

std::string SimRequest::header(std::string_view name) const {
  std::string wanted = lower(std::string(name));
  for (const auto& [k, v] : headers) {
    if (k == wanted) return v;
  }
  return "";
}

struct SimServer::Impl {
  std::shared_ptr<DelayQueue> delays = std::make_shared<DelayQueue>();
  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
  std::string host;
  bool stopped = false;
};

SimServer::SimServer(const std::string& host, int port, SimHandler handler, int threads)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = host;
  Pistache::Address addr(host, Pistache::Port(static_cast<uint16_t>(port)));
  impl_->endpoint = std::make_unique<Pistache::Http::Endpoint>(addr);
  auto opts = Pistache::Http::Endpoint::options()
                  .threads(threads)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(4 * 1024 * 1024)
                  .maxResponseSize(4 * 1024 * 1024);
  impl_->endpoint->init(opts);
  impl_->endpoint->setHandler(std::make_shared<Handler>(
      std::make_shared<SimHandler>(std::move(handler)), impl_->delays));
  impl_->endpoint->serveThreaded();
  net::widenListenBacklog(static_cast<uint16_t>(impl_->endpoint->getPort()));
}

SimServer::~SimServer() { shutdown(); }

void SimServer::shutdown() {
  if (impl_ && !impl_->stopped) {
    impl_->stopped = true;
    impl_->endpoint->shutdown();
  }
}

int SimServer::port() const { return static_cast<uint16_t>(impl_->endpoint->getPort()); }

std::string SimServer::baseUrl() const {
  return "http://" + impl_->host + ":" + std::to_string(port());
}

}  // namespace paymux::simkit
