// Target (c): config::loadConfigFromString on arbitrary YAML. Invalid configuration must throw
// config::ConfigError whose message starts "<file>:<line>:<column>: " (config.h); any other
// exception, a crash or UB is a bug.
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "services/common/config.h"
#include "tests/fuzz/targets/fuzz_support.h"

namespace {

bool isPositionPrefixed(std::string_view message, std::string_view file) {
  if (!message.starts_with(file) || message.size() <= file.size() || message[file.size()] != ':') {
    return false;
  }
  size_t pos = file.size() + 1;
  for (int field = 0; field < 2; ++field) {
    size_t digits = 0;
    while (pos < message.size() && std::isdigit(static_cast<unsigned char>(message[pos]))) {
      ++pos;
      ++digits;
    }
    if (digits == 0 || pos >= message.size() || message[pos] != ':') return false;
    ++pos;
  }
  return pos < message.size() && message[pos] == ' ';
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry points
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  paymux::fuzz::quietLogs();
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // why: "${file:/dev/zero}" or "${file:/dev/stdin}" would read forever; reading files the
  // operator names is the feature, not a bug.
  if (text.find("file:") != std::string::npos) return 0;
  try {
    paymux::config::loadConfigFromString(text, "fuzz.yaml");
  } catch (const paymux::config::ConfigError& e) {
    if (!isPositionPrefixed(e.what(), "fuzz.yaml")) {
      paymux::fuzz::violated("ConfigError message does not start with fuzz.yaml:<line>:<column>:");
    }
  }
  return 0;
}
