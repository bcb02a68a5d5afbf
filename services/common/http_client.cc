#include "services/common/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <strings.h>

namespace paymux::http {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

size_t writeBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

size_t writeHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * nmemb);
  if (line.rfind("HTTP/", 0) == 0) headers->clear();  // why: keep only the final response's headers
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
      value.remove_suffix(1);
    }
    headers->emplace_back(lower(line.substr(0, colon)), std::string(value));
  }
  return size * nmemb;
}

// why: one easy handle per thread lets libcurl keep connections alive between calls without
// sharing a handle across threads (which libcurl forbids).
struct ThreadHandle {
  CURL* curl = nullptr;
  ThreadHandle() { curl = curl_easy_init(); }
  ~ThreadHandle() {
    if (curl) curl_easy_cleanup(curl);
  }
};

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  std::string wanted = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == wanted) return v;
  }
  return "";
}

CurlExecutor::CurlExecutor() { globalInit(); }
CurlExecutor::~CurlExecutor() = default;

HttpResult CurlExecutor::send(const HttpRequestSpec& request, std::chrono::milliseconds timeout) {
  thread_local ThreadHandle handle;
  HttpResult result;
  CURL* curl = handle.curl;
  if (curl == nullptr) {
    result.error = TransportError::kOther;
    result.error_message = "curl_easy_init failed";
    return result;
  }
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : request.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  headers = curl_slist_append(headers, "Expect:");
  // why: Pistache 0.0.5 servers close the connection after each response unless the request
  // asks for keep-alive explicitly, even on HTTP/1.1.
  bool has_connection = false;
  for (const auto& [k, v] : request.headers) has_connection |= strcasecmp(k.c_str(), "connection") == 0;
  if (!has_connection) headers = curl_slist_append(headers, "Connection: keep-alive");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(static_cast<long>(timeout.count()), 5000L));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, writeBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, writeHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.response.headers);

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  double total = 0;
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &total);
  result.latency_ms = static_cast<long>(total * 1000);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.response.status);
    return result;
  }
  long sent = 0;
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sent);
  result.error_message = curl_easy_strerror(code);
  result.response = HttpResponse{};
  if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
    result.error = TransportError::kConnect;
  } else if (sent == 0) {
    // why: nothing reached the provider, so trying elsewhere cannot double-charge.
    result.error = code == CURLE_OPERATION_TIMEDOUT ? TransportError::kTimeoutBeforeSend
                                                    : TransportError::kConnect;
  } else if (code == CURLE_OPERATION_TIMEDOUT || code == CURLE_RECV_ERROR ||
             code == CURLE_GOT_NOTHING || code == CURLE_PARTIAL_FILE) {
    result.error = TransportError::kTimeoutAfterSend;
  } else {
    result.error = TransportError::kOther;
  }
  return result;
}

std::string formEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace paymux::http

namespace paymux::http {

std::string percentDecode(std::string_view value) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '+') {
      out.push_back(' ');
    } else if (value[i] == '%' && i + 2 < value.size() && hex(value[i + 1]) >= 0 &&
               hex(value[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(value[i + 1]) * 16 + hex(value[i + 2])));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

bool isCleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) return false;
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (len == 2 && c < 0xC2) return false;  // overlong
    if (len == 3 && c == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) return false;
    i += len;
  }
  return true;
}

}  // namespace paymux::http
