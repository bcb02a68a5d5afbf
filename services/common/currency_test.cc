#include "services/common/currency.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>

namespace paymux {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

void expectCurrency(std::string_view code, int numeric, int exponent) {
  const std::optional<CurrencyInfo> info = findCurrency(code);
  ASSERT_TRUE(info.has_value()) << code;
  EXPECT_EQ(info->code, code);
  EXPECT_EQ(info->numeric, numeric) << code;
  EXPECT_EQ(info->exponent, exponent) << code;
}

// ---- the ISO 4217 table ----

TEST(CurrencyTest, MajorCurrencies) {
  expectCurrency("EUR", 978, 2);
  expectCurrency("USD", 840, 2);
  expectCurrency("GBP", 826, 2);
  expectCurrency("CHF", 756, 2);
  expectCurrency("ALL", 8, 2);  // numeric 008: no octal surprise
}

TEST(CurrencyTest, ZeroDecimalCurrencies) {
  expectCurrency("JPY", 392, 0);
  expectCurrency("ISK", 352, 0);
  expectCurrency("KRW", 410, 0);
  expectCurrency("VND", 704, 0);
  expectCurrency("XAF", 950, 0);
  expectCurrency("XOF", 952, 0);
  expectCurrency("CLP", 152, 0);
  expectCurrency("UYI", 940, 0);
}

TEST(CurrencyTest, ThreeDecimalCurrencies) {
  expectCurrency("KWD", 414, 3);
  expectCurrency("BHD", 48, 3);
  expectCurrency("OMR", 512, 3);
  expectCurrency("TND", 788, 3);
}

TEST(CurrencyTest, FourDecimalFundsCodes) {
  expectCurrency("CLF", 990, 4);
  expectCurrency("UYW", 927, 4);
}

TEST(CurrencyTest, RecentAmendmentsAreIn) {
  expectCurrency("SLE", 925, 2);  // replaced SLL
  expectCurrency("VED", 926, 2);
  expectCurrency("ZWG", 924, 2);  // replaced ZWL
  expectCurrency("XCG", 532, 2);  // replaced ANG
}

TEST(CurrencyTest, WithdrawnCodesAreOut) {
  for (std::string_view code : {"HRK", "BGN", "CUC", "ANG", "SLL", "ZWL", "LTL", "VEF"}) {
    EXPECT_FALSE(findCurrency(code).has_value()) << code;
  }
}

TEST(CurrencyTest, CodesWithoutMinorUnitAreOut) {
  for (std::string_view code : {"XAU", "XAG", "XPD", "XPT", "XDR", "XSU", "XUA", "XBA", "XBB",
                                "XBC", "XBD", "XTS", "XXX"}) {
    EXPECT_FALSE(findCurrency(code).has_value()) << code;
  }
}

TEST(CurrencyTest, UnknownCodeIsNotFound) {
  EXPECT_FALSE(findCurrency("XYZ").has_value());
  EXPECT_FALSE(findCurrency("").has_value());
  EXPECT_FALSE(findCurrency("EU").has_value());
  EXPECT_FALSE(findCurrency("EURO").has_value());
  EXPECT_FALSE(findCurrency("AAA").has_value());  // before the first entry
  EXPECT_FALSE(findCurrency("ZZZ").has_value());  // after the last entry
}

TEST(CurrencyTest, LowerCaseCodeIsNotFound) {
  EXPECT_FALSE(findCurrency("eur").has_value());
  EXPECT_FALSE(findCurrency("Eur").has_value());
  EXPECT_FALSE(findCurrency(" EUR").has_value());
}

TEST(CurrencyTest, TableIsWellFormed) {
  std::set<std::string_view> codes;
  std::set<int> numerics;
  for (const CurrencyInfo& info : allCurrencies()) {
    EXPECT_EQ(info.code.size(), 3u) << info.code;
    for (char c : info.code) EXPECT_TRUE(c >= 'A' && c <= 'Z') << info.code;
    EXPECT_TRUE(codes.insert(info.code).second) << "duplicate code " << info.code;
    EXPECT_TRUE(numerics.insert(info.numeric).second) << "duplicate numeric " << info.numeric;
    EXPECT_GT(info.numeric, 0) << info.code;
    EXPECT_LT(info.numeric, 1000) << info.code;
    EXPECT_TRUE(info.exponent == 0 || info.exponent == 2 || info.exponent == 3 ||
                info.exponent == 4)
        << info.code;
    // Every entry is reachable through the lookup.
    const auto found = findCurrency(info.code);
    ASSERT_TRUE(found.has_value()) << info.code;
    EXPECT_EQ(found->numeric, info.numeric);
  }
  EXPECT_EQ(allCurrencies().size(), 165u);  // List One 2026-01-01 without the N.A. codes
}

// ---- formatting ----

TEST(CurrencyTest, FormatsByExponent) {
  EXPECT_EQ(formatMinorUnits(1000, 2), "10.00");
  EXPECT_EQ(formatMinorUnits(500, 0), "500");
  EXPECT_EQ(formatMinorUnits(-5, 2), "-0.05");
  EXPECT_EQ(formatMinorUnits(0, 2), "0.00");
  EXPECT_EQ(formatMinorUnits(0, 0), "0");
  EXPECT_EQ(formatMinorUnits(1, 3), "0.001");
  EXPECT_EQ(formatMinorUnits(12345, 3), "12.345");
  EXPECT_EQ(formatMinorUnits(10000, 4), "1.0000");
  EXPECT_EQ(formatMinorUnits(-123456, 2), "-1234.56");
  EXPECT_EQ(formatMinorUnits(-7, 0), "-7");
}

TEST(CurrencyTest, FormatsInt64Extremes) {
  EXPECT_EQ(formatMinorUnits(kMax, 2), "92233720368547758.07");
  EXPECT_EQ(formatMinorUnits(kMin, 2), "-92233720368547758.08");
  EXPECT_EQ(formatMinorUnits(kMax, 0), "9223372036854775807");
  EXPECT_EQ(formatMinorUnits(kMin, 0), "-9223372036854775808");
  EXPECT_EQ(formatMinorUnits(kMax, 18), "9.223372036854775807");
  EXPECT_EQ(formatMinorUnits(kMin, 18), "-9.223372036854775808");
  EXPECT_EQ(formatMinorUnits(1, 18), "0.000000000000000001");
}

TEST(CurrencyTest, FormatRejectsOutOfRangeExponent) {
  EXPECT_EQ(formatMinorUnits(100, -1), "");
  EXPECT_EQ(formatMinorUnits(100, 19), "");
}

// ---- parsing ----

TEST(CurrencyTest, ParsesByExponent) {
  EXPECT_EQ(parseMinorUnits("10.00", 2), 1000);
  EXPECT_EQ(parseMinorUnits("10", 2), 1000);
  EXPECT_EQ(parseMinorUnits("500", 0), 500);
  EXPECT_EQ(parseMinorUnits("-0.05", 2), -5);
  EXPECT_EQ(parseMinorUnits("0", 2), 0);
  EXPECT_EQ(parseMinorUnits("-0", 2), 0);
  EXPECT_EQ(parseMinorUnits("12.345", 3), 12345);
  EXPECT_EQ(parseMinorUnits("1.0000", 4), 10000);
  EXPECT_EQ(parseMinorUnits("007.50", 2), 750);  // leading zeros are harmless
}

TEST(CurrencyTest, FewerFractionDigitsArePadded) {
  EXPECT_EQ(parseMinorUnits("1.5", 2), 150);
  EXPECT_EQ(parseMinorUnits("-1.5", 2), -150);
  EXPECT_EQ(parseMinorUnits("0.1", 3), 100);
}

TEST(CurrencyTest, MoreFractionDigitsThanExponentAreRejected) {
  EXPECT_EQ(parseMinorUnits("1.505", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1.500", 2), std::nullopt);  // even zeros: no silent rounding
  EXPECT_EQ(parseMinorUnits("500.0", 0), std::nullopt);
  EXPECT_EQ(parseMinorUnits("0.00001", 4), std::nullopt);
}

TEST(CurrencyTest, MissingDigitsAroundThePointAreRejected) {
  EXPECT_EQ(parseMinorUnits("", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits(".", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1.", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits(".5", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("-", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("-.5", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("5.", 0), std::nullopt);
}

TEST(CurrencyTest, SignsOtherThanLeadingMinusAreRejected) {
  EXPECT_EQ(parseMinorUnits("+1.00", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("--1", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1-", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1.-5", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("-+1", 2), std::nullopt);
}

TEST(CurrencyTest, NonDigitsAreRejected) {
  EXPECT_EQ(parseMinorUnits(" 1.00", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1.00 ", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1,00", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1,000.00", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1.2.3", 3), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1e3", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("0x10", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("abc", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("NaN", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("\xd9\xa1\xd9\xa2", 0), std::nullopt);  // Arabic-Indic "12"
  EXPECT_EQ(parseMinorUnits(std::string_view("1\0", 2), 0), std::nullopt);
}

TEST(CurrencyTest, ParsesInt64Extremes) {
  EXPECT_EQ(parseMinorUnits("92233720368547758.07", 2), kMax);
  EXPECT_EQ(parseMinorUnits("-92233720368547758.08", 2), kMin);
  EXPECT_EQ(parseMinorUnits("9223372036854775807", 0), kMax);
  EXPECT_EQ(parseMinorUnits("-9223372036854775808", 0), kMin);
  EXPECT_EQ(parseMinorUnits("00000000000000000000009223372036854775807", 0), kMax);
}

TEST(CurrencyTest, OverflowIsRejected) {
  EXPECT_EQ(parseMinorUnits("92233720368547758.08", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("-92233720368547758.09", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("9223372036854775808", 0), std::nullopt);
  EXPECT_EQ(parseMinorUnits("-9223372036854775809", 0), std::nullopt);
  EXPECT_EQ(parseMinorUnits("99999999999999999999999", 0), std::nullopt);
  // Overflow only from padding the fraction: 92233720368547758.1 -> ...810 > max.
  EXPECT_EQ(parseMinorUnits("92233720368547758.1", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("92233720368547759", 2), std::nullopt);
  EXPECT_EQ(parseMinorUnits("10", 18), std::nullopt);
  EXPECT_EQ(parseMinorUnits("9", 18), int64_t{9'000'000'000'000'000'000});
}

TEST(CurrencyTest, ParseRejectsOutOfRangeExponent) {
  EXPECT_EQ(parseMinorUnits("1", -1), std::nullopt);
  EXPECT_EQ(parseMinorUnits("1", 19), std::nullopt);
}

TEST(CurrencyTest, FormatThenParseRoundTrips) {
  const int64_t values[] = {0,     1,     -1,         5,    -5,   99,       100,
                            12345, -9999, 1000000007, kMax, kMin, kMax - 1, kMin + 1};
  for (int exponent = 0; exponent <= kMaxExponent; ++exponent) {
    for (int64_t v : values) {
      const std::string text = formatMinorUnits(v, exponent);
      EXPECT_EQ(parseMinorUnits(text, exponent), v) << text << " exponent " << exponent;
    }
  }
}

TEST(CurrencyTest, ParseThenFormatIsCanonical) {
  EXPECT_EQ(formatMinorUnits(*parseMinorUnits("1.5", 2), 2), "1.50");
  EXPECT_EQ(formatMinorUnits(*parseMinorUnits("007", 0), 0), "7");
  EXPECT_EQ(formatMinorUnits(*parseMinorUnits("-0.00", 2), 2), "0.00");
  EXPECT_EQ(formatMinorUnits(*parseMinorUnits("1.234", 3), 3), "1.234");
}

TEST(CurrencyTest, FormatsWithTheTableExponent) {
  EXPECT_EQ(formatMinorUnits(1000, findCurrency("EUR")->exponent), "10.00");
  EXPECT_EQ(formatMinorUnits(1000, findCurrency("JPY")->exponent), "1000");
  EXPECT_EQ(formatMinorUnits(1000, findCurrency("KWD")->exponent), "1.000");
  EXPECT_EQ(formatMinorUnits(1000, findCurrency("CLF")->exponent), "0.1000");
  EXPECT_EQ(parseMinorUnits("10.5", findCurrency("BHD")->exponent), 10500);
}

TEST(CurrencyTest, MoneyComparesByValue) {
  EXPECT_EQ((Money{1000, "EUR"}), (Money{1000, "EUR"}));
  EXPECT_NE((Money{1000, "EUR"}), (Money{1000, "USD"}));
  EXPECT_NE((Money{1000, "EUR"}), (Money{1001, "EUR"}));
}

}  // namespace
}  // namespace paymux
