#include "services/common/currency.h"

#include <algorithm>
#include <array>
#include <limits>

namespace paymux {
namespace {

// ISO 4217 List One, published 2026-01-01 (SIX, on behalf of ISO), sorted by code for binary
// search. Codes whose minor unit is "N.A." are left out on purpose (see currency.h).
// why: numeric codes are written without leading zeros; "008" would be an octal literal.
constexpr CurrencyInfo kCurrencies[] = {
    {"AED", 784, 2}, {"AFN", 971, 2}, {"ALL", 8, 2},   {"AMD", 51, 2},  {"AOA", 973, 2},
    {"ARS", 32, 2},  {"AUD", 36, 2},  {"AWG", 533, 2}, {"AZN", 944, 2}, {"BAM", 977, 2},
    {"BBD", 52, 2},  {"BDT", 50, 2},  {"BHD", 48, 3},  {"BIF", 108, 0}, {"BMD", 60, 2},
    {"BND", 96, 2},  {"BOB", 68, 2},  {"BOV", 984, 2}, {"BRL", 986, 2}, {"BSD", 44, 2},
    {"BTN", 64, 2},  {"BWP", 72, 2},  {"BYN", 933, 2}, {"BZD", 84, 2},  {"CAD", 124, 2},
    {"CDF", 976, 2}, {"CHE", 947, 2}, {"CHF", 756, 2}, {"CHW", 948, 2}, {"CLF", 990, 4},
    {"CLP", 152, 0}, {"CNY", 156, 2}, {"COP", 170, 2}, {"COU", 970, 2}, {"CRC", 188, 2},
    {"CUP", 192, 2}, {"CVE", 132, 2}, {"CZK", 203, 2}, {"DJF", 262, 0}, {"DKK", 208, 2},
    {"DOP", 214, 2}, {"DZD", 12, 2},  {"EGP", 818, 2}, {"ERN", 232, 2}, {"ETB", 230, 2},
    {"EUR", 978, 2}, {"FJD", 242, 2}, {"FKP", 238, 2}, {"GBP", 826, 2}, {"GEL", 981, 2},
    {"GHS", 936, 2}, {"GIP", 292, 2}, {"GMD", 270, 2}, {"GNF", 324, 0}, {"GTQ", 320, 2},
    {"GYD", 328, 2}, {"HKD", 344, 2}, {"HNL", 340, 2}, {"HTG", 332, 2}, {"HUF", 348, 2},
    {"IDR", 360, 2}, {"ILS", 376, 2}, {"INR", 356, 2}, {"IQD", 368, 3}, {"IRR", 364, 2},
    {"ISK", 352, 0}, {"JMD", 388, 2}, {"JOD", 400, 3}, {"JPY", 392, 0}, {"KES", 404, 2},
    {"KGS", 417, 2}, {"KHR", 116, 2}, {"KMF", 174, 0}, {"KPW", 408, 2}, {"KRW", 410, 0},
    {"KWD", 414, 3}, {"KYD", 136, 2}, {"KZT", 398, 2}, {"LAK", 418, 2}, {"LBP", 422, 2},
    {"LKR", 144, 2}, {"LRD", 430, 2}, {"LSL", 426, 2}, {"LYD", 434, 3}, {"MAD", 504, 2},
    {"MDL", 498, 2}, {"MGA", 969, 2}, {"MKD", 807, 2}, {"MMK", 104, 2}, {"MNT", 496, 2},
    {"MOP", 446, 2}, {"MRU", 929, 2}, {"MUR", 480, 2}, {"MVR", 462, 2}, {"MWK", 454, 2},
    {"MXN", 484, 2}, {"MXV", 979, 2}, {"MYR", 458, 2}, {"MZN", 943, 2}, {"NAD", 516, 2},
    {"NGN", 566, 2}, {"NIO", 558, 2}, {"NOK", 578, 2}, {"NPR", 524, 2}, {"NZD", 554, 2},
    {"OMR", 512, 3}, {"PAB", 590, 2}, {"PEN", 604, 2}, {"PGK", 598, 2}, {"PHP", 608, 2},
    {"PKR", 586, 2}, {"PLN", 985, 2}, {"PYG", 600, 0}, {"QAR", 634, 2}, {"RON", 946, 2},
    {"RSD", 941, 2}, {"RUB", 643, 2}, {"RWF", 646, 0}, {"SAR", 682, 2}, {"SBD", 90, 2},
    {"SCR", 690, 2}, {"SDG", 938, 2}, {"SEK", 752, 2}, {"SGD", 702, 2}, {"SHP", 654, 2},
    {"SLE", 925, 2}, {"SOS", 706, 2}, {"SRD", 968, 2}, {"SSP", 728, 2}, {"STN", 930, 2},
    {"SVC", 222, 2}, {"SYP", 760, 2}, {"SZL", 748, 2}, {"THB", 764, 2}, {"TJS", 972, 2},
    {"TMT", 934, 2}, {"TND", 788, 3}, {"TOP", 776, 2}, {"TRY", 949, 2}, {"TTD", 780, 2},
    {"TWD", 901, 2}, {"TZS", 834, 2}, {"UAH", 980, 2}, {"UGX", 800, 0}, {"USD", 840, 2},
    {"USN", 997, 2}, {"UYI", 940, 0}, {"UYU", 858, 2}, {"UYW", 927, 4}, {"UZS", 860, 2},
    {"VED", 926, 2}, {"VES", 928, 2}, {"VND", 704, 0}, {"VUV", 548, 0}, {"WST", 882, 2},
    {"XAD", 396, 2}, {"XAF", 950, 0}, {"XCD", 951, 2}, {"XCG", 532, 2}, {"XOF", 952, 0},
    {"XPF", 953, 0}, {"YER", 886, 2}, {"ZAR", 710, 2}, {"ZMW", 967, 2}, {"ZWG", 924, 2},
};

constexpr bool isSortedUnique() {
  for (std::size_t i = 1; i < std::size(kCurrencies); ++i) {
    if (!(kCurrencies[i - 1].code < kCurrencies[i].code)) return false;
  }
  return true;
}
static_assert(isSortedUnique(), "kCurrencies must stay sorted by code for findCurrency");

// 10^0 .. 10^18, exact in 64 bits.
constexpr std::array<uint64_t, kMaxExponent + 1> kPowersOfTen = [] {
  std::array<uint64_t, kMaxExponent + 1> powers{};
  uint64_t p = 1;
  for (auto& power : powers) {
    power = p;
    p *= 10;
  }
  return powers;
}();

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<CurrencyInfo> findCurrency(std::string_view code) {
  // why: exact upper-case match only; "eur" is a caller bug we report, not a spelling we fix.
  const auto* it =
      std::lower_bound(std::begin(kCurrencies), std::end(kCurrencies), code,
                       [](const CurrencyInfo& info, std::string_view c) { return info.code < c; });
  if (it == std::end(kCurrencies) || it->code != code) return std::nullopt;
  return *it;
}

std::span<const CurrencyInfo> allCurrencies() { return kCurrencies; }

std::string formatMinorUnits(int64_t minor, int exponent) {
  if (exponent < 0 || exponent > kMaxExponent) return {};
  // why: the magnitude is taken in uint64 so INT64_MIN, whose negation overflows int64, works.
  const uint64_t magnitude =
      minor < 0 ? uint64_t{0} - static_cast<uint64_t>(minor) : static_cast<uint64_t>(minor);
  std::string digits = std::to_string(magnitude);
  const auto width = static_cast<std::size_t>(exponent);
  if (digits.size() < width + 1) digits.insert(0, width + 1 - digits.size(), '0');
  std::string out;
  if (minor < 0) out += '-';
  out.append(digits, 0, digits.size() - width);
  if (width > 0) {
    out += '.';
    out.append(digits, digits.size() - width, width);
  }
  return out;
}

std::optional<int64_t> parseMinorUnits(std::string_view decimal, int exponent) {
  if (exponent < 0 || exponent > kMaxExponent) return std::nullopt;
  const bool negative = !decimal.empty() && decimal.front() == '-';
  if (negative) decimal.remove_prefix(1);

  const std::size_t point = decimal.find('.');
  const std::string_view whole = decimal.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view{} : decimal.substr(point + 1);
  if (whole.empty()) return std::nullopt;                                        // "", "-", ".5"
  if (point != std::string_view::npos && fraction.empty()) return std::nullopt;  // "1."
  if (fraction.size() > static_cast<std::size_t>(exponent)) return std::nullopt;
  if (!std::all_of(whole.begin(), whole.end(), isDigit) ||
      !std::all_of(fraction.begin(), fraction.end(), isDigit)) {
    return std::nullopt;  // signs, spaces, a second '.', exponents, non-ASCII
  }

  // Accumulate the magnitude in uint64 against the bound for the sign: 2^63 - 1 for positive
  // amounts, 2^63 for negative ones (so INT64_MIN parses).
  const uint64_t limit =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  uint64_t magnitude = 0;
  const auto push = [&](char c) {
    const auto digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (limit - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
    return true;
  };
  for (char c : whole) {
    if (!push(c)) return std::nullopt;
  }
  for (char c : fraction) {
    if (!push(c)) return std::nullopt;
  }
  // Pad missing fraction digits: "1.5" at exponent 2 is 150.
  const uint64_t scale = kPowersOfTen[static_cast<std::size_t>(exponent) - fraction.size()];
  if (magnitude > limit / scale) return std::nullopt;
  magnitude *= scale;

  if (!negative) return static_cast<int64_t>(magnitude);
  // why: -(2^63) cannot be formed by negating an int64; build it from the unsigned side.
  if (magnitude == limit) return std::numeric_limits<int64_t>::min();
  return -static_cast<int64_t>(magnitude);
}

}  // namespace paymux
