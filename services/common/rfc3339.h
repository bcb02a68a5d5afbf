#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace paymux {

/// Unix seconds of an RFC 3339 timestamp ("2026-11-28T10:00:00.123Z", "+01:00" offsets);
/// fractions are dropped; nullopt when it is not one.
std::optional<int64_t> parseRfc3339(std::string_view text);

}  // namespace paymux
