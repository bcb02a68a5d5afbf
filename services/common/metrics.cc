#include "services/common/metrics.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace paymux::metrics {
namespace {
constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,  0.5,    1,     2.5,  5,     10,  30};

std::string escapeLabel(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string renderLabels(const Labels& labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out.push_back(',');
    out += k + "=\"" + escapeLabel(v) + "\"";
  }
  return out;
}

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // why: the shortest round-trip form keeps bucket labels readable (le="0.0025").
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("0");
}

std::string withLe(const std::string& labels, const std::string& le) {
  return "{" + labels + (labels.empty() ? "" : ",") + "le=\"" + le + "\"}";
}
}  // namespace

Registry& Registry::global() {
  static Registry* registry = new Registry();  // why: never destroyed, safe at exit from any thread
  return *registry;
}

Registry::Family& Registry::family(std::string_view name, std::string_view help, const char* type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.type = type;
    it->second.help = std::string(help);
  }
  return it->second;
}

void Registry::counterAdd(std::string_view name, std::string_view help, const Labels& labels,
                          double value) {
  std::string key = renderLabels(labels);  // why: outside the lock every request thread shares
  std::lock_guard lock(mutex_);
  family(name, help, "counter").values[key] += value;
}

void Registry::gaugeSet(std::string_view name, std::string_view help, const Labels& labels,
                        double value) {
  std::string key = renderLabels(labels);
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").values[key] = value;
}

void Registry::observe(std::string_view name, std::string_view help, const Labels& labels,
                       double seconds) {
  std::string key = renderLabels(labels);
  std::lock_guard lock(mutex_);
  auto& h = family(name, help, "histogram").histograms[key];
  if (h.bucket_counts.empty()) h.bucket_counts.assign(kBuckets.size(), 0);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.bucket_counts[i] += 1;
  }
  h.sum += seconds;
  h.count += 1;
}

void Registry::gaugeCallback(std::string_view name, std::string_view help,
                             std::function<double()> fn) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").callback = std::move(fn);
}

std::string Registry::render() {
  std::map<std::string, std::function<double()>> callbacks;
  std::ostringstream out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, f] : families_) {
      if (f.callback) {
        callbacks[name] = f.callback;
        continue;
      }
      out << "# HELP " << name << ' ' << f.help << "\n# TYPE " << name << ' ' << f.type << '\n';
      for (const auto& [labels, v] : f.values) {
        out << name << (labels.empty() ? "" : "{" + labels + "}") << ' ' << number(v) << '\n';
      }
      for (const auto& [labels, h] : f.histograms) {
        for (size_t i = 0; i < kBuckets.size(); ++i) {
          out << name << "_bucket" << withLe(labels, number(kBuckets[i])) << ' '
              << number(h.bucket_counts[i]) << '\n';
        }
        out << name << "_bucket" << withLe(labels, "+Inf") << ' ' << number(h.count) << '\n';
        std::string l = labels.empty() ? "" : "{" + labels + "}";
        out << name << "_sum" << l << ' ' << number(h.sum) << '\n';
        out << name << "_count" << l << ' ' << number(h.count) << '\n';
      }
    }
  }
  // why: callbacks may take their own locks (pool), so they run outside ours.
  for (const auto& [name, fn] : callbacks) {
    std::string help;
    {
      std::lock_guard lock(mutex_);
      help = families_.find(name)->second.help;
    }
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n"
        << name << ' ' << number(fn()) << '\n';
  }
  return out.str();
}

}  // namespace paymux::metrics
