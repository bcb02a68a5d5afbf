#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace paymux::api {

/// The request line and the header block together may not exceed this (431 headers_too_large).
/// Room for a 64 KiB header plus a thousand small ones; nothing paymux serves needs more.
inline constexpr size_t kMaxRequestHeadBytes = 128 * 1024;

/// Strict RFC 9112 checks on a request's head, run before Pistache 0.0.5 parses it. Pistache's
/// own parser is lenient where leniency desynchronises a connection: it reads a header name up
/// to the next ':' even across lines, ignores an unparseable Content-Length (the body is then
/// read as the next request), and decodes chunked bodies loosely. Each check throws ApiError
/// with the status and code to answer; the caller then closes the connection, because after a
/// refused head nobody can know where the next request would start.

/// `line`: the request line without its CRLF. Unknown methods are 405 method_not_allowed;
/// anything else that is not `method SP request-target SP HTTP/1.x` is 400 request_malformed.
void checkRequestLine(std::string_view line);

/// `fields`: the header lines, each ending in CRLF, without the empty line that ends the head.
/// Refuses malformed names, CR, LF or NUL in values (400 request_malformed), a Content-Length that
/// is not one decimal number or that disagrees with another (400), one over `max_body_bytes` (413
/// body_too_large), and Transfer-Encoding (411 length_required: paymux needs Content-Length,
/// so a body's end is never decided by Pistache's chunked decoder).
void checkHeaderFields(std::string_view fields, int64_t max_body_bytes);

struct HeaderField {
  std::string_view name;
  std::string_view value;  // without the whitespace around it
};

/// The `name: value` lines of `fields` (lines without a colon are skipped), as Pistache reads
/// them; for error paths, after checkHeaderFields or in place of it.
std::vector<HeaderField> splitHeaderFields(std::string_view fields);

/// The value of the first field called `name` (case-insensitive) in `fields`, trimmed; empty when
/// there is none. Reads fields checkHeaderFields refused too (to echo a request id).
std::string_view headerFieldValue(std::string_view fields, std::string_view name);

}  // namespace paymux::api
