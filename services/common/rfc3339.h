#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paymux {

/// Unix seconds of an RFC 3339 timestamp ("2026-11-28T10:00:00.123Z", "+01:00" offsets);
/// fractions are dropped; nullopt when it is not one.
std::optional<int64_t> parseRfc3339(std::string_view text);

/// "2026-11-28T10:00:00Z" (API timestamps), or with microseconds "2026-11-28T10:00:00.123456Z"
/// (exact, for the database).
std::string formatRfc3339(std::chrono::system_clock::time_point t, bool microseconds = false);

}  // namespace paymux
