#pragma once
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace paymux::metrics {

/// Label pairs; values must come from bounded sets (route, status class, connector), never ids.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// Process-wide Prometheus registry (text exposition format 0.0.4).
class Registry {
 public:
  static Registry& global();

  void counterAdd(std::string_view name, std::string_view help, const Labels& labels,
                  double value = 1);
  void gaugeSet(std::string_view name, std::string_view help, const Labels& labels, double value);
  /// Histogram in seconds with fixed buckets from 1 ms to 30 s.
  void observe(std::string_view name, std::string_view help, const Labels& labels, double seconds);
  /// A gauge computed at scrape time (pool usage, queue depth).
  void gaugeCallback(std::string_view name, std::string_view help, std::function<double()> fn);

  std::string render();

 private:
  struct Histogram {
    std::vector<double> bucket_counts;
    double sum = 0;
    double count = 0;
  };
  struct Family {
    std::string type;
    std::string help;
    std::map<std::string, double> values;          // rendered label set -> value
    std::map<std::string, Histogram> histograms;   // rendered label set -> histogram
    std::function<double()> callback;
  };
  Family& family(std::string_view name, std::string_view help, const char* type);

  std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace paymux::metrics
