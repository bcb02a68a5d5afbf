#include "services/api/request_framing.h"

#include <gtest/gtest.h>

#include <string>

#include "services/common/api_error.h"

namespace paymux::api {
namespace {

constexpr int64_t kLimit = 65536;

/// The status and code a check refused with, or "accepted".
template <typename Check>
std::string outcome(Check check) {
  try {
    check();
    return "accepted";
  } catch (const ApiError& e) {
    return std::to_string(e.status) + " " + e.code;
  }
}

std::string line(std::string_view l) {
  return outcome([&] { checkRequestLine(l); });
}
std::string fields(std::string_view f, int64_t limit = kLimit) {
  return outcome([&] { checkHeaderFields(f, limit); });
}

TEST(RequestLine, AcceptsWellFormedLines) {
  EXPECT_EQ(line("GET /healthz HTTP/1.1"), "accepted");
  EXPECT_EQ(line("POST /v1/collections?x=1&y HTTP/1.0"), "accepted");
  EXPECT_EQ(line("OPTIONS * HTTP/1.1"), "accepted");
  EXPECT_EQ(line("GET /v1/\xff\xfe HTTP/1.1"), "accepted") << "raw UTF-8 paths reach the router";
}

TEST(RequestLine, UnknownMethodsAre405) {
  EXPECT_EQ(line("FOO /healthz HTTP/1.1"), "405 method_not_allowed");
  EXPECT_EQ(line("get /v1/collections HTTP/1.1"), "405 method_not_allowed");
  EXPECT_EQ(line("PRI * HTTP/2.0"), "405 method_not_allowed");
}

TEST(RequestLine, MalformedLinesAre400) {
  for (const char* bad : {
           "",
           "GET",
           "GET /",
           "GET  / HTTP/1.1",          // empty target
           "GET / HTTP/1.1 ",          // a third space
           "GET / x HTTP/1.1",         // space in the target
           "GET /a\tb HTTP/1.1",       // control character in the target
           "GET /a\rb HTTP/1.1",       // bare CR
           "GET /a\nGET /b HTTP/1.1",  // bare LF
           "GET / HTTP/1",             // Pistache accepts any prefix of HTTP/1.x
           "GET / HTTP/2.0",
           "GET / http/1.1",
           "G(T / HTTP/1.1",  // not a token
           " GET / HTTP/1.1",
       }) {
    EXPECT_EQ(line(bad), "400 request_malformed") << '"' << bad << '"';
  }
}

TEST(HeaderFields, AcceptsWellFormedFields) {
  EXPECT_EQ(fields(""), "accepted");
  EXPECT_EQ(fields("Host: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"),
            "accepted");
  EXPECT_EQ(fields("X-Empty:\r\nX-Tab:\tv\t\r\nX-Obs-Text: \xc3\xa9\xff\r\n"), "accepted");
  EXPECT_EQ(fields("Idempotency-Key: a\x7f\x01\r\n"), "accepted")
      << "other control characters are the route's to refuse, naming the field";
  EXPECT_EQ(fields("Content-Length: 5\r\ncontent-length: 5\r\n"), "accepted")
      << "repeated identical values are one length (RFC 9112 6.3)";
  EXPECT_EQ(fields("Content-Length: 65536\r\n"), "accepted") << "exactly the limit";
  EXPECT_EQ(fields("Content-Length:  00012 \r\n"), "accepted");
}

TEST(HeaderFields, MalformedNamesAndValuesAre400) {
  using namespace std::string_literals;
  for (const std::string& bad : {
           "Host x\r\n"s,                     // no colon: Pistache reads on to the next ':'
           ": x\r\n"s,                        // empty name
           "Content-Length : 5\r\n"s,         // whitespace before the colon
           "Host: x\r\n folded\r\n"s,         // obs-fold
           "X-A\r\nB: c\r\n"s,                // a line without a colon before a real one
           "X-A: b\nContent-Length: 5\r\n"s,  // bare LF inside a field
           "X-A: b\rc\r\n"s,                  // bare CR
           "X-A: b\0c\r\n"s,                  // NUL
           "X-A: b"s,                         // not ended by CRLF
           "X(A): b\r\n"s,                    // not a token
       }) {
    EXPECT_EQ(fields(bad), "400 request_malformed") << '"' << bad << '"';
  }
}

TEST(HeaderFields, ContentLengthMustBeOneDecimalNumber) {
  for (const char* bad : {
           "Content-Length: abc\r\n",
           "Content-Length: \r\n",
           "Content-Length: -1\r\n",
           "Content-Length: +5\r\n",
           "Content-Length: 0x10\r\n",
           "Content-Length: 5 5\r\n",
           "Content-Length: 5, 5\r\n",
           "Content-Length: 12abc\r\n",
           "Content-Length: 5\r\nContent-Length: 6\r\n",
           "Content-Length: 5\r\nContent-Length: 05\r\n",
       }) {
    EXPECT_EQ(fields(bad), "400 request_malformed") << '"' << bad << '"';
  }
}

TEST(HeaderFields, ContentLengthOverTheLimitIs413BeforeAnyBodyIsRead) {
  EXPECT_EQ(fields("Content-Length: 65537\r\n"), "413 body_too_large");
  EXPECT_EQ(fields("Content-Length: 99999999999999999999999999\r\n"), "413 body_too_large")
      << "no overflow: compared as digits";
  EXPECT_EQ(fields("Content-Length: 18446744073709551617\r\n"), "413 body_too_large");
  EXPECT_EQ(fields("Content-Length: 0000000000000000000000001\r\n", 1), "accepted");
}

TEST(HeaderFields, TransferEncodingIs411) {
  EXPECT_EQ(fields("Transfer-Encoding: chunked\r\n"), "411 length_required");
  EXPECT_EQ(fields("transfer-encoding: gzip, chunked\r\n"), "411 length_required");
  EXPECT_EQ(fields("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"), "411 length_required");
}

TEST(HeaderFields, FieldValueIsFoundInAnyFieldBlock) {
  EXPECT_EQ(headerFieldValue("Host: x\r\nx-request-ID:  abc \r\n", "X-Request-Id"), "abc");
  EXPECT_EQ(
      headerFieldValue("Bad line\r\nX-Request-Id: abc\r\nTransfer-Encoding: x", "X-Request-Id"),
      "abc");
  EXPECT_EQ(headerFieldValue("X-Request-Idx: abc\r\n", "X-Request-Id"), "");
  EXPECT_EQ(headerFieldValue("", "X-Request-Id"), "");
}

}  // namespace
}  // namespace paymux::api
