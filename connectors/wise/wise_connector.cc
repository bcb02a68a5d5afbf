#include "connectors/wise/wise_connector.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <stdexcept>

#include "connectors/wise/wise_transformers.h"
#include "services/common/crypto.h"
#include "services/common/currency.h"
#include "services/common/log.h"

namespace paymux::connectors::wise {
namespace {

bool isPemPublicKey(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  return key != nullptr;
}

std::string setting(const config::ConnectorConfig& c, const std::string& name) {
  auto it = c.settings.find(name);
  return it == c.settings.end() ? "" : it->second;
}

Capabilities capabilitiesFrom(const config::ConnectorConfig& c) {
  for (const auto& k : c.kinds) {
    if (k != "payout") throw std::invalid_argument("supports.kinds: wise makes payouts only");
  }
  Capabilities caps;
  caps.kinds = {Kind::kPayout};
  caps.currencies = c.currencies;
  caps.methods = c.methods.empty() ? std::vector<std::string>{"bank_account"} : c.methods;
  caps.can_fetch_status = true;
  return caps;
}

/// A failed call before funding. No money moves before funding: quotes and recipients are
/// disposable, and a transfer whose answer was lost stays unfunded until Wise cancels it. So no
/// outcome here is unknown, and a transient failure may fail over to another connector.
std::optional<ConnectorError> beforeFundingError(const http::HttpResult& result,
                                                 const std::string& step) {
  if (auto err = transportError(result)) {
    err->retryable = true;
    err->outcome_unknown = false;
    err->message = step + ": " + err->message;
    return err;
  }
  const auto& resp = result.response;
  if (resp.status == 429 || resp.status >= 500) {
    return ConnectorError{true, false, resp.status, errorCode(resp.body, "provider_unavailable"),
                          step + " answered " + std::to_string(resp.status), ""};
  }
  if (resp.status >= 400) {
    return ConnectorError{false, false, resp.status, errorCode(resp.body, "provider_rejected"),
                          step + " rejected with " + std::to_string(resp.status), ""};
  }
  return std::nullopt;
}

ConnectorError unreadable(const std::string& step, long status) {
  return ConnectorError{true, false, status, "provider_response_invalid",
                        "could not read the " + step + " answer", ""};
}

}  // namespace

WiseConnector::WiseConnector(const config::ConnectorConfig& config)
    : config_(config), capabilities_(capabilitiesFrom(config)) {
  if (config_.credentials.find("api_token") == config_.credentials.end() ||
      config_.credentials.at("api_token").empty()) {
    throw std::invalid_argument("credentials.api_token: required");
  }
  profile_id_ = setting(config_, "profile_id");
  if (profile_id_.empty()) throw std::invalid_argument("settings.profile_id: required");
  if (profile_id_.find_first_not_of("0123456789") != std::string::npos) {
    throw std::invalid_argument("settings.profile_id: must be a number");
  }
  source_currency_ = setting(config_, "source_currency");
  if (!source_currency_.empty() && !findCurrency(source_currency_)) {
    throw std::invalid_argument("settings.source_currency: not an ISO 4217 currency code");
  }
  legal_type_ = setting(config_, "recipient_legal_type");
  if (legal_type_.empty()) legal_type_ = "PRIVATE";
  if (legal_type_ != "PRIVATE" && legal_type_ != "BUSINESS") {
    throw std::invalid_argument("settings.recipient_legal_type: must be PRIVATE or BUSINESS");
  }
  if (!config_.webhook.public_key.empty() && !isPemPublicKey(config_.webhook.public_key.reveal())) {
    throw std::invalid_argument("webhook.public_key: not a PEM public key");
  }
}

std::string WiseConnector::profileUrl(const std::string& path) const {
  return config_.base_url + "/v3/profiles/" + profile_id_ + path;
}

http::HttpResult WiseConnector::send(http::HttpExecutor& executor, const std::string& method,
                                     const std::string& url, const std::string& body) const {
  http::HttpRequestSpec spec;
  spec.method = method;
  spec.url = url;
  spec.headers = {{"Authorization", "Bearer " + config_.credentials.at("api_token").reveal()},
                  {"Accept", "application/json"}};
  if (!body.empty()) spec.headers.emplace_back("Content-Type", "application/json");
  spec.body = body;
  return executor.send(spec, std::chrono::milliseconds(config_.timeout_ms));
}

CallResult WiseConnector::create(const PaymentRequest& request, http::HttpExecutor& executor) {
  if (request.kind != Kind::kPayout) {
    return ConnectorError{false, false, 0, "unsupported_kind", "Wise makes payouts only", ""};
  }
  std::string recipient_body = buildRecipientBody(request, profile_id_, legal_type_);
  if (recipient_body.empty() || request.beneficiary.name.empty()) {
    return ConnectorError{false, false, 0, "invalid_beneficiary",
                          "a Wise payout needs the beneficiary's name and an IBAN (or a UK sort "
                          "code and account number)",
                          ""};
  }
  std::string source = source_currency_.empty() ? request.currency : source_currency_;

  auto quote = send(executor, "POST", profileUrl("/quotes"), buildQuoteBody(request, source));
  if (auto err = beforeFundingError(quote, "quote")) return *err;
  auto quote_id = parseId(quote.response.body);
  if (!quote_id) return unreadable("quote", quote.response.status);

  auto recipient = send(executor, "POST", config_.base_url + "/v1/accounts", recipient_body);
  if (auto err = beforeFundingError(recipient, "recipient")) return *err;
  auto recipient_id = parseId(recipient.response.body);
  if (!recipient_id) return unreadable("recipient", recipient.response.status);

  auto created = send(executor, "POST", config_.base_url + "/v1/transfers",
                      buildTransferBody(request, *recipient_id, *quote_id));
  if (auto err = beforeFundingError(created, "transfer")) return *err;
  ProviderPayment transfer;
  try {
    transfer = parseTransfer(created.response.body);
  } catch (const WebhookParseError&) {
    return unreadable("transfer", created.response.status);
  }
  // why: the customerTransactionId hands back the transfer an earlier attempt made. Past
  // incoming_payment_waiting it was funded (or Wise moved it on): funding again must not happen.
  if (transfer.provider_status != kAwaitingFunding) {
    if (transferStateFromString(transfer.provider_status) == TransferState::kUnknown) {
      log::warn("unknown Wise transfer state mapped to processing",
                {{"connector", config_.id}, {"provider_status", transfer.provider_status}});
    }
    log::info("Wise transfer already past funding; not funding again",
              {{"connector", config_.id}, {"transfer", transfer.provider_ref},
               {"provider_status", transfer.provider_status}});
    return transfer;
  }
  return fund(transfer, executor);
}

CallResult WiseConnector::fund(const ProviderPayment& transfer, http::HttpExecutor& executor) {
  auto result =
      send(executor, "POST",
           profileUrl("/transfers/" + http::formEncode(transfer.provider_ref) + "/payments"),
           buildFundingBody());
  if (auto err = transportError(result)) {
    // why: the transfer exists, so never fail over; transportError already tells a request that
    // never left (known unfunded) from one that may have been processed (outcome unknown).
    err->retryable = false;
    err->provider_ref = transfer.provider_ref;
    err->message = "funding: " + err->message;
    return *err;
  }
  const auto& resp = result.response;
  std::string code = errorCode(resp.body, "");
  if (resp.status == 422 && code == "transfer.invalid-state") {
    // Wise refuses to fund twice (or to fund a cancelled transfer): its view of the transfer
    // decides. A lost earlier funding answer lands here.
    auto current = fetchStatus(Kind::kPayout, transfer.provider_ref, "", executor);
    if (const auto* p = std::get_if<ProviderPayment>(&current)) return *p;
    ProviderPayment p = transfer;
    p.status = TxStatus::kProcessing;
    return p;
  }
  if (resp.status >= 500) {
    return ConnectorError{false, true, resp.status, code.empty() ? "provider_unavailable" : code,
                          "funding answered " + std::to_string(resp.status) +
                              "; the transfer may have been funded",
                          transfer.provider_ref};
  }
  if (resp.status >= 400) {
    // A refusal (429 included) processed nothing: the transfer is known to be unfunded.
    cancelUnfunded(transfer.provider_ref, executor);
    return ConnectorError{false, false, resp.status, code.empty() ? "funding_rejected" : code,
                          "funding rejected with " + std::to_string(resp.status),
                          transfer.provider_ref};
  }
  auto funding = parseFunding(resp.body);
  if (!funding) {
    return ConnectorError{false, true, resp.status, "provider_response_invalid",
                          "could not read the funding answer", transfer.provider_ref};
  }
  ProviderPayment p = transfer;
  p.status = TxStatus::kProcessing;
  if (funding->status == "COMPLETED") {
    // Wise moves a funded transfer to processing; the rest arrives by webhook.
    p.provider_status = "processing";
  } else if (funding->status == "REJECTED") {
    p.status = TxStatus::kFailed;
    p.provider_status = "funding_rejected";
    p.failure = Failure{funding->error_code.empty() ? "funding_rejected" : funding->error_code,
                        "Wise refused to fund the transfer from the balance"};
    cancelUnfunded(transfer.provider_ref, executor);
  } else {
    p.provider_status = funding->status;  // not final: the status fetch or a webhook settles it
  }
  return p;
}

void WiseConnector::cancelUnfunded(const std::string& transfer_id,
                                   http::HttpExecutor& executor) const {
  // why: a later create() with the same transaction id would otherwise fund a payout we already
  // reported failed; a cancelled transfer comes back as canceled instead.
  auto result =
      send(executor, "PUT",
           config_.base_url + "/v1/transfers/" + http::formEncode(transfer_id) + "/cancel", "");
  if (!result.ok() || result.response.status >= 400) {
    log::warn("could not cancel an unfunded Wise transfer; Wise cancels it when it expires",
              {{"connector", config_.id}, {"transfer", transfer_id}});
  }
}

CallResult WiseConnector::fetchStatus(Kind, const std::string& provider_ref, const std::string&,
                                      http::HttpExecutor& executor) {
  auto result = send(executor, "GET", config_.base_url + "/v1/transfers/" +
                                          http::formEncode(provider_ref), "");
  if (auto err = transportError(result)) return *err;
  const auto& resp = result.response;
  if (resp.status == 429 || resp.status >= 500) {
    return ConnectorError{true, false, resp.status, errorCode(resp.body, "provider_unavailable"),
                          "transfer fetch answered " + std::to_string(resp.status), provider_ref};
  }
  if (resp.status >= 400) {
    return ConnectorError{false, false, resp.status, errorCode(resp.body, "provider_rejected"),
                          "transfer fetch rejected with " + std::to_string(resp.status),
                          provider_ref};
  }
  try {
    return parseTransfer(resp.body);
  } catch (const WebhookParseError& e) {
    return ConnectorError{false, false, resp.status, "provider_response_invalid", e.what(),
                          provider_ref};
  }
}

WebhookVerdict WiseConnector::verifyWebhook(const WebhookRequest& request) const {
  if (config_.webhook.public_key.empty()) return {false, "no webhook.public_key configured"};
  std::string header = request.header("x-signature-sha256");
  if (header.empty()) return {false, "missing X-Signature-SHA256 header"};
  while (!header.empty() && (header.back() == ' ' || header.back() == '\r')) header.pop_back();
  auto signature = crypto::base64Decode(header);
  if (!signature || signature->empty()) return {false, "signature is not base64"};
  if (!crypto::verifySha256Signature(config_.webhook.public_key.reveal(), request.body,
                                     *signature)) {
    return {false, "signature mismatch"};
  }
  return {true, ""};
}

std::vector<ProviderEvent> WiseConnector::parseWebhook(const WebhookRequest& request) const {
  return parseWebhookBody(request.body);
}

std::unique_ptr<Connector> makeWiseConnector(const config::ConnectorConfig& config) {
  return std::make_unique<WiseConnector>(config);
}

}  // namespace paymux::connectors::wise
