#include "services/engine/routing.h"

#include <algorithm>

#include "services/common/api_error.h"
#include "services/common/crypto.h"

namespace paymux::engine {
namespace {

bool listAllows(const std::vector<std::string>& allowed, const std::string& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool matches(const config::RouteMatch& m, const RouteInput& in) {
  if (m.kind && *m.kind != toString(in.kind)) return false;
  if (!listAllows(m.currencies, in.currency)) return false;
  if (!m.countries.empty() && !listAllows(m.countries, in.country)) return false;
  if (!listAllows(m.methods, in.method)) return false;
  if (m.min_amount && in.amount_minor < *m.min_amount) return false;
  if (m.max_amount && in.amount_minor > *m.max_amount) return false;
  return true;
}

uint64_t stableHash(const std::string& s) {
  std::string digest = crypto::sha256(s);
  uint64_t h = 0;
  for (int i = 0; i < 8; ++i) h = (h << 8) | static_cast<unsigned char>(digest[i]);
  return h;
}

}  // namespace

Router::Router(const config::Config& config, const connectors::ConnectorSet& connectors)
    : config_(config), connectors_(connectors) {}

bool Router::capable(const std::string& id, const RouteInput& in) const {
  const auto* connector = connectors_.find(id);
  if (connector == nullptr) return false;
  const auto& caps = connector->capabilities();
  if (std::find(caps.kinds.begin(), caps.kinds.end(), in.kind) == caps.kinds.end()) return false;
  if (!listAllows(caps.currencies, in.currency) || !listAllows(caps.methods, in.method)) {
    return false;
  }
  if (const auto* c = config_.findConnector(id)) {
    if (!c->kinds.empty() && !listAllows(c->kinds, std::string(toString(in.kind)))) return false;
    if (!listAllows(c->currencies, in.currency) || !listAllows(c->methods, in.method)) return false;
  }
  return true;
}

std::vector<std::string> Router::route(const RouteInput& in,
                                       const std::string& transaction_id) const {
  if (!in.forced_connector.empty()) {
    if (connectors_.find(in.forced_connector) == nullptr) {
      throw ApiError::invalid("parameter_invalid",
                              "connector \"" + in.forced_connector + "\" is not configured",
                              "connector");
    }
    if (!capable(in.forced_connector, in)) {
      throw ApiError(422, "routing_error", "no_route",
                     "connector \"" + in.forced_connector + "\" does not support this " +
                         std::string(objectName(in.kind)) + " (kind, currency or method)",
                     "connector");
    }
    return {in.forced_connector};
  }
  for (const auto& rule : config_.routing) {
    if (!matches(rule.when, in)) continue;
    std::vector<std::string> out;
    if (!rule.try_order.empty()) {
      for (const auto& id : rule.try_order) {
        if (capable(id, in)) out.push_back(id);
      }
    } else {
      std::vector<std::pair<std::string, int>> eligible;
      int total = 0;
      for (const auto& [id, weight] : rule.split) {
        if (capable(id, in)) {
          eligible.emplace_back(id, weight);
          total += weight;
        }
      }
      if (total > 0) {
        uint64_t pick = stableHash(transaction_id) % static_cast<uint64_t>(total);
        size_t chosen = 0;
        for (size_t i = 0; i < eligible.size(); ++i) {
          if (pick < static_cast<uint64_t>(eligible[i].second)) {
            chosen = i;
            break;
          }
          pick -= static_cast<uint64_t>(eligible[i].second);
        }
        out.push_back(eligible[chosen].first);
        std::stable_sort(eligible.begin(), eligible.end(),
                         [](const auto& a, const auto& b) { return a.second > b.second; });
        for (const auto& [id, weight] : eligible) {
          if (id != out.front()) out.push_back(id);
        }
      }
    }
    if (!out.empty()) return out;
  }
  throw ApiError(422, "routing_error", "no_route",
                 "no configured connector supports this " + std::string(objectName(in.kind)) +
                     " (" + in.currency + (in.method.empty() ? "" : ", " + in.method) + ")");
}

}  // namespace paymux::engine
