// Helpers shared by the libFuzzer targets (tests/fuzz/README.md).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "services/common/log.h"

namespace paymux::fuzz {

/// The clock every webhook target verifies against; seeds sign with t=1700000000.
inline constexpr int64_t kNow = 1700000000;

/// Webhook inputs are "<signature header value>\n<raw body>"; no newline = header only.
struct HeaderAndBody {
  std::string header;
  std::string body;
};

inline HeaderAndBody splitHeader(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return {std::string(in), ""};
  return {std::string(in.substr(0, nl)), std::string(in.substr(nl + 1))};
}

/// A broken invariant: print it and abort, so libFuzzer saves the input as a crash.
[[noreturn]] inline void violated(const char* what) {
  std::fprintf(stderr, "paymux fuzz invariant violated: %s\n", what);
  std::abort();
}

/// Connectors log warnings for odd provider data; keep fuzzing output readable and fast.
inline void quietLogs() { log::setLevel(log::Level::kError); }

}  // namespace paymux::fuzz
