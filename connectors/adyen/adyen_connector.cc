#include "connectors/adyen/adyen_connector.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "connectors/adyen/adyen_transfer_status.h"
#include "connectors/adyen/adyen_webhooks.h"
#include "services/common/crypto.h"
#include "services/common/json.h"
#include "services/common/log.h"

namespace paymux::connectors::adyen {
namespace {

std::string setting(const config::ConnectorConfig& c, const std::string& name,
                    const std::string& fallback) {
  auto it = c.settings.find(name);
  return it == c.settings.end() || it->second.empty() ? fallback : it->second;
}

std::string withoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool isHexKey(const std::string& key) {
  auto bytes = crypto::hexDecode(key);
  return bytes && !bytes->empty();
}

void requireOneOf(const std::string& key, const std::string& value,
                  std::initializer_list<std::string_view> allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    throw std::invalid_argument(key + ": unsupported value");
  }
}

Capabilities capabilitiesFrom(const config::ConnectorConfig& c) {
  Capabilities caps;
  for (const auto& k : c.kinds) {
    if (auto kind = kindFromString(k)) caps.kinds.push_back(*kind);
  }
  if (c.kinds.empty()) caps.kinds = {Kind::kCollect, Kind::kPayout};
  caps.currencies = c.currencies;
  // why: unlike a generic API, only these map onto Adyen request shapes (buildPaymentBody /
  // buildTransferBody); routing must not pick Adyen for the others.
  caps.methods = c.methods.empty() ? std::vector<std::string>{"card", "sepa_debit", "bank_account",
                                                              "provider_account"}
                                   : c.methods;
  caps.can_fetch_status = false;
  return caps;
}

bool supports(const Capabilities& caps, Kind kind) {
  return std::find(caps.kinds.begin(), caps.kinds.end(), kind) != caps.kinds.end();
}

}  // namespace

AdyenConnector::AdyenConnector(const config::ConnectorConfig& config)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  auto api_key = config_.credentials.find("api_key");
  if (api_key == config_.credentials.end() || api_key->second.empty()) {
    throw std::invalid_argument("credentials.api_key: required");
  }
  transfers_api_key_ = api_key->second;
  auto transfers_api_key = config_.credentials.find("transfers_api_key");
  if (transfers_api_key != config_.credentials.end() && !transfers_api_key->second.empty()) {
    transfers_api_key_ = transfers_api_key->second;
  }
  notification_key_ = config_.webhook.secret;
  if (notification_key_.empty()) throw std::invalid_argument("webhook.secret: required");
  if (!isHexKey(notification_key_.reveal())) {
    throw std::invalid_argument("webhook.secret: must be the hex HMAC key from Adyen");
  }
  transfer_key_ = notification_key_;
  auto transfer_key = config_.credentials.find("transfer_webhook_hmac_key");
  if (transfer_key != config_.credentials.end() && !transfer_key->second.empty()) {
    transfer_key_ = transfer_key->second;
    if (!isHexKey(transfer_key_.reveal())) {
      throw std::invalid_argument("credentials.transfer_webhook_hmac_key: must be a hex HMAC key");
    }
  }
  settings_.merchant_account = setting(config_, "merchant_account", "");
  if (supports(capabilities_, Kind::kCollect) && settings_.merchant_account.empty()) {
    throw std::invalid_argument("settings.merchant_account: required");
  }
  settings_.balance_account_id = setting(config_, "balance_account_id", "");
  if (supports(capabilities_, Kind::kPayout) && settings_.balance_account_id.empty()) {
    throw std::invalid_argument("settings.balance_account_id: required for payouts");
  }
  settings_.return_url = setting(config_, "return_url", settings_.return_url);
  settings_.priority = setting(config_, "priority", settings_.priority);
  requireOneOf("settings.priority", settings_.priority,
               {"crossBorder", "fast", "instant", "internal", "regular", "wire"});
  settings_.recurring_processing_model =
      setting(config_, "recurring_processing_model", settings_.recurring_processing_model);
  requireOneOf("settings.recurring_processing_model", settings_.recurring_processing_model,
               {"CardOnFile", "Subscription", "UnscheduledCardOnFile"});
  config_.base_url = withoutTrailingSlash(config_.base_url);
  transfers_base_url_ =
      withoutTrailingSlash(setting(config_, "transfers_base_url", config_.base_url));
}

CallResult AdyenConnector::create(const PaymentRequest& request, http::HttpExecutor& executor) {
  bool collect = request.kind == Kind::kCollect;
  Body body =
      collect ? buildPaymentBody(request, settings_) : buildTransferBody(request, settings_);
  if (body.error) return *body.error;
  std::string url =
      collect ? config_.base_url + "/v71/payments" : transfers_base_url_ + "/btl/v4/transfers";
  return send(url, collect ? config_.credentials.at("api_key") : transfers_api_key_, body.json,
              request, executor);
}

CallResult AdyenConnector::send(const std::string& url, const Secret& api_key,
                                const std::string& body, const PaymentRequest& request,
                                http::HttpExecutor& executor) const {
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = url;
  spec.headers = {{"X-API-Key", api_key.reveal()}, {"Content-Type", "application/json"}};
  // why: Adyen keeps an Idempotency-Key for at least 7 days; a retry of the same transaction
  // returns the first answer instead of charging or paying out twice.
  if (!request.idempotency_key.empty()) {
    spec.headers.emplace_back("Idempotency-Key", request.idempotency_key);
  }
  spec.body = body;
  auto result = executor.send(spec, std::chrono::milliseconds(config_.timeout_ms));
  if (auto err = transportError(result)) return *err;
  const auto& resp = result.response;
  if (resp.status >= 400) {
    AdyenError e = parseError(resp.body);
    bool retryable = resp.status == 429 || resp.status >= 500;
    std::string fallback = retryable                                  ? "provider_unavailable"
                           : resp.status == 401 || resp.status == 403 ? "provider_auth_failed"
                                                                      : "provider_rejected";
    std::string message = "adyen answered " + std::to_string(resp.status);
    if (!e.message.empty()) message += ": " + e.message;
    return ConnectorError{
        retryable, false, resp.status, e.error_code.empty() ? fallback : e.error_code, message, ""};
  }
  try {
    ProviderPayment p = request.kind == Kind::kCollect ? parsePaymentResponse(resp.body)
                                                       : parseTransferResponse(resp.body);
    bool unknown = request.kind == Kind::kCollect
                       ? resultCodeFromString(p.provider_status) == ResultCode::kUnknown
                       : transferStatusFromString(p.provider_status) == TransferStatus::kUnknown;
    if (unknown) {
      log::warn("unknown adyen status mapped to processing",
                {{"connector", config_.id}, {"provider_status", p.provider_status}});
    } else if (p.provider_status == "PartiallyAuthorised") {
      log::warn("adyen partially authorised a payment; left processing for an operator",
                {{"connector", config_.id}, {"provider_ref", p.provider_ref}});
    }
    return p;
  } catch (const WebhookParseError& e) {
    // why: a 2xx we cannot read may still have created a payment: outcome unknown.
    return ConnectorError{false, true, resp.status, "provider_response_invalid", e.what(), ""};
  }
}

WebhookVerdict AdyenConnector::verifyWebhook(const WebhookRequest& request) const {
  // Balance-platform webhooks sign the raw body in a header; standard notifications sign each
  // item in the body. The scheme carries no timestamp: replays are absorbed by event_id dedup.
  std::string header = request.header("hmacsignature");
  if (!header.empty()) return verifyRawBody(request.body, header, transfer_key_.reveal());
  return verifyNotificationItems(request.body, notification_key_.reveal());
}

std::vector<ProviderEvent> AdyenConnector::parseWebhook(const WebhookRequest& request) const {
  if (json::nestingExceeds(request.body, json::kMaxUntrustedDepth)) {
    throw WebhookParseError("body nests too deeply");
  }
  rapidjson::Document doc;
  doc.Parse(request.body.c_str(), request.body.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("body is not a JSON object");
  if (doc.HasMember("notificationItems")) return notificationEvents(request.body);
  std::string type = json::getString(doc, "type").value_or("");
  if (type.rfind("balancePlatform.transfer.", 0) == 0) return transferEvents(request.body);
  throw WebhookParseError("neither a notification nor a transfer webhook");
}

std::unique_ptr<Connector> makeAdyenConnector(const config::ConnectorConfig& config) {
  return std::make_unique<AdyenConnector>(config);
}

}  // namespace paymux::connectors::adyen
