#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace paymux {

// ISO 4217 currencies and decimal <-> minor-unit conversion. Amounts are always integer minor
// units (cents, yen, fils); there is no floating point anywhere in this module.

struct CurrencyInfo {
  std::string_view code;  // alpha-3, upper case: "EUR"
  int numeric;            // ISO numeric code: 978
  int exponent;           // minor-unit digits: EUR 2, JPY 0, KWD 3, CLF 4
};

/// The ISO 4217 entry for `code`; nullopt for unknown or lower-case codes.
/// The table is ISO 4217 List One as published by SIX on 2026-01-01, minus the codes whose minor
/// unit is "N.A." (XAU, XAG, XPD, XPT, XDR, XSU, XUA, XBA..XBD, XTS, XXX): they are units of
/// account, metals and test codes without a minor unit, so no integer amount can be stated in
/// them. Withdrawn codes (HRK, BGN, CUC, ANG, SLL, ZWL, ...) are not included.
std::optional<CurrencyInfo> findCurrency(std::string_view code);

/// Every supported currency, sorted by code.
std::span<const CurrencyInfo> allCurrencies();

/// Largest exponent formatMinorUnits/parseMinorUnits accept (10^18 still fits an int64).
inline constexpr int kMaxExponent = 18;

/// Formats minor units as a decimal string by the exponent: (1000, 2) -> "10.00", (500, 0) ->
/// "500", (-5, 2) -> "-0.05". Exact for the whole int64 range. Returns "" for an exponent
/// outside [0, kMaxExponent].
std::string formatMinorUnits(int64_t minor, int exponent);

/// Parses a decimal string into minor units: ("10.00", 2) -> 1000, ("1.5", 2) -> 150.
/// Accepted: an optional leading '-', one or more digits, then optionally '.' and one to
/// `exponent` digits (fewer are padded: "1.5" is 1.50). Rejected (nullopt): empty, "-", '+',
/// whitespace, "." / "1." / ".5" (a side of the point is missing), more fraction digits than the
/// exponent even if they are zeros ("1.505", "1.500" for EUR; "500.0" for JPY), anything but
/// ASCII digits, a value outside int64, an exponent outside [0, kMaxExponent].
std::optional<int64_t> parseMinorUnits(std::string_view decimal, int exponent);

/// An amount of money: integer minor units of an ISO 4217 currency, never floating point.
struct Money {
  int64_t minor;
  std::string currency;  // alpha-3 code, e.g. "EUR"

  bool operator==(const Money&) const = default;
};

}  // namespace paymux
