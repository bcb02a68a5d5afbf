#include "connectors/gocardless/gocardless_connector.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "connectors/gocardless/gocardless_transformers.h"
#include "services/common/crypto.h"
#include "services/common/log.h"

namespace paymux::connectors::gocardless {
namespace {

Capabilities capabilitiesFrom(const config::ConnectorConfig& c) {
  for (const auto& k : c.kinds) {
    if (k != "collect")
      throw std::invalid_argument("supports.kinds: gocardless makes collections only");
  }
  Capabilities caps;
  caps.kinds = {Kind::kCollect};
  caps.currencies = c.currencies;
  caps.methods = c.methods.empty() ? std::vector<std::string>{"sepa_debit"} : c.methods;
  caps.can_fetch_status = true;
  return caps;
}

/// The error a non-2xx answer means (the 409 conflict is handled before this).
ConnectorError apiError(const http::HttpResponse& resp, const std::string& what) {
  auto parsed = parseError(resp.body);
  std::string code = "provider_rejected";
  std::string message = what + " answered " + std::to_string(resp.status);
  if (parsed) {
    if (!parsed->reason.empty()) {
      code = parsed->reason;
    } else if (!parsed->type.empty()) {
      code = parsed->type;
    }
    if (!parsed->message.empty()) message += ": " + parsed->message;
  }
  bool transient = resp.status == 429 || resp.status >= 500;
  if (transient && !parsed) code = "provider_unavailable";
  return ConnectorError{transient, false, resp.status, code, message, ""};
}

}  // namespace

GoCardlessConnector::GoCardlessConnector(const config::ConnectorConfig& config)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  auto token = config_.credentials.find("access_token");
  if (token == config_.credentials.end() || token->second.empty()) {
    throw std::invalid_argument("credentials.access_token: required");
  }
}

http::HttpRequestSpec GoCardlessConnector::spec(const std::string& method,
                                                const std::string& path) const {
  http::HttpRequestSpec s;
  s.method = method;
  s.url = config_.base_url + path;
  s.headers = {{"Authorization", "Bearer " + config_.credentials.at("access_token").reveal()},
               {"GoCardless-Version", std::string(kApiVersion)},
               {"Accept", "application/json"}};
  return s;
}

CallResult GoCardlessConnector::interpret(const http::HttpResult& result,
                                          const std::string& what) const {
  if (auto err = transportError(result)) return *err;
  const auto& resp = result.response;
  if (resp.status >= 400) return apiError(resp, what);
  try {
    ProviderPayment p = parsePayment(resp.body);
    if (paymentStatusFromString(p.provider_status) == PaymentStatus::kUnknown) {
      log::warn("unknown GoCardless payment status mapped to processing",
                {{"connector", config_.id}, {"provider_status", p.provider_status}});
    }
    return p;
  } catch (const WebhookParseError& e) {
    // why: a 2xx we cannot read may still have created a payment: outcome unknown.
    return ConnectorError{false, true, resp.status, "provider_response_invalid", e.what(), ""};
  }
}

CallResult GoCardlessConnector::create(const PaymentRequest& request,
                                       http::HttpExecutor& executor) {
  if (request.kind != Kind::kCollect) {
    return ConnectorError{false, false, 0, "unsupported_kind", "GoCardless collects only", ""};
  }
  if (request.payment_method.mandate.empty()) {
    return ConnectorError{false, false, 0, "mandate_required",
                          "a GoCardless collection needs payment_method.mandate", ""};
  }
  auto s = spec("POST", "/payments");
  s.headers.emplace_back("Content-Type", "application/json");
  s.headers.emplace_back("Idempotency-Key", request.idempotency_key.empty()
                                                ? request.transaction_id
                                                : request.idempotency_key);
  s.body = buildPaymentBody(request);
  auto result = executor.send(s, std::chrono::milliseconds(config_.timeout_ms));
  if (result.ok() && result.response.status >= 400) {
    auto error = parseError(result.response.body);
    if (error && error->reason == "idempotent_creation_conflict" &&
        !error->conflicting_resource_id.empty()) {
      // An earlier attempt with this key created the payment: it is the answer.
      auto existing = fetchStatus(Kind::kCollect, error->conflicting_resource_id,
                                  request.transaction_id, executor);
      if (auto* err = std::get_if<ConnectorError>(&existing)) {
        // The payment exists whatever the fetch says: never fail over, settle it later.
        err->retryable = false;
        err->outcome_unknown = true;
        err->provider_ref = error->conflicting_resource_id;
      }
      return existing;
    }
    if (error && error->type == "invalid_state" && error->reason == "mandate_is_inactive") {
      // why: a cancelled, failed or expired mandate is a decline (a failed collection, no
      // failover), not a provider error. No payment was created.
      ProviderPayment p;
      p.status = TxStatus::kFailed;
      p.provider_status = error->reason;
      p.failure = Failure{error->reason, error->message};
      return p;
    }
  }
  return interpret(result, "payment creation");
}

CallResult GoCardlessConnector::fetchStatus(Kind, const std::string& provider_ref,
                                            const std::string&, http::HttpExecutor& executor) {
  auto s = spec("GET", "/payments/" + http::formEncode(provider_ref));
  auto result = interpret(executor.send(s, std::chrono::milliseconds(config_.timeout_ms)),
                          "payment fetch");
  if (auto* err = std::get_if<ConnectorError>(&result)) err->provider_ref = provider_ref;
  return result;
}

WebhookVerdict GoCardlessConnector::verifyWebhook(const WebhookRequest& request) const {
  if (config_.webhook.secret.empty()) return {false, "no webhook.secret configured"};
  std::string header = request.header("webhook-signature");
  if (header.empty()) return {false, "missing Webhook-Signature header"};
  std::transform(header.begin(), header.end(), header.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string expected = webhookSignature(config_.webhook.secret.reveal(), request.body);
  if (!crypto::constantTimeEquals(header, expected)) return {false, "signature mismatch"};
  return {true, ""};
}

std::vector<ProviderEvent> GoCardlessConnector::parseWebhook(const WebhookRequest& request) const {
  return parseEvents(request.body);
}

std::unique_ptr<Connector> makeGoCardlessConnector(const config::ConnectorConfig& config) {
  return std::make_unique<GoCardlessConnector>(config);
}

}  // namespace paymux::connectors::gocardless
