#include "connectors/stripe/stripe_transformers.h"

#include <algorithm>
#include <cctype>

#include "services/common/http_client.h"
#include "services/common/json.h"

namespace paymux::connectors::stripe {
namespace {

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// Stripe's wire scale relative to ISO 4217 minor units (10^n). Only ISK differs.
int64_t stripeScale(std::string_view currency) {
  return upper(std::string(currency)) == "ISK" ? 100 : 1;
}

void addField(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += '&';
  // why: keys are our own ASCII constants; Stripe's libraries also send the brackets unescaped.
  out += key;
  out += '=';
  out += http::formEncode(value);
}

/// The "failure" code of a last_payment_error or an API error object.
std::string declineCode(const rapidjson::Value& err, std::string_view fallback) {
  if (auto code = json::getString(err, "decline_code")) return *code;
  if (auto code = json::getString(err, "code")) return *code;
  if (auto type = json::getString(err, "type")) return *type;
  return std::string(fallback);
}

ProviderPayment withAmount(ProviderPayment p, const rapidjson::Value& object) {
  p.currency = upper(json::getString(object, "currency").value_or(""));
  if (auto amount = json::getInt(object, "amount")) {
    p.amount_minor = fromStripeAmount(*amount, p.currency);
  }
  return p;
}

std::string requireId(const rapidjson::Value& object, const char* what) {
  auto id = json::getString(object, "id");
  if (!id || id->empty()) throw WebhookParseError(std::string(what) + " has no id");
  return *id;
}

}  // namespace

IntentStatus intentStatusFromString(std::string_view s) {
  if (s == "requires_payment_method") return IntentStatus::kRequiresPaymentMethod;
  if (s == "requires_confirmation") return IntentStatus::kRequiresConfirmation;
  if (s == "requires_action") return IntentStatus::kRequiresAction;
  if (s == "processing") return IntentStatus::kProcessing;
  if (s == "requires_capture") return IntentStatus::kRequiresCapture;
  if (s == "canceled") return IntentStatus::kCanceled;
  if (s == "succeeded") return IntentStatus::kSucceeded;
  return IntentStatus::kUnknown;
}

PayoutStatus payoutStatusFromString(std::string_view s) {
  if (s == "pending") return PayoutStatus::kPending;
  if (s == "in_transit") return PayoutStatus::kInTransit;
  if (s == "paid") return PayoutStatus::kPaid;
  if (s == "failed") return PayoutStatus::kFailed;
  if (s == "canceled") return PayoutStatus::kCanceled;
  return PayoutStatus::kUnknown;
}

TxStatus toTxStatus(IntentStatus status, bool payment_error) {
  switch (status) {
    case IntentStatus::kRequiresPaymentMethod:
      // why: Stripe puts an intent back to requires_payment_method when a confirmation fails
      // (last_payment_error set). Without an error it was never attempted: not final yet.
      return payment_error ? TxStatus::kFailed : TxStatus::kPending;
    case IntentStatus::kRequiresConfirmation:
      // We confirm at creation, so this only appears if someone else edited the intent.
      return TxStatus::kPending;
    case IntentStatus::kRequiresAction:
      return TxStatus::kRequiresAction;
    case IntentStatus::kProcessing:
    case IntentStatus::kRequiresCapture:
      // why: requires_capture is an authorised, uncaptured intent. Intents are created with
      // automatic capture, so it is still on its way to succeeded: processing, never final.
      return TxStatus::kProcessing;
    case IntentStatus::kCanceled:
      return TxStatus::kCanceled;
    case IntentStatus::kSucceeded:
      return TxStatus::kSucceeded;
    case IntentStatus::kUnknown:
      return TxStatus::kProcessing;  // safe and non-final; the caller logs the value
  }
  return TxStatus::kProcessing;
}

TxStatus toTxStatus(PayoutStatus status) {
  switch (status) {
    case PayoutStatus::kPending:
      return TxStatus::kProcessing;
    case PayoutStatus::kInTransit:
      return TxStatus::kInTransit;
    case PayoutStatus::kPaid:
      return TxStatus::kPaid;
    case PayoutStatus::kFailed:
      return TxStatus::kFailed;
    case PayoutStatus::kCanceled:
      return TxStatus::kCanceled;
    case PayoutStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

int64_t toStripeAmount(int64_t minor, std::string_view currency) {
  return minor * stripeScale(currency);
}

int64_t fromStripeAmount(int64_t amount, std::string_view currency) {
  return amount / stripeScale(currency);
}

std::string buildPaymentIntentForm(const PaymentRequest& r, const std::string& return_url) {
  std::string out;
  addField(out, "amount", std::to_string(toStripeAmount(r.amount_minor, r.currency)));
  addField(out, "currency", lower(r.currency));
  addField(out, "payment_method", r.payment_method.token);
  addField(out, "confirm", "true");
  if (!r.description.empty()) addField(out, "description", r.description);
  addField(out, "metadata[paymux_id]", r.transaction_id);
  if (!r.reference.empty()) addField(out, "metadata[reference]", r.reference);
  if (!return_url.empty()) {
    addField(out, "return_url", return_url);
  } else {
    // why: since API 2023-08-16 intents accept every Dashboard-enabled method, and confirming
    // one that may redirect fails without a return_url. With nowhere to send the customer back,
    // only non-redirect methods can work, so say so instead of failing the confirmation.
    addField(out, "automatic_payment_methods[enabled]", "true");
    addField(out, "automatic_payment_methods[allow_redirects]", "never");
  }
  return out;
}

std::string buildPayoutForm(const PaymentRequest& r) {
  std::string out;
  addField(out, "amount", std::to_string(toStripeAmount(r.amount_minor, r.currency)));
  addField(out, "currency", lower(r.currency));
  if (!r.beneficiary.account_id.empty()) addField(out, "destination", r.beneficiary.account_id);
  if (!r.description.empty()) addField(out, "description", r.description);
  addField(out, "metadata[paymux_id]", r.transaction_id);
  if (!r.reference.empty()) addField(out, "metadata[reference]", r.reference);
  return out;
}

ProviderPayment parsePaymentIntent(const rapidjson::Value& object) {
  ProviderPayment p;
  p.provider_ref = requireId(object, "payment_intent");
  p.provider_status = json::getString(object, "status").value_or("");
  const auto* error = json::getObject(object, "last_payment_error");
  p.status = toTxStatus(intentStatusFromString(p.provider_status), error != nullptr);
  if (p.status == TxStatus::kFailed) {
    p.failure = Failure{error ? declineCode(*error, "payment_failed") : "payment_failed",
                        error ? json::getString(*error, "message").value_or("") : ""};
  }
  if (p.status == TxStatus::kRequiresAction) {
    if (const auto* action = json::getObject(object, "next_action")) {
      if (const auto* redirect = json::getObject(*action, "redirect_to_url")) {
        p.redirect_url = json::getString(*redirect, "url").value_or("");
      }
    }
  }
  return withAmount(std::move(p), object);
}

ProviderPayment parsePayout(const rapidjson::Value& object) {
  ProviderPayment p;
  p.provider_ref = requireId(object, "payout");
  p.provider_status = json::getString(object, "status").value_or("");
  p.status = toTxStatus(payoutStatusFromString(p.provider_status));
  if (p.status == TxStatus::kFailed) {
    p.failure = Failure{json::getString(object, "failure_code").value_or("payout_failed"),
                        json::getString(object, "failure_message").value_or("")};
  }
  return withAmount(std::move(p), object);
}

ProviderPayment parseObject(std::string_view text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError() || !doc.IsObject()) throw WebhookParseError("not a JSON object");
  std::string type = json::getString(doc, "object").value_or("");
  if (type == "payment_intent") return parsePaymentIntent(doc);
  if (type == "payout") return parsePayout(doc);
  throw WebhookParseError("unexpected Stripe object \"" + type + "\"");
}

bool isUnknownStatus(Kind kind, std::string_view provider_status) {
  if (kind == Kind::kPayout)
    return payoutStatusFromString(provider_status) == PayoutStatus::kUnknown;
  return intentStatusFromString(provider_status) == IntentStatus::kUnknown;
}

CallResult interpretResponse(long http_status, std::string_view body) {
  if (http_status >= 200 && http_status < 300) {
    try {
      return parseObject(body);
    } catch (const WebhookParseError& e) {
      // why: a 2xx we cannot read may still have created the payment: outcome unknown.
      return ConnectorError{false, true, http_status, "provider_response_invalid", e.what(), ""};
    }
  }
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  const rapidjson::Value* err = doc.HasParseError() ? nullptr : json::getObject(doc, "error");
  if (err == nullptr) err = &kEmpty;
  std::string type = json::getString(*err, "type").value_or("");
  std::string message = json::getString(*err, "message").value_or("");

  if (type == "card_error") {
    // A decline is the payment's outcome, not a failed call: Stripe answers 402 and attaches
    // the intent it created (status requires_payment_method, last_payment_error set).
    ProviderPayment p;
    if (const auto* intent = json::getObject(*err, "payment_intent")) {
      try {
        p = parsePaymentIntent(*intent);
      } catch (const WebhookParseError&) {
        p = ProviderPayment{};
      }
    }
    p.status = TxStatus::kFailed;
    p.redirect_url.clear();
    if (p.provider_status.empty()) p.provider_status = "requires_payment_method";
    p.failure = Failure{declineCode(*err, "card_declined"), message};
    return p;
  }

  std::string code = json::getString(*err, "code").value_or("");
  if (code.empty()) code = http_status == 401 ? "authentication_error" : type;
  if (http_status == 401) {
    // why: Stripe's 401 message echoes part of the key; never carry it into logs.
    message = "Stripe rejected the API key";
  }
  if (message.empty()) message = "Stripe answered " + std::to_string(http_status);
  if (http_status == 429 || http_status >= 500) {
    return ConnectorError{true,    false, http_status, code.empty() ? "provider_unavailable" : code,
                          message, ""};
  }
  if (http_status == 409) {
    // why: Stripe answers 409 while another request with the same Idempotency-Key is still
    // executing; that one may yet create the payment, so failing over could charge twice.
    return ConnectorError{false,   true, http_status, code.empty() ? "idempotency_conflict" : code,
                          message, ""};
  }
  return ConnectorError{false,   false, http_status, code.empty() ? "provider_rejected" : code,
                        message, ""};
}

}  // namespace paymux::connectors::stripe
