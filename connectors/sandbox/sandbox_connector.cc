#include "connectors/sandbox/sandbox_connector.h"

#include <chrono>

#include "connectors/sandbox/sandbox_transformers.h"
#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"

namespace paymux::connectors::sandbox {
namespace {

std::optional<Kind> parseKind(const std::string& s) { return kindFromString(s); }

Capabilities capabilitiesFrom(const config::ConnectorConfig& c) {
  Capabilities caps;
  for (const auto& k : c.kinds) {
    if (auto kind = parseKind(k)) caps.kinds.push_back(*kind);
  }
  if (c.kinds.empty()) caps.kinds = {Kind::kCollect, Kind::kPayout};
  caps.currencies = c.currencies;
  caps.methods = c.methods;
  caps.can_fetch_status = true;
  return caps;
}

std::string errorCode(const std::string& body, const std::string& fallback) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (!doc.HasParseError() && doc.IsObject()) {
    if (const auto* err = json::getObject(doc, "error")) {
      if (auto code = json::getString(*err, "code")) return *code;
    }
  }
  return fallback;
}

}  // namespace

SandboxConnector::SandboxConnector(const config::ConnectorConfig& config)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  if (config_.credentials.find("api_key") == config_.credentials.end()) {
    throw std::invalid_argument("credentials.api_key: required");
  }
}

CallResult SandboxConnector::interpret(const http::HttpResult& result) const {
  if (auto err = transportError(result)) return *err;
  const auto& resp = result.response;
  if (resp.status == 429 || resp.status >= 500) {
    return ConnectorError{true, false, resp.status, errorCode(resp.body, "provider_unavailable"),
                          "provider answered " + std::to_string(resp.status), ""};
  }
  if (resp.status >= 400) {
    return ConnectorError{false, false, resp.status, errorCode(resp.body, "provider_rejected"),
                          "provider rejected the request with " + std::to_string(resp.status), ""};
  }
  try {
    ProviderPayment p = parsePayment(resp.body);
    if (wireStatusFromString(p.provider_status) == WireStatus::kUnknown) {
      log::warn("unknown provider status mapped to processing",
                {{"connector", config_.id}, {"provider_status", p.provider_status}});
    }
    return p;
  } catch (const WebhookParseError& e) {
    // why: a 2xx we cannot read may still have created a payment: outcome unknown.
    return ConnectorError{false, true, resp.status, "provider_response_invalid", e.what(), ""};
  }
}

CallResult SandboxConnector::create(const PaymentRequest& request, http::HttpExecutor& executor) {
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = config_.base_url + "/v1/payments";
  spec.headers = {{"Authorization", "Bearer " + config_.credentials.at("api_key").reveal()},
                  {"Idempotency-Key", request.idempotency_key},
                  {"Content-Type", "application/json"}};
  spec.body = buildPaymentBody(request);
  return interpret(executor.send(spec, std::chrono::milliseconds(config_.timeout_ms)));
}

CallResult SandboxConnector::fetchStatus(Kind, const std::string& provider_ref,
                                         const std::string& transaction_id,
                                         http::HttpExecutor& executor) {
  http::HttpRequestSpec spec;
  spec.method = "GET";
  // why: after a timeout we never learnt the provider's id; the provider finds it by our id.
  spec.url = provider_ref.empty()
                 ? config_.base_url + "/v1/payments?reference=" + http::formEncode(transaction_id)
                 : config_.base_url + "/v1/payments/" + http::formEncode(provider_ref);
  spec.headers = {{"Authorization", "Bearer " + config_.credentials.at("api_key").reveal()}};
  return interpret(executor.send(spec, std::chrono::milliseconds(config_.timeout_ms)));
}

WebhookVerdict SandboxConnector::verifyWebhook(const WebhookRequest& request) const {
  std::string header = request.header("sandbox-signature");
  if (header.empty()) return {false, "missing Sandbox-Signature header"};
  int64_t timestamp = -1;
  std::vector<std::string> signatures;
  size_t pos = 0;
  while (pos <= header.size()) {
    size_t comma = header.find(',', pos);
    std::string part = header.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (part.rfind("t=", 0) == 0) {
      try {
        timestamp = std::stoll(part.substr(2));
      } catch (const std::exception&) {
        return {false, "bad timestamp"};
      }
    } else if (part.rfind("v1=", 0) == 0) {
      signatures.push_back(part.substr(3));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (timestamp < 0 || signatures.empty()) return {false, "malformed signature header"};
  if (timestamp < request.now_unix - config_.webhook.tolerance_s ||
      timestamp > request.now_unix + config_.webhook.tolerance_s) {
    return {false, "timestamp outside tolerance"};
  }
  std::string expected = crypto::hexEncode(crypto::hmacSha256(
      config_.webhook.secret.reveal(), std::to_string(timestamp) + "." + request.body));
  for (const auto& sig : signatures) {
    if (crypto::constantTimeEquals(sig, expected)) return {true, ""};
  }
  return {false, "signature mismatch"};
}

std::vector<ProviderEvent> SandboxConnector::parseWebhook(const WebhookRequest& request) const {
  rapidjson::Document doc;
  doc.Parse(request.body.c_str(), request.body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  ProviderEvent ev;
  ev.event_id = json::getString(doc, "id").value_or("");
  ev.event_type = json::getString(doc, "type").value_or("");
  ev.occurred_at_unix = json::getInt(doc, "created").value_or(0);
  const auto* data = json::getObject(doc, "data");
  if (ev.event_id.empty() || data == nullptr) throw WebhookParseError("event has no id or data");
  ProviderPayment p = parsePayment(json::serialize(*data));
  ev.provider_ref = p.provider_ref;
  ev.our_id = json::getString(*data, "reference").value_or("");
  ev.status = p.status;
  ev.amount_minor = p.amount_minor;
  ev.currency = p.currency;
  ev.failure = p.failure;
  return {ev};
}

std::unique_ptr<Connector> makeSandboxConnector(const config::ConnectorConfig& config) {
  return std::make_unique<SandboxConnector>(config);
}

}  // namespace paymux::connectors::sandbox
