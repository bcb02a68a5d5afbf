#include "services/common/rfc3339.h"

#include <cstdio>
#include <ctime>
#include <string>

namespace paymux {

std::optional<int64_t> parseRfc3339(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int hours = 0, minutes = 0;
    if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &hours, &minutes) != 2) return std::nullopt;
    offset = (s[pos] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    pos += 6;
  } else if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::string formatRfc3339(std::chrono::system_clock::time_point t, bool microseconds) {
  auto since_epoch = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
  auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  std::time_t unix_s = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&unix_s, &tm);
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (microseconds) {
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%06ld",
                       static_cast<long>((since_epoch - secs).count()));
  }
  std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "Z");
  return buf;
}

}  // namespace paymux
