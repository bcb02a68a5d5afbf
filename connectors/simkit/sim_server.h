#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "services/common/http_client.h"

namespace paymux::simkit {

struct SimRequest {
  std::string method;
  std::string path;    // without query
  std::string query;   // raw, without '?'
  http::Headers headers;  // lower-case names
  std::string body;
  std::string header(std::string_view name) const;
};

struct SimResponse {
  SimResponse(int status_ = 200, std::string body_ = "") : status(status_), body(std::move(body_)) {}
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  http::Headers headers;
  /// Sent after this delay (provider latency); a very long delay simulates a provider that
  /// never answers in time. The server thread never sleeps: a timer queue sends it later.
  std::chrono::milliseconds delay{0};
};

using SimHandler = std::function<SimResponse(const SimRequest&)>;

/// A small HTTP server for provider simulators, on 127.0.0.1 (port 0 = ephemeral).
class SimServer {
 public:
  SimServer(const std::string& host, int port, SimHandler handler, int threads = 2);
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;
  int port() const;
  std::string baseUrl() const;
  void shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace paymux::simkit
