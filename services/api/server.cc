#include "services/api/server.h"

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/peer.h>
#include <sys/socket.h>

#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "services/api/request_framing.h"
#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/listen_backlog.h"
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

Pistache::Async::Promise<ssize_t> sendReply(Pistache::Http::ResponseWriter& writer,
                                            const ApiReply& reply, const std::string& request_id) {
  for (const auto& [k, v] : reply.headers) http::addHeader(writer, k, v);
  http::addHeader(writer, "X-Request-Id", request_id);
  writer.headers().add<Pistache::Http::Header::ContentType>(reply.content_type);
  return writer.send(static_cast<Pistache::Http::Code>(reply.status), reply.body);
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

using Pistache::Http::Private::State;
using Pistache::Http::Private::StepId;

ApiError headTooLarge() {
  return ApiError(
      431, "invalid_request_error", "headers_too_large",
      "request line and headers exceed " + std::to_string(kMaxRequestHeadBytes) + " bytes");
}

/// The error for a header block that passed checkHeaderFields but that Pistache could not parse:
/// finds the first field Pistache's own parser for it refuses (only on this error path).
ApiError unparseableField(std::string_view fields) {
  for (const auto& [name_view, value] : splitHeaderFields(fields)) {
    std::string name(name_view);
    try {
      if (Pistache::Http::Header::LowercaseEqualStatic(name, "cookie")) {
        Pistache::Http::CookieJar().addFromRaw(value.data(), value.size());
      } else if (Pistache::Http::Header::Registry::instance().isRegistered(name)) {
        Pistache::Http::Header::Registry::instance().makeHeader(name)->parseRaw(value.data(),
                                                                                value.size());
      }
    } catch (const std::exception&) {
      if (Pistache::Http::Header::LowercaseEqualStatic(name, "content-type")) {
        return ApiError(415, "invalid_request_error", "content_type_unsupported",
                        "Content-Type must be application/json");
      }
      // why the name may be echoed: checkHeaderFields let only tokens through.
      return ApiError(400, "invalid_request_error", "request_malformed",
                      "malformed " + name + " header");
    }
  }
  return ApiError(400, "invalid_request_error", "request_malformed", "malformed header field");
}

/// Pistache's request-line step, run only once the whole line is buffered and has passed
/// checkRequestLine.
class CheckedRequestLineStep final : public Pistache::Http::Private::Step {
 public:
  explicit CheckedRequestLineStep(Pistache::Http::Request* request)
      : Step(request), pistache_(request) {}
  StepId id() const override { return Pistache::Http::Private::RequestLineStep::Id; }

  State apply(Pistache::StreamCursor& cursor) override {
    // why from the cursor: Pistache's steps rewind it to the start of their part until that part
    // is complete, so the pending bytes always begin with the request line.
    std::string_view pending(cursor.offset(), cursor.remaining());
    size_t end = pending.find("\r\n", scanned_);
    if (end == std::string_view::npos) {
      if (pending.size() > kMaxRequestHeadBytes) throw headTooLarge();
      // why: search only the new bytes next time (a CR at the end may begin the CRLF).
      scanned_ = pending.empty() ? 0 : pending.size() - 1;
      return State::Again;
    }
    checkRequestLine(pending.substr(0, end));
    line_bytes_ = end + 2;
    return pistache_.apply(cursor);
  }

  size_t lineBytes() const { return line_bytes_; }
  void restart() { scanned_ = line_bytes_ = 0; }

 private:
  Pistache::Http::Private::RequestLineStep pistache_;
  size_t scanned_ = 0;
  size_t line_bytes_ = 0;
};

/// Pistache's header step, run only once the whole header block is buffered and has passed
/// checkHeaderFields. So the body step that follows always has a checked Content-Length (at most
/// max_body_bytes) or no body at all: Pistache never reserves or reads more than the limit.
class CheckedHeadersStep final : public Pistache::Http::Private::Step {
 public:
  CheckedHeadersStep(Pistache::Http::Request* request, const CheckedRequestLineStep* line,
                     int64_t max_body_bytes)
      : Step(request), pistache_(request), line_(line), max_body_bytes_(max_body_bytes) {}
  StepId id() const override { return Pistache::Http::Private::HeadersStep::Id; }

  State apply(Pistache::StreamCursor& cursor) override {
    std::string_view pending(cursor.offset(), cursor.remaining());
    size_t fields_bytes = 0;  // the header lines with their CRLFs; the empty line follows
    if (pending.substr(0, 2) != "\r\n") {
      size_t blank = pending.find("\r\n\r\n", scanned_);
      if (blank == std::string_view::npos) {
        if (line_->lineBytes() + pending.size() > kMaxRequestHeadBytes) throw headTooLarge();
        scanned_ = pending.size() < 3 ? 0 : pending.size() - 3;
        return State::Again;
      }
      fields_bytes = blank + 2;
    }
    if (line_->lineBytes() + fields_bytes + 2 > kMaxRequestHeadBytes) throw headTooLarge();
    std::string_view fields = pending.substr(0, fields_bytes);
    try {
      checkHeaderFields(fields, max_body_bytes_);
    } catch (const ApiError&) {
      // why: Pistache never parses a refused head, so the client's id is taken from it here.
      refused_request_id_ = std::string(headerFieldValue(fields, "X-Request-Id"));
      throw;
    }
    try {
      return pistache_.apply(cursor);
    } catch (const std::exception&) {
      // why: Pistache's typed header parsers (Content-Type, Accept, Date, Host, Cookie, ...)
      // throw without saying which field failed; the answer names it.
      throw unparseableField(fields);
    }
  }

  /// The X-Request-Id of a head checkHeaderFields refused ("" if none).
  const std::string& refusedRequestId() const { return refused_request_id_; }
  void restart() {
    scanned_ = 0;
    refused_request_id_.clear();
  }

 private:
  Pistache::Http::Private::HeadersStep pistache_;
  const CheckedRequestLineStep* line_;
  int64_t max_body_bytes_;
  size_t scanned_ = 0;
  std::string refused_request_id_;
};

/// One connection's parser: Pistache's, with the checked steps in front of its own, and what
/// paymux remembers about the connection once it refused a request on it.
class CheckedRequestParser final : public Pistache::Http::RequestParser {
 public:
  explicit CheckedRequestParser(int64_t max_body_bytes)
      // why the extra reads: a request may end inside a read that also holds the next bytes.
      : Pistache::Http::RequestParser(kMaxRequestHeadBytes + static_cast<size_t>(max_body_bytes) +
                                      2 * Pistache::Const::MaxBuffer) {
    auto line = std::make_unique<CheckedRequestLineStep>(&request);
    auto headers = std::make_unique<CheckedHeadersStep>(&request, line.get(), max_body_bytes);
    line_ = line.get();
    headers_ = headers.get();
    allSteps[0] = std::move(line);
    allSteps[1] = std::move(headers);
  }

  void reset() override {
    Pistache::Http::RequestParser::reset();
    line_->restart();
    headers_->restart();
  }

  /// The request id the client sent with its head, as far as it was read.
  std::string clientRequestId() const {
    if (!headers_->refusedRequestId().empty()) return headers_->refusedRequestId();
    auto parsed = request.headers().tryGetRaw("X-Request-Id");
    return parsed ? parsed->value() : "";
  }

  /// Set when a request on this connection was refused: every later byte is dropped unparsed.
  std::optional<Clock::time_point> refused_at;
  size_t discarded_bytes = 0;

 private:
  CheckedRequestLineStep* line_;
  CheckedHeadersStep* headers_;
};

// After a refusal the connection lingers, half-closed, reading and dropping what the client
// still sends, so a client busy uploading a refused body reads our answer instead of a reset.
// Past either bound the read side is shut down too and Pistache closes the connection.
constexpr size_t kLingerMaxBytes = 4 << 20;
constexpr auto kLingerMaxTime = std::chrono::seconds(2);

class Handler : public Pistache::Http::Handler {
 public:
  HTTP_PROTOTYPE(Handler)
  explicit Handler(HttpServer::Impl* impl) : impl_(impl) {}

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    // why through RequestParser: Pistache casts this entry back to RequestParser.
    std::shared_ptr<Pistache::Http::RequestParser> parser =
        std::make_shared<CheckedRequestParser>(impl_->config.max_body_bytes);
    peer->putData(ParserData, std::move(parser));
  }

  /// Replaces Pistache's Handler::onInput, which answers parse errors itself (plain text, no
  /// request id) and then keeps parsing the connection where the refused request left off.
  void onInput(const char* bytes, size_t size,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override {
    auto parser = std::static_pointer_cast<CheckedRequestParser>(getParser(peer));
    if (parser->refused_at) {
      lingerAfterRefusal(*parser, size, peer);
      return;
    }
    State state = State::Again;
    try {
      if (!parser->feed(bytes, size)) throw bodyTooLarge();
      state = parser->parse();
    } catch (const ApiError& e) {
      refuse(peer, *parser, e);
      return;
    } catch (const std::exception&) {
      // why: the checked steps turn every error of Pistache's parser into an ApiError; this is
      // the last line should one still escape.
      refuse(peer, *parser,
             ApiError(400, "invalid_request_error", "request_malformed", "malformed request"));
      return;
    }
    if (state != State::Done) return;
    try {
      dispatch(peer, *parser);
    } catch (const std::exception& e) {
      log::error("request dispatch failed", {{"error", e.what()}});
      refuse(peer, *parser, ApiError(500, "api_error", "internal", "internal error"));
    }
  }

  /// Unused: onInput hands parsed requests to serve() directly (moving their body out).
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter writer) override {
    Pistache::Http::Request copy = request;
    serve(copy, std::move(writer));
  }

 private:
  using Impl = HttpServer::Impl;

  ApiError bodyTooLarge() const {
    return ApiError(
        413, "invalid_request_error", "body_too_large",
        "request body exceeds " + std::to_string(impl_->config.max_body_bytes) + " bytes");
  }

  /// What Pistache's onInput does with a complete request, except that the body is moved out.
  void dispatch(const std::shared_ptr<Pistache::Tcp::Peer>& peer, CheckedRequestParser& parser) {
    auto& request = parser.request;
    Pistache::Http::ResponseWriter writer(request.version(), transport(), this, peer);
    request.copyAddress(peer->address());
    auto connection = request.headers().tryGet<Pistache::Http::Header::Connection>();
    writer.headers().add<Pistache::Http::Header::Connection>(
        connection ? connection->control() : Pistache::Http::ConnectionControl::Close);
    peer->setIdle(false);
    serve(request, std::move(writer));
    parser.reset();
  }

  void serve(Pistache::Http::Request& request, Pistache::Http::ResponseWriter writer) {
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
    // why const_cast: Pistache gives the body only by const reference or by copy; this request
    // is the parser's own (not const) and is reset right after, so its body is moved, not copied.
    req->body = std::move(const_cast<std::string&>(std::as_const(request).body()));
    std::string incoming = req->header("x-request-id");
    req->request_id = acceptableRequestId(incoming) ? incoming : crypto::randomId("req", 20);
    auto shared_writer = std::make_shared<Pistache::Http::ResponseWriter>(std::move(writer));

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

  /// Answers `error` as JSON, then closes the connection: nothing after a refused request is
  /// ever parsed, because where that request ended is unknown or untrusted.
  void refuse(const std::shared_ptr<Pistache::Tcp::Peer>& peer, CheckedRequestParser& parser,
              const ApiError& error) {
    parser.refused_at = Clock::now();
    std::string request_id = parser.clientRequestId();
    if (!acceptableRequestId(request_id)) request_id = crypto::randomId("req", 20);
    parser.reset();  // why: frees the buffered bytes; refused_at stays
    metrics::Registry::global().counterAdd(
        "paymux_http_requests_total", "HTTP requests by route, method and status class",
        {{"route", "unmatched"}, {"method", "unparsed"}, {"status", statusClass(error.status)}});
    log::info("request refused", {{"request_id", request_id},
                                  {"status", std::to_string(error.status)},
                                  {"code", error.code}});

    Pistache::Http::ResponseWriter writer(Pistache::Http::Version::Http11, transport(), this, peer);
    writer.headers().add<Pistache::Http::Header::Connection>(
        Pistache::Http::ConnectionControl::Close);
    ApiReply reply{error.status, errorBody(error)};
    std::weak_ptr<Pistache::Tcp::Peer> weak_peer = peer;
    sendReply(writer, reply, request_id)
        .then(
            [weak_peer](ssize_t) {
              // why here: runs on the reactor thread once the answer is on the wire, so the
              // FIN follows it; a peer already gone is not touched (its fd may be reused).
              if (auto live = weak_peer.lock()) ::shutdown(live->fd(), SHUT_WR);
            },
            Pistache::Async::IgnoreException);
  }

  static void lingerAfterRefusal(CheckedRequestParser& parser, size_t size,
                                 const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
    parser.discarded_bytes += size;
    if (parser.discarded_bytes > kLingerMaxBytes ||
        Clock::now() - *parser.refused_at > kLingerMaxTime) {
      // why SHUT_RD: Pistache's next read then sees end of stream and closes the connection.
      ::shutdown(peer->fd(), SHUT_RD);
    }
  }

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
  auto opts = Pistache::Http::Endpoint::options()
                  .threads(impl_->config.threads)
                  .flags(Pistache::Tcp::Options::ReuseAddr)
                  // no maxRequestSize: CheckedRequestParser sizes its own buffer
                  .maxResponseSize(16 * 1024 * 1024)
                  .headerTimeout(std::chrono::milliseconds(impl_->config.header_timeout_ms))
                  .bodyTimeout(std::chrono::milliseconds(impl_->config.body_timeout_ms));
  impl_->endpoint->init(opts);
  impl_->endpoint->setHandler(std::make_shared<Handler>(impl_.get()));
  impl_->endpoint->serveThreaded();
  net::widenListenBacklog(static_cast<uint16_t>(impl_->endpoint->getPort()));
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
