#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "connectors/simkit/sim_options.h"

namespace paymux::connectors {

/// A running simulator; destroying it stops it.
struct RunningSimulator {
  std::shared_ptr<void> instance;
  std::string base_url;
};

/// Provider simulators by connector type: one line each in simulators.cc.
const std::map<std::string, std::function<RunningSimulator(const simkit::SimOptions&)>>&
simulatorTypes();

}  // namespace paymux::connectors
