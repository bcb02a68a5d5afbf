#include "connectors/adyen/adyen_transformers.h"

#include <array>
#include <cctype>
#include <utility>

#include "connectors/adyen/adyen_transfer_status.h"
#include "services/common/json.h"

namespace paymux::connectors::adyen {
namespace {

ConnectorError notSent(bool retryable, std::string code, std::string message) {
  return ConnectorError{retryable, false, 0, std::move(code), std::move(message), ""};
}

void writeAmount(json::Writer& w, const PaymentRequest& r) {
  json::key(w, "amount");
  w.StartObject();
  json::kv(w, "currency", r.currency);
  json::kvInt(w, "value", r.amount_minor);
  w.EndObject();
}

// why: Adyen passes the description to the beneficiary's bank, which accepts only this set
// (TransferInfo.description); other characters would be rejected or mangled downstream.
std::string bankText(std::string_view text, size_t max_length) {
  static constexpr std::string_view kAllowed = "/-?:().,'+ ";
  std::string out;
  for (char c : text) {
    if (out.size() == max_length) break;
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || kAllowed.find(c) != kAllowed.npos;
    out += ok && static_cast<unsigned char>(c) < 0x80 ? c : ' ';
  }
  return out;
}

std::string alnumOnly(std::string_view text, size_t max_length) {
  std::string out;
  for (char c : text) {
    if (out.size() == max_length) break;
    if (static_cast<unsigned char>(c) < 0x80 && std::isalnum(static_cast<unsigned char>(c))) {
      out += c;
    }
  }
  return out;
}

std::optional<Failure> failureFrom(const rapidjson::Value& doc, const char* fallback_code) {
  std::string code = json::getString(doc, "refusalReasonCode").value_or(fallback_code);
  std::string message = json::getString(doc, "refusalReason").value_or(fallback_code);
  return Failure{code.empty() ? fallback_code : code, message};
}

rapidjson::Document parseObject(std::string_view text, const char* what) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    throw WebhookParseError(std::string(what) + " is not a JSON object");
  }
  return doc;
}

void readAmount(const rapidjson::Value& doc, ProviderPayment& p) {
  if (const auto* amount = json::getObject(doc, "amount")) {
    p.amount_minor = json::getInt(*amount, "value");
    p.currency = json::getString(*amount, "currency").value_or("");
  }
}

}  // namespace

ResultCode resultCodeFromString(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, ResultCode>, 14> kNames = {{
      {"AuthenticationFinished", ResultCode::kAuthenticationFinished},
      {"AuthenticationNotRequired", ResultCode::kAuthenticationNotRequired},
      {"Authorised", ResultCode::kAuthorised},
      {"Cancelled", ResultCode::kCancelled},
      {"ChallengeShopper", ResultCode::kChallengeShopper},
      {"Error", ResultCode::kError},
      {"IdentifyShopper", ResultCode::kIdentifyShopper},
      {"PartiallyAuthorised", ResultCode::kPartiallyAuthorised},
      {"Pending", ResultCode::kPending},
      {"PresentToShopper", ResultCode::kPresentToShopper},
      {"Received", ResultCode::kReceived},
      {"RedirectShopper", ResultCode::kRedirectShopper},
      {"Refused", ResultCode::kRefused},
      {"Success", ResultCode::kSuccess},
  }};
  for (const auto& [name, code] : kNames) {
    if (name == s) return code;
  }
  return ResultCode::kUnknown;
}

TxStatus toTxStatus(ResultCode code) {
  switch (code) {
    // why: Authorised is final for us: paymux never captures separately, the merchant account is
    // expected to auto-capture (Adyen's default), so an authorisation is the collected payment.
    case ResultCode::kAuthorised:
    case ResultCode::kSuccess:  // in the v71 enum; Adyen's word for a completed payment
      return TxStatus::kSucceeded;
    case ResultCode::kRefused:
    case ResultCode::kError:
      return TxStatus::kFailed;
    case ResultCode::kCancelled:
      return TxStatus::kCanceled;
    case ResultCode::kRedirectShopper:
    case ResultCode::kIdentifyShopper:
    case ResultCode::kChallengeShopper:
      return TxStatus::kRequiresAction;
    // Outcome follows by AUTHORISATION webhook.
    case ResultCode::kPending:
    case ResultCode::kReceived:
    case ResultCode::kPresentToShopper:
    // why: authentication-only results: we never request authentication-only flows, and they
    // say nothing about an authorisation, so the payment is not settled either way.
    case ResultCode::kAuthenticationFinished:
    case ResultCode::kAuthenticationNotRequired:
    // why: we never allow partial authorisation; a partial amount is neither a success for the
    // full amount nor a failure (money is held), so it stays open for an operator (logged).
    case ResultCode::kPartiallyAuthorised:
    case ResultCode::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

Body buildPaymentBody(const PaymentRequest& r, const RequestSettings& s) {
  const auto& method = r.payment_method;
  std::string stored_id =
      method.type == "sepa_debit" && !method.mandate.empty() ? method.mandate : method.token;
  if (method.type != "card" && method.type != "sepa_debit") {
    return {"", notSent(true, "payment_method_unsupported",
                        "the adyen connector does not support payment method " + method.type)};
  }
  if (stored_id.empty()) {
    return {"", notSent(false, "payment_method_invalid",
                        method.type == "card" ? "payment_method.token: required"
                                              : "payment_method.mandate: required")};
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  writeAmount(w, r);
  json::kv(w, "merchantAccount", s.merchant_account);
  json::kv(w, "reference", r.transaction_id);
  json::key(w, "paymentMethod");
  w.StartObject();
  if (method.type == "card") {
    json::kv(w, "type", "scheme");
  } else {
    // A stored SEPA mandate: Adyen needs no IBAN for it (see schemas/README.md).
    json::kv(w, "type", "sepadirectdebit");
    if (!r.customer.name.empty()) json::kv(w, "ownerName", r.customer.name);
  }
  json::kv(w, "storedPaymentMethodId", stored_id);
  w.EndObject();
  // why: a token is a stored payment method, which Adyen only charges as a merchant-initiated
  // (ContAuth) payment with a recurring model and the shopperReference it was stored under.
  json::kv(w, "shopperInteraction", "ContAuth");
  json::kv(w, "recurringProcessingModel", s.recurring_processing_model);
  json::kv(w, "returnUrl", s.return_url);
  // shopperReference needs at least 3 characters.
  json::kv(w, "shopperReference", r.customer.id.size() >= 3 ? r.customer.id : r.transaction_id);
  std::string email = !r.customer.email.empty() ? r.customer.email : method.email;
  if (!email.empty()) json::kv(w, "shopperEmail", email);
  if (!r.customer.country.empty()) json::kv(w, "countryCode", r.customer.country);
  if (!r.reference.empty()) json::kv(w, "merchantOrderReference", r.reference);
  // why: only our id: Adyen caps metadata at 20 keys of 20 chars with 80-char values (error 177),
  // far below what our API accepts, so client metadata stays in paymux.
  json::key(w, "metadata");
  w.StartObject();
  json::kv(w, "paymux_id", r.transaction_id);
  w.EndObject();
  w.EndObject();
  return {std::string(sb.GetString(), sb.GetSize()), std::nullopt};
}

Body buildTransferBody(const PaymentRequest& r, const RequestSettings& s) {
  const auto& b = r.beneficiary;
  if (b.type != "bank_account" && b.type != "provider_account") {
    return {"", notSent(true, "payment_method_unsupported",
                        "the adyen connector does not support beneficiary type " + b.type)};
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  writeAmount(w, r);
  json::kv(w, "balanceAccountId", s.balance_account_id);
  json::kv(w, "category", "bank");
  json::key(w, "counterparty");
  w.StartObject();
  bool iban = false;
  if (b.type == "provider_account") {
    // A transfer instrument (a verified bank account of the user, "SE...") at Adyen.
    if (b.account_id.empty()) {
      return {"", notSent(false, "beneficiary_invalid", "beneficiary.account_id: required")};
    }
    json::kv(w, "transferInstrumentId", b.account_id);
  } else {
    if (b.name.empty()) {
      return {"", notSent(false, "beneficiary_invalid", "beneficiary.name: required")};
    }
    json::key(w, "bankAccount");
    w.StartObject();
    json::key(w, "accountHolder");
    w.StartObject();
    json::kv(w, "fullName", b.name);
    w.EndObject();
    json::key(w, "accountIdentification");
    w.StartObject();
    if (!b.iban.empty()) {
      iban = true;
      json::kv(w, "type", "iban");
      json::kv(w, "iban", b.iban);
    } else if (!b.account_number.empty() && !b.sort_code.empty()) {
      json::kv(w, "type", "ukLocal");
      json::kv(w, "accountNumber", b.account_number);
      json::kv(w, "sortCode", b.sort_code);
    } else if (!b.account_number.empty() && !b.routing_number.empty()) {
      json::kv(w, "type", "usLocal");
      json::kv(w, "accountNumber", b.account_number);
      json::kv(w, "routingNumber", b.routing_number);
    } else {
      return {"", notSent(false, "beneficiary_invalid",
                          "beneficiary: iban, or account_number with sort_code or routing_number, "
                          "required")};
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  json::kv(w, "priority", s.priority);
  json::kv(w, "reference", r.transaction_id);
  // Shown to the beneficiary: letters and digits only, 35 for an IBAN, else 15 (Adyen's limits).
  std::string for_beneficiary = alnumOnly(r.reference, iban ? 35 : 15);
  if (!for_beneficiary.empty()) json::kv(w, "referenceForBeneficiary", for_beneficiary);
  std::string description = bankText(r.description.empty() ? r.reference : r.description, 140);
  if (!description.empty()) json::kv(w, "description", description);
  w.EndObject();
  return {std::string(sb.GetString(), sb.GetSize()), std::nullopt};
}

ProviderPayment parsePaymentResponse(std::string_view text) {
  auto doc = parseObject(text, "payment response");
  ProviderPayment p;
  auto result_code = json::getString(doc, "resultCode");
  if (!result_code) throw WebhookParseError("payment response has no resultCode");
  p.provider_status = *result_code;
  // why: pspReference may be absent (e.g. before a redirect); the AUTHORISATION webhook then
  // finds the payment by merchantReference, our id.
  p.provider_ref = json::getString(doc, "pspReference").value_or("");
  readAmount(doc, p);
  ResultCode code = resultCodeFromString(*result_code);
  p.status = toTxStatus(code);
  if (code == ResultCode::kRefused) p.failure = failureFrom(doc, "refused");
  if (code == ResultCode::kError) p.failure = failureFrom(doc, "error");
  if (p.status == TxStatus::kRequiresAction) {
    if (const auto* action = json::getObject(doc, "action")) {
      p.redirect_url = json::getString(*action, "url").value_or("");
    }
  }
  return p;
}

ProviderPayment parseTransferResponse(std::string_view text) {
  auto doc = parseObject(text, "transfer");
  ProviderPayment p;
  p.provider_ref = json::getString(doc, "id").value_or("");
  auto status = json::getString(doc, "status");
  if (p.provider_ref.empty() || !status) throw WebhookParseError("transfer has no id or status");
  p.provider_status = *status;
  p.status = toTxStatus(transferStatusFromString(*status));
  readAmount(doc, p);
  if (p.status == TxStatus::kFailed || p.status == TxStatus::kReturned) {
    std::string reason = json::getString(doc, "reason").value_or("");
    p.failure = Failure{reason.empty() ? *status : reason,
                        "transfer " + *status + (reason.empty() ? "" : ": " + reason)};
  }
  return p;
}

AdyenError parseError(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) return {};
  AdyenError e;
  e.error_code = json::getString(doc, "errorCode").value_or("");
  e.message =
      json::getString(doc, "message")
          .value_or(
              json::getString(doc, "detail").value_or(json::getString(doc, "title").value_or("")));
  return e;
}

}  // namespace paymux::connectors::adyen
