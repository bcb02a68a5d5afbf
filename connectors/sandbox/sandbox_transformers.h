#pragma once
#include <string>
#include <string_view>

#include "connectors/api/connector.h"

namespace paymux::connectors::sandbox {

/// Every status the sandbox provider API can return.
enum class WireStatus {
  kPending,
  kProcessing,
  kRequiresAction,
  kSucceeded,
  kFailed,
  kCanceled,
  kInTransit,
  kPaid,
  kReturned,
  kUnknown,
};

WireStatus wireStatusFromString(std::string_view s);
/// Our status for the provider's; an unknown value maps to processing (safe, non-final).
TxStatus toTxStatus(WireStatus status);

/// JSON body of POST /v1/payments.
std::string buildPaymentBody(const PaymentRequest& request);

/// Parses a payment object (create / fetch answer, or a webhook's data object).
/// Throws WebhookParseError on malformed JSON.
ProviderPayment parsePayment(std::string_view json);

/// "t=<unix>,v1=<hex>": HMAC-SHA256 over "<t>.<body>" with the secret's bytes (Stripe's scheme).
std::string signatureHeader(std::string_view secret, int64_t timestamp, std::string_view body);

}  // namespace paymux::connectors::sandbox
