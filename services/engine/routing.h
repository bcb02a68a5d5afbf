#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/registry.h"
#include "services/common/config.h"

namespace paymux::engine {

struct RouteInput {
  Kind kind = Kind::kCollect;
  std::string currency;
  std::string country;       // customer country, "" when absent
  std::string method;        // payment method or beneficiary type
  int64_t amount_minor = 0;
  std::string forced_connector;  // the request's `connector` field, "" when absent
};

/// Chooses connectors from the operator's rules (DESIGN.md "Configuration"). Throws ApiError:
/// 400 parameter_invalid for an unknown forced connector, 422 no_route when nothing fits.
class Router {
 public:
  Router(const config::Config& config, const connectors::ConnectorSet& connectors);

  /// Connectors to try in order. `try` rules give their order; a `split` rule puts the weighted
  /// choice (deterministic per transaction id) first and the others after it as failover.
  std::vector<std::string> route(const RouteInput& input, const std::string& transaction_id) const;

  /// Whether connector `id` can take this payment (its capabilities and YAML `supports`).
  bool capable(const std::string& id, const RouteInput& input) const;

 private:
  const config::Config& config_;
  const connectors::ConnectorSet& connectors_;
};

}  // namespace paymux::engine
