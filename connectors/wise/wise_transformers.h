#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/api/connector.h"

namespace paymux::connectors::wise {

/// Every state a Wise transfer can be in (Transfer API, "Transfer statuses").
enum class TransferState {
  kIncomingPaymentWaiting,
  kIncomingPaymentInitiated,
  kWaitingRecipientInput,
  kProcessing,
  kFundsConverted,
  kOutgoingPaymentSent,
  kCancelled,
  kFundsRefunded,
  kBouncedBack,
  kChargedBack,
  kUnknown,  // Wise's own "unknown" state, and any word we have never seen
};

inline constexpr std::string_view kAwaitingFunding = "incoming_payment_waiting";

TransferState transferStateFromString(std::string_view s);
/// Our payout status for a transfer state; unknown states map to processing (safe, non-final).
TxStatus toTxStatus(TransferState state);
/// Why a transfer ended badly (failed or returned); nullopt for every other state.
std::optional<Failure> failureFor(TransferState state);

/// The transfer's customerTransactionId: an RFC 4122 version-5 UUID (SHA-1, URL namespace) of
/// "paymux://wise/transfers/<transaction id>", so every retry of one payout names one transfer.
std::string customerTransactionId(std::string_view transaction_id);

/// Bodies of the four calls of a payout: quote, recipient account, transfer, funding.
std::string buildQuoteBody(const PaymentRequest& request, std::string_view source_currency);
/// Empty when the beneficiary has neither an IBAN nor a UK sort code and account number.
std::string buildRecipientBody(const PaymentRequest& request, std::string_view profile_id,
                               std::string_view legal_type);
std::string buildTransferBody(const PaymentRequest& request, std::string_view recipient_id,
                              std::string_view quote_id);
std::string buildFundingBody();

/// The "id" of a quote or recipient answer (a string or a number), or nullopt.
std::optional<std::string> parseId(std::string_view json);

/// A transfer object (create, fetch answer). Throws WebhookParseError when unreadable.
ProviderPayment parseTransfer(std::string_view json);

struct FundingResult {
  std::string status;      // COMPLETED | REJECTED | ...
  std::string error_code;  // set when REJECTED
};
/// The answer to POST .../payments; nullopt when unreadable.
std::optional<FundingResult> parseFunding(std::string_view json);

/// The first error code of a Wise error body ({"errors":[{"code"}]} or {"error": ...}).
std::string errorCode(std::string_view body, const std::string& fallback);

/// Events of a webhook body. Throws WebhookParseError on malformed input.
std::vector<ProviderEvent> parseWebhookBody(std::string_view body);


}  // namespace paymux::connectors::wise
