// Prints a /metrics page rendered by paymux's metrics::Registry, for `promtool check metrics`
// (CTest metrics_promtool, driven by metrics_promtool.pl).
//
//   metrics_exposition KIND:NAME...    KIND is counter | gauge | histogram | callback
//
// Each named family is registered the way the services register it (counterAdd, gaugeSet,
// observe, gaugeCallback), with the label shapes they use; a few fixed families cover the
// format's corners (label escaping, histograms with and without labels, zero counters).
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#include "services/common/metrics.h"

namespace {

using paymux::metrics::Labels;
using paymux::metrics::Registry;

void registerFamily(Registry& r, const std::string& kind, const std::string& name) {
  const std::string help = "paymux metric " + name;
  if (kind == "counter") {
    r.counterAdd(name, help, {{"connector", "sandbox-a"}, {"outcome", "succeeded"}}, 3);
    r.counterAdd(name, help, {{"connector", "sandbox-b"}, {"outcome", "failed"}}, 0);
  } else if (kind == "gauge") {
    r.gaugeSet(name, help, {}, 42.5);
  } else if (kind == "histogram") {
    for (double seconds : {0.0004, 0.003, 0.2, 1.0, 45.0}) {
      r.observe(name, help, {{"route", "/v1/collections/{id}"}, {"method", "GET"}}, seconds);
    }
  } else if (kind == "callback") {
    r.gaugeCallback(name, help, [] { return 7.0; });
  } else {
    throw std::invalid_argument("unknown kind " + kind);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Registry& r = Registry::global();
  try {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      auto colon = arg.find(':');
      if (colon == std::string::npos) throw std::invalid_argument("want KIND:NAME, got " + arg);
      registerFamily(r, arg.substr(0, colon), arg.substr(colon + 1));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metrics_exposition: %s\n", e.what());
    return 2;
  }
  // The format's corners: escaped label values, an unlabelled histogram, a zero counter.
  r.counterAdd("paymux_exposition_selftest_total", "Label values that need escaping",
               {{"value", "quote \" backslash \\ newline \n end"}}, 1);
  r.counterAdd("paymux_exposition_selftest_total", "Label values that need escaping",
               {{"value", "plain"}}, 0);
  r.observe("paymux_exposition_selftest_seconds", "Histogram without labels", {}, 0.01);
  r.gaugeSet("paymux_exposition_selftest_ratio", "Gauge with a negative value",
             {{"kind", "collect"}}, -0.25);
  std::cout << r.render();
  return 0;
}
