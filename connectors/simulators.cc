#include "connectors/simulators.h"

#include "connectors/adyen/adyen_simulator.h"
#include "connectors/gocardless/gocardless_simulator.h"
#include "connectors/paypal/paypal_simulator.h"
#include "connectors/sandbox/sandbox_simulator.h"
#include "connectors/stripe/stripe_simulator.h"
#include "connectors/wise/wise_simulator.h"

namespace paymux::connectors {
namespace {

template <typename Sim>
RunningSimulator start(const simkit::SimOptions& options) {
  auto sim = std::make_shared<Sim>(options);
  return {sim, sim->baseUrl()};
}

RunningSimulator startSandbox(const simkit::SimOptions& o) {
  sandbox::SimulatorOptions options;
  options.host = o.host;
  options.port = o.port;
  if (!o.api_key.empty()) options.api_key = o.api_key;
  options.webhook_url = o.webhook_url;
  if (!o.webhook_secret.empty()) options.webhook_secret = o.webhook_secret;
  options.latency_ms = o.latency_ms;
  options.slow_ms = o.slow_ms;
  options.timeout_ms = o.timeout_ms;
  options.async_ms = o.async_ms;
  options.threads = o.threads;
  auto sim = std::make_shared<sandbox::SandboxSimulator>(options);
  return {sim, sim->baseUrl()};
}

}  // namespace

const std::map<std::string, std::function<RunningSimulator(const simkit::SimOptions&)>>&
simulatorTypes() {
  static const std::map<std::string, std::function<RunningSimulator(const simkit::SimOptions&)>>
      kTypes = {
          {"adyen", &start<adyen::AdyenSimulator>},
          {"gocardless", &start<gocardless::GoCardlessSimulator>},
          {"paypal", &start<paypal::PayPalSimulator>},
          {"sandbox", &startSandbox},
          {"stripe", &start<stripe::StripeSimulator>},
          {"wise", &start<wise::WiseSimulator>},
      };
  return kTypes;
}

}  // namespace paymux::connectors
