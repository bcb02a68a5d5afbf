// Target (d): currency.h. The first input byte picks an exponent (-1..19, so both invalid ends
// are covered), the rest is the text. Checks: parseMinorUnits/formatMinorUnits round trip in
// both directions (text -> minor -> text -> minor, and any int64 -> text -> minor), rejection of
// out-of-range exponents, and findCurrency's exact, upper-case-only lookup.
#include <cctype>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "services/common/currency.h"
#include "tests/fuzz/targets/fuzz_support.h"

namespace {

using paymux::fuzz::violated;

void checkInt64RoundTrip(int64_t value, int exponent) {
  std::string text = paymux::formatMinorUnits(value, exponent);
  if (exponent < 0 || exponent > paymux::kMaxExponent) {
    if (!text.empty()) violated("formatMinorUnits accepted an out-of-range exponent");
    return;
  }
  auto back = paymux::parseMinorUnits(text, exponent);
  if (!back || *back != value) violated("int64 -> text -> minor round trip changed the value");
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int exponent = static_cast<int>(data[0] % 21) - 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  auto minor = paymux::parseMinorUnits(text, exponent);
  if (minor) {
    if (exponent < 0 || exponent > paymux::kMaxExponent) violated("parsed with a bad exponent");
    std::string formatted = paymux::formatMinorUnits(*minor, exponent);
    auto again = paymux::parseMinorUnits(formatted, exponent);
    if (!again || *again != *minor) violated("text -> minor -> text -> minor changed the value");
    if (formatted.size() > text.size() + static_cast<size_t>(exponent) + 2) {
      violated("formatted text is longer than the input could explain");
    }
  }
  // Any 8 bytes are an amount too.
  if (text.size() >= sizeof(int64_t)) {
    int64_t value = 0;
    std::memcpy(&value, text.data(), sizeof value);
    checkInt64RoundTrip(value, exponent);
  }

  auto currency = paymux::findCurrency(text);
  if (currency) {
    if (currency->code != text) violated("findCurrency matched another code");
    if (currency->exponent < 0 || currency->exponent > 4) violated("implausible exponent");
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (paymux::findCurrency(lower)) violated("findCurrency accepted a lower-case code");
  }
  return 0;
}
