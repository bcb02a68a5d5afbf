#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace paymux::log {

enum class Level { kDebug, kInfo, kWarn, kError };

using Field = std::pair<std::string_view, std::string>;

void setLevel(Level level);
bool setLevel(std::string_view name);
/// Writes one JSON line {"ts","level","msg",...fields} to stderr in a single write.
/// Callers pass no secrets: values are logged as given.
void write(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void debug(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, std::initializer_list<Field> f = {}) { write(Level::kError, m, f); }

/// RFC 3339 UTC with milliseconds, e.g. 2026-11-28T10:00:00.123Z.
std::string nowRfc3339();

}  // namespace paymux::log
