#include "services/api/request_framing.h"

#include <pistache/http_defs.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "services/common/api_error.h"

namespace paymux::api {
namespace {

// why: the same table Pistache's request-line parser matches, so a method passing here is one
// Pistache knows; everything else is answered by paymux instead of by Pistache in plain text.
constexpr std::string_view kKnownMethods[] = {
#define METHOD(repr, str) str,
    HTTP_METHODS
#undef METHOD
};

ApiError malformed(const std::string& message) {
  return ApiError(400, "invalid_request_error", "request_malformed", message);
}

// RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" /
// "_" / "`" / "|" / "~" / DIGIT / ALPHA. A table, because every header name of every request
// goes through it.
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool isTokenChar(unsigned char c) { return kTokenChars[c]; }

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return isTokenChar(static_cast<unsigned char>(c));
  });
}

bool isControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return asciiLower(x) == asciiLower(y);
         });
}

std::string_view trimOptionalWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void checkRequestLine(std::string_view line) {
  size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) throw malformed("malformed request line");
  std::string_view method = line.substr(0, first_space);
  if (!isToken(method)) throw malformed("malformed request method");
  if (std::find(std::begin(kKnownMethods), std::end(kKnownMethods), method) ==
      std::end(kKnownMethods)) {
    throw ApiError(405, "invalid_request_error", "method_not_allowed",
                   "unknown method (methods are case-sensitive)");
  }
  std::string_view rest = line.substr(first_space + 1);
  size_t second_space = rest.find(' ');
  if (second_space == std::string_view::npos) throw malformed("malformed request line");
  std::string_view target = rest.substr(0, second_space);
  std::string_view version = rest.substr(second_space + 1);
  // why bytes >= 0x80 pass: raw UTF-8 in paths is answered by the router (404), not refused here.
  if (target.empty() || std::any_of(target.begin(), target.end(), [](char c) {
        return isControl(static_cast<unsigned char>(c)) || c == ' ';
      })) {
    throw malformed("malformed request target");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") throw malformed("unsupported HTTP version");
}

void checkHeaderFields(std::string_view fields, int64_t max_body_bytes) {
  bool has_content_length = false;
  std::string_view content_length;
  // One pass over the bytes: every request's headers go through it.
  for (size_t pos = 0; pos < fields.size();) {
    size_t colon = pos;
    while (colon < fields.size() && isTokenChar(static_cast<unsigned char>(fields[colon]))) ++colon;
    // why: also refuses obs-fold, whitespace before the colon and lines without a colon (RFC
    // 9112 5.1 and 5.2), which Pistache would otherwise merge into one odd header name.
    if (colon == pos || colon == fields.size() || fields[colon] != ':') {
      throw malformed("malformed header field name");
    }
    std::string_view name = fields.substr(pos, colon - pos);
    // why only CR, LF and NUL: RFC 9110 5.5 requires refusing them in a value (they end lines or
    // strings); other control characters are left to the route, which names the field.
    size_t end = colon + 1;
    while (end < fields.size() && fields[end] != '\r' && fields[end] != '\n' &&
           fields[end] != '\0') {
      ++end;
    }
    if (end + 1 >= fields.size() || fields[end] != '\r' || fields[end + 1] != '\n') {
      throw malformed(end == fields.size() ? std::string("header line not ended by CRLF")
                                           : "CR, LF or NUL in header field " + std::string(name));
    }
    std::string_view value = trimOptionalWhitespace(fields.substr(colon + 1, end - colon - 1));
    pos = end + 2;
    if (equalsIgnoreCase(name, "transfer-encoding")) {
      throw ApiError(411, "invalid_request_error", "length_required",
                     "Transfer-Encoding is not supported; send Content-Length");
    }
    if (!equalsIgnoreCase(name, "content-length")) continue;
    if (value.empty() ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      throw malformed("Content-Length must be a decimal number");
    }
    if (has_content_length && value != content_length) {
      throw malformed("conflicting Content-Length headers");
    }
    has_content_length = true;
    content_length = value;
  }
  if (!has_content_length) return;
  std::string_view digits =
      content_length.substr(std::min(content_length.find_first_not_of('0'), content_length.size()));
  std::string limit = std::to_string(max_body_bytes);
  if (digits.size() > limit.size() || (digits.size() == limit.size() && digits > limit)) {
    throw ApiError(413, "invalid_request_error", "body_too_large",
                   "request body exceeds " + limit + " bytes");
  }
}

std::vector<HeaderField> splitHeaderFields(std::string_view fields) {
  std::vector<HeaderField> out;
  for (size_t pos = 0; pos < fields.size();) {
    size_t end = std::min(fields.find("\r\n", pos), fields.size());
    std::string_view line = fields.substr(pos, end - pos);
    pos = end + 2;
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      out.push_back({line.substr(0, colon), trimOptionalWhitespace(line.substr(colon + 1))});
    }
  }
  return out;
}

std::string_view headerFieldValue(std::string_view fields, std::string_view name) {
  for (const auto& field : splitHeaderFields(fields)) {
    if (equalsIgnoreCase(field.name, name)) return field.value;
  }
  return {};
}

}  // namespace paymux::api
