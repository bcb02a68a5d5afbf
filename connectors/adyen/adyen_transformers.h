#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "connectors/api/connector.h"

namespace paymux::connectors::adyen {

/// Every PaymentResponse.resultCode of the Checkout API v71 (CheckoutService-v71.json), plus
/// kUnknown for a value that list does not have.
enum class ResultCode {
  kAuthenticationFinished,
  kAuthenticationNotRequired,
  kAuthorised,
  kCancelled,
  kChallengeShopper,
  kError,
  kIdentifyShopper,
  kPartiallyAuthorised,
  kPending,
  kPresentToShopper,
  kReceived,
  kRedirectShopper,
  kRefused,
  kSuccess,
  kUnknown,
};

ResultCode resultCodeFromString(std::string_view s);
/// Our collection status for a resultCode; kUnknown maps to processing (safe, non-final).
TxStatus toTxStatus(ResultCode code);

/// The settings request bodies need, read once from the connector's YAML section.
struct RequestSettings {
  std::string merchant_account;                               // settings.merchant_account
  std::string return_url = "https://example.invalid/return";  // settings.return_url
  std::string balance_account_id;                             // settings.balance_account_id
  std::string priority = "regular";                           // settings.priority (transfers)
  std::string recurring_processing_model = "UnscheduledCardOnFile";
};

/// A request body, or why this request cannot be expressed in Adyen's API (nothing was sent).
struct Body {
  std::string json;
  std::optional<ConnectorError> error;
};

/// PaymentRequest for POST /v71/payments.
Body buildPaymentBody(const PaymentRequest& request, const RequestSettings& settings);
/// TransferInfo for POST /btl/v4/transfers.
Body buildTransferBody(const PaymentRequest& request, const RequestSettings& settings);

/// A PaymentResponse. Throws WebhookParseError on malformed JSON or a missing resultCode.
ProviderPayment parsePaymentResponse(std::string_view json);
/// A Transfer (the POST /btl/v4/transfers answer). Throws WebhookParseError when malformed.
ProviderPayment parseTransferResponse(std::string_view json);

struct AdyenError {
  std::string error_code;  // "" when the body carries none
  std::string message;
};
/// Reads a Checkout ServiceError {status, errorCode, message, errorType} or a Transfers
/// RestServiceError {type, title, status, detail, errorCode}.
AdyenError parseError(std::string_view json);

}  // namespace paymux::connectors::adyen
