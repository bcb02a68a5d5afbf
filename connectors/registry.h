#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/api/connector.h"

namespace paymux::connectors {

/// Connector types by name ("sandbox", "stripe", ...): one line each in registry.cc.
const std::map<std::string, ConnectorFactory>& connectorTypes();

/// The configured connectors, by id.
class ConnectorSet {
 public:
  /// Throws config::ConfigError when a connector's type is unknown or its section is invalid.
  explicit ConnectorSet(const config::Config& config);
  Connector* find(const std::string& id) const;
  const std::vector<std::string>& ids() const { return ids_; }

 private:
  std::map<std::string, std::unique_ptr<Connector>> connectors_;
  std::vector<std::string> ids_;
};

}  // namespace paymux::connectors
