#include "services/api/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>

#include <thread>

#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/common/pistache_headers.h"

namespace paymux::api {
namespace {

using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool acceptableRequestId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

std::string statusClass(int status) { return std::to_string(status / 100) + "xx"; }

void sendReply(Pistache::Http::ResponseWriter& writer, const ApiReply& reply,
               const std::string& request_id) {
  for (const auto& [k, v] : reply.headers) http::addHeader(writer, k, v);
  http::addHeader(writer, "X-Request-Id", request_id);
  writer.headers().add<Pistache::Http::Header::ContentType>(reply.content_type);
  writer.send(static_cast<Pistache::Http::Code>(reply.status), reply.body);
}

}  // namespace

struct HttpServer::Impl {
  config::ServerConfig config;
  RequestHandler handler;
  std::unique_ptr<Pistache::Http::Endpoint> endpoint;
  WorkerPool workers;
  std::atomic<int> in_flight{0};
  bool stopped = false;

  Impl(const config::ServerConfig& c, RequestHandler h)
      : config(c), handler(std::move(h)), workers(c.workers, c.queue) {}

  void finish(const std::shared_ptr<Pistache::Http::ResponseWriter>& writer, ApiRequest& req,
              ApiReply reply, Clock::time_point started) {
    sendReply(*writer, reply, req.request_id);
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    auto& m = metrics::Registry::global();
    m.counterAdd("paymux_http_requests_total", "HTTP requests by route, method and status class",
                 {{"route", reply.route}, {"method", req.method}, {"status", statusClass(reply.status)}});
    m.observe("paymux_http_request_duration_seconds", "HTTP request latency by route",
              {{"route", reply.route}, {"method", req.method}}, seconds);
    if (reply.route != "/metrics" && reply.route != "/healthz" && reply.route != "/readyz") {
      log::info("request", {{"request_id", req.request_id},
                            {"method", req.method},
                            {"route", reply.route},
                            {"status", std::to_string(reply.status)},
                            {"duration_ms", std::to_string(static_cast<long>(seconds * 1000))}});
    }
    in_flight.fetch_sub(1);
  }
};

namespace {

class Handler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)
  explicit Handler(HttpServer::Impl* impl) : impl_(impl) {}

  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override {
    auto started = Clock::now();
    impl_->in_flight.fetch_add(1);
    auto req = std::make_shared<ApiRequest>();
    req->method = Pistache::Http::methodString(request.method());
    req->path = request.resource();
    for (auto it = request.query().parameters_begin(); it != request.query().parameters_end();
         ++it) {
      // why: Pistache 0.0.5 hands query values over still percent-encoded.
      req->query[http::percentDecode(it->first)] = http::percentDecode(it->second);
    }
    req->headers = http::allHeaders(request);
    req->body = request.body();
    std::string incoming = req->header("x-request-id");
    req->request_id = acceptableRequestId(incoming) ? incoming : crypto::randomId("req", 20);
    auto shared_writer = std::make_shared<Pistache::Http::ResponseWriter>(std::move(writer));

    if (static_cast<int64_t>(req->body.size()) > impl_->config.max_body_bytes) {
      ApiReply reply{413,
                     errorBody(ApiError(413, "invalid_request_error", "body_too_large",
                                        "request body exceeds " +
                                            std::to_string(impl_->config.max_body_bytes) + " bytes"))};
      impl_->finish(shared_writer, *req, std::move(reply), started);
      return;
    }
    Impl* impl = impl_;
    bool queued = impl_->workers.submit([impl, req, shared_writer, started] {
      ApiReply reply;
      try {
        reply = impl->handler(*req);
      } catch (const std::exception& e) {
        log::error("unhandled error", {{"request_id", req->request_id}, {"error", e.what()}});
        reply = ApiReply{500, errorBody(ApiError(500, "api_error", "internal",
                                                 "internal error; request id " + req->request_id))};
      }
      impl->finish(shared_writer, *req, std::move(reply), started);
    });
    if (!queued) {
      ApiReply reply{503, errorBody(ApiError::unavailable("server is overloaded; retry"))};
      reply.headers.emplace_back("Retry-After", "1");
      impl_->finish(shared_writer, *req, std::move(reply), started);
    }
  }

 private:
  using Impl = HttpServer::Impl;
  HttpServer::Impl* impl_;
};

}  // namespace

std::string ApiRequest::header(std::string_view name) const {
  std::string wanted = lower(std::string(name));
  for (const auto& [k, v] : headers) {
    if (k == wanted) return v;
  }
  return "";
}

HttpServer::HttpServer(const config::ServerConfig& config, RequestHandler handler)
    : impl_(std::make_unique<Impl>(config, std::move(handler))) {}

HttpServer::~HttpServer() {
  if (impl_ && !impl_->stopped && impl_->endpoint) {
    impl_->endpoint->shutdown();
  }
  impl_->workers.stop();
}

void HttpServer::start() {
  const auto& listen = impl_->config.listen;
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  int port = std::stoi(listen.substr(colon + 1));
  Pistache::Address addr(host, Pistache::Port(static_cast<uint16_t>(port)));
  impl_->endpoint = std::make_unique<Pistache::Http::Endpoint>(addr);
  // why: Pistache answers over-limit bodies itself with plain text; give it headroom so bodies
  // just over our limit get our JSON 413.
  size_t pistache_max = static_cast<size_t>(std::max<int64_t>(impl_->config.max_body_bytes * 4,
                                                              1 << 20)) + 65536;
  auto opts = Pistache::Http::Endpoint::options()
                  .threads(impl_->config.threads)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  .maxRequestSize(pistache_max)
                  .maxResponseSize(16 * 1024 * 1024)
                  .headerTimeout(std::chrono::milliseconds(impl_->config.header_timeout_ms))
                  .bodyTimeout(std::chrono::milliseconds(impl_->config.body_timeout_ms));
  impl_->endpoint->init(opts);
  impl_->endpoint->setHandler(std::make_shared<Handler>(impl_.get()));
  impl_->endpoint->serveThreaded();
}

int HttpServer::port() const { return static_cast<uint16_t>(impl_->endpoint->getPort()); }

bool HttpServer::drain(std::chrono::milliseconds grace) {
  draining_ = true;
  auto deadline = Clock::now() + grace;
  while (impl_->in_flight.load() > 0 && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  bool clean = impl_->in_flight.load() == 0;
  // why: give the reactor a moment to flush the last responses it was handed.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  impl_->endpoint->shutdown();
  impl_->stopped = true;
  impl_->workers.stop();
  return clean;
}

}  // namespace paymux::api
