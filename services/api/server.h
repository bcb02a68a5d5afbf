#pragma once
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "services/api/http_types.h"
#include "services/api/worker_pool.h"
#include "services/common/config.h"

namespace paymux::api {

using RequestHandler = std::function<ApiReply(const ApiRequest&)>;

/// Pistache HTTP front: request ids, body limit, JSON access logs, metrics, and a bounded worker
/// pool so handlers never block the reactor threads.
class HttpServer {
 public:
  HttpServer(const config::ServerConfig& config, RequestHandler handler);
  ~HttpServer();
  void start();
  int port() const;
  bool draining() const { return draining_; }
  /// Marks the server draining (/readyz turns 503), waits until in-flight requests finish or
  /// `grace` passes, then stops the listener. Returns true when nothing was cut off.
  bool drain(std::chrono::milliseconds grace);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> draining_{false};
};

}  // namespace paymux::api
