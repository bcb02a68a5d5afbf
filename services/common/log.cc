#include "services/common/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "services/common/json.h"

namespace paymux::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};

std::string_view levelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}
}  // namespace

void setLevel(Level level) { g_level = level; }

bool setLevel(std::string_view name) {
  for (auto l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (levelName(l) == name) {
      g_level = l;
      return true;
    }
  }
  return false;
}

std::string nowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

void write(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "ts", nowRfc3339());
  json::kv(w, "level", levelName(level));
  json::kv(w, "msg", message);
  for (const auto& [k, v] : fields) json::kv(w, k, v);
  w.EndObject();
  std::string line(sb.GetString(), sb.GetSize());
  line.push_back('\n');
  // why: one write(2) per line keeps lines from different threads whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace paymux::log
