#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/api/connector.h"

namespace paymux::connectors::gocardless {

/// Every status of a GoCardless payment (API reference, Payments).
enum class PaymentStatus {
  kPendingCustomerApproval,
  kPendingSubmission,
  kSubmitted,
  kConfirmed,
  kPaidOut,
  kCancelled,
  kCustomerApprovalDenied,
  kFailed,
  kChargedBack,
  kUnknown,  // a word we have never seen
};

/// Every action of a "payments" event (API reference, Events: payment actions).
enum class PaymentAction {
  kCreated,
  kCustomerApprovalGranted,
  kCustomerApprovalDenied,
  kSubmitted,
  kConfirmed,
  kChargebackCancelled,
  kPaidOut,
  kLateFailureSettled,
  kChargebackSettled,
  kFailed,
  kChargedBack,
  kCancelled,
  kResubmissionRequested,
  kSurchargeFeeDebited,
  kUnknown,
};

inline constexpr std::string_view kApiVersion = "2015-07-06";

PaymentStatus paymentStatusFromString(std::string_view s);
/// Our collection status; unknown words map to processing (safe, non-final).
TxStatus toTxStatus(PaymentStatus status);
/// Why a payment ended badly; nullopt unless toTxStatus gives failed.
std::optional<Failure> failureFor(PaymentStatus status);

PaymentAction paymentActionFromString(std::string_view s);
/// The status a payment event announces; nullopt when the action is no status change we track.
std::optional<TxStatus> toTxStatus(PaymentAction action);

/// JSON body of POST /payments.
std::string buildPaymentBody(const PaymentRequest& request);

/// A {"payments": {...}} answer (create, fetch). Throws WebhookParseError when unreadable.
ProviderPayment parsePayment(std::string_view json);

/// The parts of a GoCardless error body {"error": {type, message, errors: [{reason, links}]}}.
struct ApiError {
  std::string type;     // invalid_api_usage | invalid_state | validation_failed | gocardless
  std::string reason;   // first errors[].reason
  std::string message;
  std::string conflicting_resource_id;  // idempotent_creation_conflict only
};
std::optional<ApiError> parseError(std::string_view json);

/// Every event of a webhook body {"events": [...]}. Throws WebhookParseError on malformed input.
std::vector<ProviderEvent> parseEvents(std::string_view body);

/// The Webhook-Signature value: hex HMAC-SHA256 of the raw body with the endpoint secret.
std::string webhookSignature(std::string_view secret, std::string_view body);


}  // namespace paymux::connectors::gocardless
