#include "connectors/paypal/paypal_connector.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "services/common/crypto.h"
#include "services/common/log.h"

namespace paymux::connectors::paypal {
namespace {

constexpr std::string_view kDefaultCertHosts = "api.paypal.com,api.sandbox.paypal.com";
constexpr size_t kMaxRequestIdLength = 108;  // PayPal-Request-Id maxLength (Orders v2)

std::string setting(const config::ConnectorConfig& c, const std::string& key,
                    std::string_view fallback = "") {
  auto it = c.settings.find(key);
  return it == c.settings.end() ? std::string(fallback) : it->second;
}

void rejectUnknownKeys(const config::ConnectorConfig& c) {
  static const std::set<std::string> kSettings = {
      "return_url", "cancel_url", "brand_name",         "payout_email_subject",
      "webhook_id", "cert_hosts", "allow_http_cert_url"};
  static const std::set<std::string> kCredentials = {"client_id", "client_secret"};
  for (const auto& [key, value] : c.settings) {
    if (!kSettings.contains(key)) throw std::invalid_argument("settings." + key + ": unknown key");
  }
  for (const auto& [key, value] : c.credentials) {
    if (!kCredentials.contains(key)) {
      throw std::invalid_argument("credentials." + key + ": unknown key");
    }
  }
  for (const char* key : {"client_id", "client_secret"}) {
    auto it = c.credentials.find(key);
    if (it == c.credentials.end() || it->second.empty()) {
      throw std::invalid_argument(std::string("credentials.") + key + ": required");
    }
  }
  for (const char* key : {"return_url", "cancel_url"}) {
    std::string v = setting(c, key);
    if (!v.empty() && v.rfind("https://", 0) != 0 && v.rfind("http://", 0) != 0) {
      throw std::invalid_argument(std::string("settings.") + key + ": must be an http(s) URL");
    }
  }
}

std::vector<std::string> splitHosts(const std::string& list) {
  std::vector<std::string> hosts;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string host =
        list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    host.erase(0, host.find_first_not_of(" \t"));
    host.erase(host.find_last_not_of(" \t") + 1);
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (!host.empty()) hosts.push_back(host);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return hosts;
}

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

/// PayPal-Request-Id for a key: itself when PayPal accepts its length, else its SHA-256.
std::string requestId(const std::string& key) {
  return key.size() <= kMaxRequestIdLength ? key : crypto::sha256Hex(key);
}

/// The error for a transport failure or a non-2xx answer; nullopt for 2xx.
std::optional<ConnectorError> httpError(const http::HttpResult& result) {
  if (auto err = transportError(result)) return err;
  const auto& resp = result.response;
  if (resp.status >= 200 && resp.status < 300) return std::nullopt;
  ApiError api = parseApiError(resp.body);
  std::string code = api.code();
  std::string message = api.description.empty() ? api.message : api.description;
  if (message.empty()) message = "PayPal answered " + std::to_string(resp.status);
  if (!api.debug_id.empty()) message += " (debug_id " + api.debug_id + ")";
  if (resp.status == 401) {
    // why: PayPal processed nothing for an unauthenticated call; another connector may try.
    return connectorError(true, false, resp.status, "provider_unauthorized", message, "");
  }
  bool retryable = resp.status == 429 || resp.status >= 500;
  if (code.empty()) code = retryable ? "provider_unavailable" : "provider_rejected";
  return connectorError(retryable, false, resp.status, code, message, "");
}

void warnIfUnknown(const std::string& connector, const ProviderPayment& p) {
  if (p.status == TxStatus::kProcessing &&
      orderStatusFromString(p.provider_status) == OrderStatus::kUnknown &&
      captureStatusFromString(p.provider_status) == CaptureStatus::kUnknown &&
      itemStatusFromString(p.provider_status) == ItemStatus::kUnknown &&
      batchStatusFromString(p.provider_status) == BatchStatus::kUnknown) {
    log::warn("unknown PayPal status mapped to processing",
              {{"connector", connector}, {"provider_status", p.provider_status}});
  }
}

}  // namespace

PayPalConnector::PayPalConnector(const config::ConnectorConfig& config,
                                 std::unique_ptr<http::HttpExecutor> cert_executor)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  rejectUnknownKeys(config_);
  base_url_ = config_.base_url;
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  order_options_ = {setting(config_, "return_url"), setting(config_, "cancel_url"),
                    setting(config_, "brand_name")};
  payout_email_subject_ = setting(config_, "payout_email_subject", "You have a payout");
  webhook_check_.webhook_id = setting(config_, "webhook_id");
  webhook_check_.cert_policy.hosts = splitHosts(setting(config_, "cert_hosts", kDefaultCertHosts));
  webhook_check_.cert_policy.allow_http = setting(config_, "allow_http_cert_url") == "true";
  webhook_check_.tolerance_s = config_.webhook.tolerance_s;
  timeout_ = std::chrono::milliseconds(config_.timeout_ms);
  tokens_ =
      std::make_unique<TokenCache>(url("/v1/oauth2/token"), config_.credentials.at("client_id"),
                                   config_.credentials.at("client_secret"), timeout_);
  if (!cert_executor) cert_executor = std::make_unique<http::CurlExecutor>();
  certs_ = std::make_unique<CertificateCache>(std::move(cert_executor), timeout_);
}

PayPalConnector::Sent PayPalConnector::call(http::HttpRequestSpec spec,
                                            http::HttpExecutor& executor) {
  TokenCache::Result token = tokens_->get(executor);
  if (auto* err = std::get_if<ConnectorError>(&token)) return *err;
  spec.headers.emplace_back("Authorization", "Bearer " + std::get<Secret>(token).reveal());
  http::HttpResult result = executor.send(spec, timeout_);
  if (!result.ok() || result.response.status != 401) return result;
  // why: the token may have been revoked or expired early; one refresh and one retry, so a
  // credential problem cannot loop.
  Secret rejected = std::get<Secret>(token);
  token = tokens_->refresh(executor, rejected);
  if (auto* err = std::get_if<ConnectorError>(&token)) return *err;
  spec.headers.back().second = "Bearer " + std::get<Secret>(token).reveal();
  return executor.send(spec, timeout_);
}

CallResult PayPalConnector::create(const PaymentRequest& request, http::HttpExecutor& executor) {
  return request.kind == Kind::kCollect ? createOrder(request, executor)
                                        : createPayout(request, executor);
}

CallResult PayPalConnector::interpretOrder(const Sent& sent, const std::string& order_id) const {
  if (const auto* err = std::get_if<ConnectorError>(&sent)) return *err;
  const auto& result = std::get<http::HttpResult>(sent);
  if (result.ok() && result.response.status == 422) {
    ApiError api = parseApiError(result.response.body);
    if (isDeclineIssue(api.issue)) {
      // A decline of this payer's payment: a failed payment, not an integration error.
      ProviderPayment p;
      p.status = TxStatus::kFailed;
      p.provider_ref = order_id;
      p.provider_status = api.issue;
      p.failure = Failure{api.issue, api.description.empty() ? api.message : api.description};
      return p;
    }
  }
  if (auto err = httpError(result)) return *err;
  try {
    ProviderPayment p = parseOrder(result.response.body);
    warnIfUnknown(config_.id, p);
    return p;
  } catch (const WebhookParseError& e) {
    // why: a 2xx we cannot read may still have created or captured the order.
    return connectorError(false, true, result.response.status, "provider_response_invalid",
                          e.what(), order_id);
  }
}

CallResult PayPalConnector::createOrder(const PaymentRequest& request,
                                        http::HttpExecutor& executor) {
  auto value = toPayPalValue(request.amount_minor, request.currency, request.currency_exponent);
  if (!value) {
    return connectorError(true, false, 0, "amount_not_supported",
                          "PayPal cannot state this amount in " + request.currency, "");
  }
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = url("/v2/checkout/orders");
  spec.headers = {{"Content-Type", "application/json"},
                  {"PayPal-Request-Id", requestId(request.idempotency_key)},
                  {"Prefer", "return=representation"}};
  spec.body = buildOrderBody(request, *value, order_options_);
  return interpretOrder(call(spec, executor), "");
}

CallResult PayPalConnector::captureOrder(const std::string& order_id,
                                         http::HttpExecutor& executor) {
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = url("/v2/checkout/orders/" + http::formEncode(order_id) + "/capture");
  // why: derived from the order, so a repeated follow-up (duplicate webhook, engine retry)
  // replays the first capture instead of attempting a second one.
  spec.headers = {{"Content-Type", "application/json"},
                  {"PayPal-Request-Id", requestId("capture-" + order_id)},
                  {"Prefer", "return=representation"}};
  spec.body = "{}";
  Sent sent = call(spec, executor);
  if (const auto* result = std::get_if<http::HttpResult>(&sent);
      result && result->ok() && result->response.status == 422 &&
      parseApiError(result->response.body).issue == "ORDER_ALREADY_CAPTURED") {
    return getOrder(order_id, executor);
  }
  return interpretOrder(sent, order_id);
}

CallResult PayPalConnector::getOrder(const std::string& order_id, http::HttpExecutor& executor) {
  http::HttpRequestSpec spec;
  spec.url = url("/v2/checkout/orders/" + http::formEncode(order_id));
  return interpretOrder(call(spec, executor), order_id);
}

CallResult PayPalConnector::createPayout(const PaymentRequest& request,
                                         http::HttpExecutor& executor) {
  auto receiver = payoutReceiver(request.beneficiary);
  if (!receiver) {
    return connectorError(false, false, 0, "beneficiary_invalid",
                          "PayPal payouts need beneficiary.email or beneficiary.account_id", "");
  }
  auto value = toPayPalValue(request.amount_minor, request.currency, request.currency_exponent);
  if (!value) {
    return connectorError(true, false, 0, "amount_not_supported",
                          "PayPal cannot state this amount in " + request.currency, "");
  }
  http::HttpRequestSpec spec;
  spec.method = "POST";
  spec.url = url("/v1/payments/payouts");
  spec.headers = {{"Content-Type", "application/json"},
                  {"PayPal-Request-Id", requestId(request.idempotency_key)}};
  spec.body = buildPayoutBody(request, *value, *receiver, payout_email_subject_);
  Sent sent = call(spec, executor);
  if (const auto* err = std::get_if<ConnectorError>(&sent)) return *err;
  const auto& result = std::get<http::HttpResult>(sent);
  if (result.ok() && result.response.status == 400) {
    // PayPal refuses a reused sender_batch_id with a link to the original batch: that batch
    // is this payout (sender_batch_id is our transaction id).
    ApiError api = parseApiError(result.response.body);
    const std::string marker = "/v1/payments/payouts/";
    size_t at = api.link_href.find(marker);
    if (api.name == "USER_BUSINESS_ERROR" && at != std::string::npos) {
      std::string batch_id = api.link_href.substr(at + marker.size());
      batch_id = batch_id.substr(0, batch_id.find_first_of("/?#"));
      if (!batch_id.empty()) return getPayoutBatch(batch_id, executor, std::nullopt);
    }
  }
  if (auto err = httpError(result)) return *err;
  try {
    PayoutBatch batch = parsePayoutBatch(result.response.body);
    if (batch.item) return *batch.item;
    // why: the create answer names only the batch; its item (id and status) is what webhooks
    // and status fetches speak about, so look it up now. If that fails the batch id stands in.
    return getPayoutBatch(batch.batch_id, executor, batchPayment(batch));
  } catch (const WebhookParseError& e) {
    return connectorError(false, true, result.response.status, "provider_response_invalid",
                          e.what(), "");
  }
}

CallResult PayPalConnector::getPayoutBatch(const std::string& batch_id,
                                           http::HttpExecutor& executor,
                                           std::optional<ProviderPayment> fallback) {
  http::HttpRequestSpec spec;
  spec.url = url("/v1/payments/payouts/" + http::formEncode(batch_id));
  Sent sent = call(spec, executor);
  std::optional<ConnectorError> err;
  if (const auto* e = std::get_if<ConnectorError>(&sent)) {
    err = *e;
  } else {
    err = httpError(std::get<http::HttpResult>(sent));
  }
  if (!err) {
    try {
      ProviderPayment p =
          batchPayment(parsePayoutBatch(std::get<http::HttpResult>(sent).response.body));
      warnIfUnknown(config_.id, p);
      return p;
    } catch (const WebhookParseError& e) {
      err = connectorError(false, false, 200, "provider_response_invalid", e.what(), batch_id);
    }
  }
  if (fallback) return *fallback;
  err->provider_ref = batch_id;
  return *err;
}

CallResult PayPalConnector::fetchStatus(Kind kind, const std::string& provider_ref,
                                        const std::string&, http::HttpExecutor& executor) {
  if (kind == Kind::kCollect) {
    CallResult order = getOrder(provider_ref, executor);
    // why: an approved order settles only once captured. When the follow-up after
    // CHECKOUT.ORDER.APPROVED failed, or that webhook never came, the status poll is what
    // finishes the payment; the capture's PayPal-Request-Id derives from the order, so this
    // never captures twice.
    const auto* p = std::get_if<ProviderPayment>(&order);
    if (p != nullptr && orderStatusFromString(p->provider_status) == OrderStatus::kApproved) {
      return captureOrder(provider_ref, executor);
    }
    return order;
  }
  http::HttpRequestSpec spec;
  spec.url = url("/v1/payments/payouts-item/" + http::formEncode(provider_ref));
  Sent sent = call(spec, executor);
  if (const auto* err = std::get_if<ConnectorError>(&sent)) return *err;
  const auto& result = std::get<http::HttpResult>(sent);
  if (result.ok() && result.response.status == 404) {
    // The reference is a batch id (create could not look up the item): ask the batch.
    return getPayoutBatch(provider_ref, executor, std::nullopt);
  }
  if (auto err = httpError(result)) return *err;
  try {
    ProviderPayment p = parsePayoutItem(result.response.body);
    warnIfUnknown(config_.id, p);
    return p;
  } catch (const WebhookParseError& e) {
    return connectorError(false, false, result.response.status, "provider_response_invalid",
                          e.what(), provider_ref);
  }
}

WebhookVerdict PayPalConnector::verifyWebhook(const WebhookRequest& request) const {
  return verifyWebhookSignature(request, webhook_check_, *certs_);
}

std::vector<ProviderEvent> PayPalConnector::parseWebhook(const WebhookRequest& request) const {
  return parseEvent(request.body);
}

std::optional<CallResult> PayPalConnector::followUp(const ProviderEvent& event,
                                                    http::HttpExecutor& executor) {
  if (event.event_type != "CHECKOUT.ORDER.APPROVED" || event.provider_ref.empty()) {
    return std::nullopt;
  }
  return captureOrder(event.provider_ref, executor);
}

std::unique_ptr<Connector> makePayPalConnector(const config::ConnectorConfig& config) {
  return std::make_unique<PayPalConnector>(config);
}

}  // namespace paymux::connectors::paypal
