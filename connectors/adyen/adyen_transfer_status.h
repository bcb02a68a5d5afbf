#pragma once
#include <string_view>

#include "connectors/api/connector.h"

namespace paymux::connectors::adyen {

/// Every Transfer.status value of the Transfers API v4 (TransferService-v4.json, the same list as
/// BalancePlatformTransferNotification-v4.json TransferData.status), plus kUnknown.
enum class TransferStatus {
  kAdviceAuthorised,
  kAdviceRefused,
  kApprovalPending,
  kAtmWithdrawal,
  kAtmWithdrawalReversalPending,
  kAtmWithdrawalReversed,
  kAuthAdjustmentAuthorised,
  kAuthAdjustmentError,
  kAuthAdjustmentRefused,
  kAuthorised,
  kBankTransfer,
  kBankTransferPending,
  kBooked,
  kBookingPending,
  kCancelled,
  kCapturePending,
  kCaptureReversalPending,
  kCaptureReversed,
  kCaptured,
  kCapturedExternally,
  kChargeback,
  kChargebackExternally,
  kChargebackPending,
  kChargebackReversalPending,
  kChargebackReversed,
  kCredited,
  kDepositCorrection,
  kDepositCorrectionPending,
  kDispute,
  kDisputeClosed,
  kDisputeExpired,
  kDisputeNeedsReview,
  kError,
  kExpired,
  kFailed,
  kFee,
  kFeePending,
  kInterchangeAdjusted,
  kInternalTransfer,
  kInternalTransferPending,
  kInvoiceDeduction,
  kInvoiceDeductionPending,
  kManualCorrectionPending,
  kManuallyCorrected,
  kMatchedStatement,
  kMatchedStatementPending,
  kMerchantPayin,
  kMerchantPayinPending,
  kMerchantPayinReversed,
  kMerchantPayinReversedPending,
  kMiscCost,
  kMiscCostPending,
  kPaymentCost,
  kPaymentCostPending,
  kPending,
  kPendingApproval,
  kPendingExecution,
  kReceived,
  kRefundPending,
  kRefundReversalPending,
  kRefundReversed,
  kRefunded,
  kRefundedExternally,
  kRefused,
  kRejected,
  kReserveAdjustment,
  kReserveAdjustmentPending,
  kReturned,
  kReversed,
  kSecondChargeback,
  kSecondChargebackPending,
  kUndefined,
  kUnknown,
};

TransferStatus transferStatusFromString(std::string_view s);

/// Our payout status for a transfer's status (the payout lifecycle: received -> authorised ->
/// booked -> tracking credited). Statuses an outgoing bank transfer never takes (card, issuing,
/// dispute, fee ...) and kUnknown map to processing: safe and non-final.
TxStatus toTxStatus(TransferStatus status);

}  // namespace paymux::connectors::adyen
