#pragma once
// Pure conversions between paymux's types and Stripe's wire format (form-encoded requests, JSON
// objects and errors). No I/O: stripe_connector.cc does the calls, stripe_test.cc the checks.
#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/api/connector.h"

namespace paymux::connectors::stripe {

/// The Stripe API version every request pins (Stripe-Version header), so an account-level
/// upgrade cannot change the shapes parsed here.
inline constexpr std::string_view kApiVersion = "2024-06-20";

/// Every PaymentIntent status Stripe documents, plus kUnknown for a value added later.
enum class IntentStatus {
  kRequiresPaymentMethod,
  kRequiresConfirmation,
  kRequiresAction,
  kProcessing,
  kRequiresCapture,
  kCanceled,
  kSucceeded,
  kUnknown,
};

/// Every Payout status Stripe documents, plus kUnknown for a value added later.
enum class PayoutStatus { kPending, kInTransit, kPaid, kFailed, kCanceled, kUnknown };

IntentStatus intentStatusFromString(std::string_view s);
PayoutStatus payoutStatusFromString(std::string_view s);

/// Our status for a PaymentIntent's. `payment_error` says last_payment_error is set, i.e. a
/// confirmation attempt failed (requires_payment_method is then a failure, not a fresh intent).
TxStatus toTxStatus(IntentStatus status, bool payment_error);
TxStatus toTxStatus(PayoutStatus status);

/// Stripe's amount for our minor units. Stripe follows ISO 4217 exponents except ISK, which it
/// keeps two-decimal for backward compatibility (5 ISK is 500 on the wire).
int64_t toStripeAmount(int64_t minor, std::string_view currency);
/// Inverse of toStripeAmount (currency in any case).
int64_t fromStripeAmount(int64_t amount, std::string_view currency);

/// Form body of POST /v1/payment_intents (confirmed at creation, automatic capture).
/// `return_url` ("" = none) is where Stripe sends the customer back after a redirect action.
std::string buildPaymentIntentForm(const PaymentRequest& request, const std::string& return_url);
/// Form body of POST /v1/payouts.
std::string buildPayoutForm(const PaymentRequest& request);

/// A PaymentIntent object (create / retrieve answer, a card error's payment_intent, or an
/// event's data.object). Throws WebhookParseError when it has no id.
ProviderPayment parsePaymentIntent(const rapidjson::Value& object);
/// A Payout object. Throws WebhookParseError when it has no id.
ProviderPayment parsePayout(const rapidjson::Value& object);
/// Either object from JSON text, chosen by its "object" field. Throws WebhookParseError.
ProviderPayment parseObject(std::string_view json);

/// Whether Stripe sent a status value this code does not know (mapped to processing; log it).
bool isUnknownStatus(Kind kind, std::string_view provider_status);

/// Maps an HTTP answer from Stripe (the transport succeeded) to a payment or an error:
/// 2xx -> the object; a card_error -> a failed payment (a decline is an outcome, not an error);
/// 429 / 5xx -> retryable; other 4xx -> non-retryable with Stripe's error code.
CallResult interpretResponse(long http_status, std::string_view body);

}  // namespace paymux::connectors::stripe
