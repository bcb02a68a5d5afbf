#include "connectors/stripe/stripe_connector.h"

#include <chrono>
#include <stdexcept>

#include "connectors/stripe/stripe_transformers.h"
#include "connectors/stripe/stripe_webhook.h"
#include "services/common/log.h"

namespace paymux::connectors::stripe {
namespace {

Capabilities capabilitiesFrom(const config::ConnectorConfig& c) {
  Capabilities caps;
  for (const auto& k : c.kinds) {
    if (auto kind = kindFromString(k)) caps.kinds.push_back(*kind);
  }
  if (c.kinds.empty()) caps.kinds = {Kind::kCollect, Kind::kPayout};
  caps.currencies = c.currencies;
  caps.methods = c.methods;
  caps.can_fetch_status = true;
  return caps;
}

const char* collectionPath(Kind kind) {
  return kind == Kind::kPayout ? "/v1/payouts" : "/v1/payment_intents";
}

}  // namespace

StripeConnector::StripeConnector(const config::ConnectorConfig& config)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  auto key = config_.credentials.find("secret_key");
  if (key == config_.credentials.end() || key->second.empty()) {
    throw std::invalid_argument("credentials.secret_key: required");
  }
  if (config_.base_url.empty()) throw std::invalid_argument("base_url: required");
  while (!config_.base_url.empty() && config_.base_url.back() == '/') config_.base_url.pop_back();
  if (auto it = config_.settings.find("return_url"); it != config_.settings.end()) {
    return_url_ = it->second;
  }
}

http::HttpRequestSpec StripeConnector::baseRequest(std::string method,
                                                   const std::string& path) const {
  http::HttpRequestSpec spec;
  spec.method = std::move(method);
  spec.url = config_.base_url + path;
  spec.headers = {{"Authorization", "Bearer " + config_.credentials.at("secret_key").reveal()},
                  {"Stripe-Version", std::string(kApiVersion)}};
  return spec;
}

CallResult StripeConnector::call(Kind kind, const http::HttpRequestSpec& spec,
                                 http::HttpExecutor& executor) const {
  auto result = executor.send(spec, std::chrono::milliseconds(config_.timeout_ms));
  if (auto err = transportError(result)) return *err;
  CallResult out = interpretResponse(result.response.status, result.response.body);
  if (auto* err = std::get_if<ConnectorError>(&out)) {
    // Stripe's Request-Id is what its support asks for; it identifies no customer data.
    log::warn("stripe call failed", {{"connector", config_.id},
                                     {"http_status", std::to_string(err->http_status)},
                                     {"code", err->code},
                                     {"request_id", result.response.header("request-id")}});
  } else if (const auto* p = std::get_if<ProviderPayment>(&out);
             p != nullptr && isUnknownStatus(kind, p->provider_status)) {
    log::warn("unknown Stripe status mapped to processing",
              {{"connector", config_.id},
               {"provider_status", p->provider_status},
               {"provider_ref", p->provider_ref}});
  }
  return out;
}

CallResult StripeConnector::create(const PaymentRequest& request, http::HttpExecutor& executor) {
  http::HttpRequestSpec spec = baseRequest("POST", collectionPath(request.kind));
  spec.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  // why: Stripe replays the first answer for a key for 24 h, so a retry after a timeout can
  // never create a second PaymentIntent or Payout.
  if (!request.idempotency_key.empty()) {
    spec.headers.emplace_back("Idempotency-Key", request.idempotency_key);
  }
  spec.body = request.kind == Kind::kPayout ? buildPayoutForm(request)
                                            : buildPaymentIntentForm(request, return_url_);
  return call(request.kind, spec, executor);
}

CallResult StripeConnector::fetchStatus(Kind kind, const std::string& provider_ref,
                                        const std::string&, http::HttpExecutor& executor) {
  if (provider_ref.empty()) {
    // Stripe retrieves by id only (its search API lags by up to a minute and has no payouts).
    return ConnectorError{
        false, false, 0, "provider_ref_unknown", "Stripe can only fetch a payment by its id", ""};
  }
  return call(
      kind,
      baseRequest("GET", std::string(collectionPath(kind)) + "/" + http::formEncode(provider_ref)),
      executor);
}

WebhookVerdict StripeConnector::verifyWebhook(const WebhookRequest& request) const {
  return verifySignature(request.header("stripe-signature"), request.body,
                         config_.webhook.secret.reveal(), request.now_unix,
                         config_.webhook.tolerance_s);
}

std::vector<ProviderEvent> StripeConnector::parseWebhook(const WebhookRequest& request) const {
  std::string provider_status;
  ProviderEvent event = parseEvent(request.body, &provider_status);
  Kind kind = event.event_type.rfind("payout.", 0) == 0 ? Kind::kPayout : Kind::kCollect;
  if (event.status && isUnknownStatus(kind, provider_status)) {
    log::warn("unknown Stripe status mapped to processing", {{"connector", config_.id},
                                                             {"provider_status", provider_status},
                                                             {"event_id", event.event_id}});
  }
  return {event};
}

std::unique_ptr<Connector> makeStripeConnector(const config::ConnectorConfig& config) {
  return std::make_unique<StripeConnector>(config);
}

}  // namespace paymux::connectors::stripe
