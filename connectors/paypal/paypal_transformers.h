#pragma once
#include <rapidjson/document.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/api/connector.h"

namespace paymux::connectors::paypal {

// Pure conversions between paymux's types and PayPal's wire format (Orders v2, Payouts v1,
// webhook events). No I/O here.

/// Orders v2 `order_status`.
enum class OrderStatus {
  kCreated,
  kSaved,
  kApproved,
  kVoided,
  kCompleted,
  kPayerActionRequired,
  kUnknown,
};

/// Orders v2 capture `status`.
enum class CaptureStatus {
  kCompleted,
  kDeclined,
  kPartiallyRefunded,
  kPending,
  kRefunded,
  kFailed,
  kUnknown,
};

/// Payouts v1 `batch_enum`.
enum class BatchStatus { kDenied, kPending, kProcessing, kSuccess, kCanceled, kUnknown };

/// Payouts v1 item `transaction_enum`.
enum class ItemStatus {
  kSuccess,
  kFailed,
  kPending,
  kUnclaimed,
  kReturned,
  kOnHold,
  kBlocked,
  kRefunded,
  kReversed,
  kUnknown,
};

OrderStatus orderStatusFromString(std::string_view s);
CaptureStatus captureStatusFromString(std::string_view s);
BatchStatus batchStatusFromString(std::string_view s);
ItemStatus itemStatusFromString(std::string_view s);

// Our status for PayPal's. Unknown values map to processing (safe, non-final).
TxStatus toTxStatus(OrderStatus status);
TxStatus toTxStatus(CaptureStatus status);
TxStatus toTxStatus(BatchStatus status);
TxStatus toTxStatus(ItemStatus status);

/// PayPal's decimal `value` for an amount in minor units: formatMinorUnits with the currency's
/// exponent, except that PayPal takes HUF and TWD without decimals (ISO gives them two), so
/// those must be whole units. nullopt when PayPal cannot state the amount.
std::optional<std::string> toPayPalValue(int64_t minor, std::string_view currency, int exponent);
/// Minor units of a PayPal `value` in `currency` (ISO exponent); nullopt when unparseable.
std::optional<int64_t> fromPayPalValue(std::string_view value, std::string_view currency);

/// Per-connector settings that shape an order.
struct OrderOptions {
  std::string return_url;
  std::string cancel_url;
  std::string brand_name;
};

/// Body of POST /v2/checkout/orders (intent CAPTURE, one purchase unit). `value` comes from
/// toPayPalValue. payment_method.token goes to payment_source.paypal.vault_id (a saved PayPal
/// wallet); payment_method.email, else customer.email, pre-fills the payer's login.
std::string buildOrderBody(const PaymentRequest& request, const std::string& value,
                           const OrderOptions& options);

/// PayPal's receiver for a payout: EMAIL (beneficiary.email) or PAYPAL_ID (account_id).
struct Receiver {
  std::string type;
  std::string id;
};
std::optional<Receiver> payoutReceiver(const Beneficiary& beneficiary);

/// Body of POST /v1/payments/payouts: one item; sender_batch_id and sender_item_id are our
/// transaction id (PayPal refuses a second batch with the same sender_batch_id).
std::string buildPayoutBody(const PaymentRequest& request, const std::string& value,
                            const Receiver& receiver, const std::string& email_subject);

/// An order (create / capture / GET answer, or a webhook resource). The capture status decides
/// when the order carries one. Throws WebhookParseError when malformed.
ProviderPayment parseOrder(const rapidjson::Value& order);
ProviderPayment parseOrder(std::string_view json);
/// A capture resource (PAYMENT.CAPTURE.* webhooks); provider_ref is the order id
/// (supplementary_data.related_ids.order_id, else the "up" link), or "" when the resource names
/// none: never the capture id, which would replace the order id paymux holds. Match by custom_id.
ProviderPayment parseCapture(const rapidjson::Value& capture);
/// A payout item (GET payouts-item answer, a batch's item, PAYMENT.PAYOUTS-ITEM.* resource);
/// provider_ref is payout_item_id.
ProviderPayment parsePayoutItem(const rapidjson::Value& item);
ProviderPayment parsePayoutItem(std::string_view json);

/// A payout batch (POST or GET /v1/payments/payouts answer).
struct PayoutBatch {
  std::string batch_id;
  std::string batch_status;
  std::optional<ProviderPayment> item;  // the first item, when the answer lists items
};
PayoutBatch parsePayoutBatch(std::string_view json);
/// Our view of a batch: its first item if listed, else the batch itself (provider_ref = batch
/// id, status from batch_status).
ProviderPayment batchPayment(const PayoutBatch& batch);

/// PayPal's error body ({name, message, debug_id, details[{field, issue, description, link}]}).
struct ApiError {
  std::string name;
  std::string message;
  std::string debug_id;
  std::string issue;        // first detail's issue, if any
  std::string description;  // first detail's description, if any
  std::string field;        // first detail's field, if any
  std::string link_href;    // first link found in details[].link or links
  /// The most specific code: the issue when present, else the name.
  std::string code() const { return issue.empty() ? name : issue; }
};
ApiError parseApiError(std::string_view body);
/// ConnectorError{retryable, outcome_unknown, http_status, code, message, provider_ref}.
inline ConnectorError connectorError(bool retryable, bool outcome_unknown, long http_status,
                                     std::string code, std::string message,
                                     std::string provider_ref = "") {
  return ConnectorError{retryable,       outcome_unknown,    http_status,
                        std::move(code), std::move(message), std::move(provider_ref)};
}

/// Issues that decline this payment (a failed payment, not an integration error).
bool isDeclineIssue(std::string_view issue);

/// Parses a webhook event body into at most one ProviderEvent. Throws WebhookParseError.
std::vector<ProviderEvent> parseEvent(std::string_view body);

/// CRC-32 (IEEE 802.3, as zlib's crc32) of `data`.
uint32_t crc32(std::string_view data);

/// Unix seconds of an RFC 3339 date-time ("2026-11-28T10:00:00Z", fractions and offsets
/// accepted); nullopt when malformed.
std::optional<int64_t> parseRfc3339(std::string_view text);
/// "2026-11-28T10:00:00Z".
std::string formatRfc3339(int64_t unix_seconds);

}  // namespace paymux::connectors::paypal
