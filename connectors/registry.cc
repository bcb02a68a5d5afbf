#include "connectors/registry.h"

#include "connectors/adyen/adyen_connector.h"
#include "connectors/gocardless/gocardless_connector.h"
#include "connectors/paypal/paypal_connector.h"
#include "connectors/sandbox/sandbox_connector.h"
#include "connectors/stripe/stripe_connector.h"
#include "connectors/wise/wise_connector.h"

namespace paymux::connectors {

const std::map<std::string, ConnectorFactory>& connectorTypes() {
  static const std::map<std::string, ConnectorFactory> kTypes = {
      {"adyen", &adyen::makeAdyenConnector},
      {"gocardless", &gocardless::makeGoCardlessConnector},
      {"paypal", &paypal::makePayPalConnector},
      {"sandbox", &sandbox::makeSandboxConnector},
      {"stripe", &stripe::makeStripeConnector},
      {"wise", &wise::makeWiseConnector},
  };
  return kTypes;
}

ConnectorSet::ConnectorSet(const config::Config& config) {
  for (const auto& c : config.connectors) {
    auto it = connectorTypes().find(c.type);
    if (it == connectorTypes().end()) {
      throw config::ConfigError(config.file + ": connectors." + c.id + ".type: unknown connector type \"" +
                                c.type + "\"");
    }
    try {
      connectors_[c.id] = it->second(c);
    } catch (const std::invalid_argument& e) {
      throw config::ConfigError(config.file + ": connectors." + c.id + ": " + e.what());
    }
    ids_.push_back(c.id);
  }
}

Connector* ConnectorSet::find(const std::string& id) const {
  auto it = connectors_.find(id);
  return it == connectors_.end() ? nullptr : it->second.get();
}

}  // namespace paymux::connectors
