#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paymux::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// An outbound HTTP request, built by a connector (no I/O of its own).
struct HttpRequestSpec {
  std::string method = "GET";
  std::string url;
  Headers headers;
  std::string body;
};

/// What the peer answered. Header names are lower-cased.
struct HttpResponse {
  long status = 0;
  Headers headers;
  std::string body;
  /// First header with that (case-insensitive) name, or "".
  std::string header(std::string_view name) const;
};

/// Transport-level outcome. kTimeoutAfterSend means the request may have been processed.
enum class TransportError { kNone, kConnect, kTimeoutBeforeSend, kTimeoutAfterSend, kOther };

struct HttpResult {
  TransportError error = TransportError::kNone;
  std::string error_message;  // never contains request headers or bodies
  HttpResponse response;      // valid when error == kNone
  long latency_ms = 0;
  bool ok() const { return error == TransportError::kNone; }
};

/// Does the I/O for connectors; owns timeouts and connection reuse.
class HttpExecutor {
 public:
  virtual ~HttpExecutor() = default;
  virtual HttpResult send(const HttpRequestSpec& request, std::chrono::milliseconds timeout) = 0;
};

/// libcurl executor: one easy handle per calling thread, so keep-alive connections are reused;
/// redirects are never followed.
class CurlExecutor : public HttpExecutor {
 public:
  CurlExecutor();
  ~CurlExecutor() override;
  HttpResult send(const HttpRequestSpec& request, std::chrono::milliseconds timeout) override;
};

/// application/x-www-form-urlencoded escaping of one value (RFC 3986 unreserved kept).
std::string formEncode(std::string_view value);
/// Decodes %XX and '+' (form encoding); malformed escapes are kept as they are.
std::string percentDecode(std::string_view value);
/// Whether `s` is valid UTF-8 without NUL characters.
bool isCleanUtf8(std::string_view s);

}  // namespace paymux::http
