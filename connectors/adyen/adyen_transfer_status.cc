#include "connectors/adyen/adyen_transfer_status.h"

#include <array>
#include <utility>

namespace paymux::connectors::adyen {

TransferStatus transferStatusFromString(std::string_view s) {
  static constexpr std::array<std::pair<std::string_view, TransferStatus>, 72> kNames = {{
      {"adviceAuthorised", TransferStatus::kAdviceAuthorised},
      {"adviceRefused", TransferStatus::kAdviceRefused},
      {"approvalPending", TransferStatus::kApprovalPending},
      {"atmWithdrawal", TransferStatus::kAtmWithdrawal},
      {"atmWithdrawalReversalPending", TransferStatus::kAtmWithdrawalReversalPending},
      {"atmWithdrawalReversed", TransferStatus::kAtmWithdrawalReversed},
      {"authAdjustmentAuthorised", TransferStatus::kAuthAdjustmentAuthorised},
      {"authAdjustmentError", TransferStatus::kAuthAdjustmentError},
      {"authAdjustmentRefused", TransferStatus::kAuthAdjustmentRefused},
      {"authorised", TransferStatus::kAuthorised},
      {"bankTransfer", TransferStatus::kBankTransfer},
      {"bankTransferPending", TransferStatus::kBankTransferPending},
      {"booked", TransferStatus::kBooked},
      {"bookingPending", TransferStatus::kBookingPending},
      {"cancelled", TransferStatus::kCancelled},
      {"capturePending", TransferStatus::kCapturePending},
      {"captureReversalPending", TransferStatus::kCaptureReversalPending},
      {"captureReversed", TransferStatus::kCaptureReversed},
      {"captured", TransferStatus::kCaptured},
      {"capturedExternally", TransferStatus::kCapturedExternally},
      {"chargeback", TransferStatus::kChargeback},
      {"chargebackExternally", TransferStatus::kChargebackExternally},
      {"chargebackPending", TransferStatus::kChargebackPending},
      {"chargebackReversalPending", TransferStatus::kChargebackReversalPending},
      {"chargebackReversed", TransferStatus::kChargebackReversed},
      {"credited", TransferStatus::kCredited},
      {"depositCorrection", TransferStatus::kDepositCorrection},
      {"depositCorrectionPending", TransferStatus::kDepositCorrectionPending},
      {"dispute", TransferStatus::kDispute},
      {"disputeClosed", TransferStatus::kDisputeClosed},
      {"disputeExpired", TransferStatus::kDisputeExpired},
      {"disputeNeedsReview", TransferStatus::kDisputeNeedsReview},
      {"error", TransferStatus::kError},
      {"expired", TransferStatus::kExpired},
      {"failed", TransferStatus::kFailed},
      {"fee", TransferStatus::kFee},
      {"feePending", TransferStatus::kFeePending},
      {"interchangeAdjusted", TransferStatus::kInterchangeAdjusted},
      {"internalTransfer", TransferStatus::kInternalTransfer},
      {"internalTransferPending", TransferStatus::kInternalTransferPending},
      {"invoiceDeduction", TransferStatus::kInvoiceDeduction},
      {"invoiceDeductionPending", TransferStatus::kInvoiceDeductionPending},
      {"manualCorrectionPending", TransferStatus::kManualCorrectionPending},
      {"manuallyCorrected", TransferStatus::kManuallyCorrected},
      {"matchedStatement", TransferStatus::kMatchedStatement},
      {"matchedStatementPending", TransferStatus::kMatchedStatementPending},
      {"merchantPayin", TransferStatus::kMerchantPayin},
      {"merchantPayinPending", TransferStatus::kMerchantPayinPending},
      {"merchantPayinReversed", TransferStatus::kMerchantPayinReversed},
      {"merchantPayinReversedPending", TransferStatus::kMerchantPayinReversedPending},
      {"miscCost", TransferStatus::kMiscCost},
      {"miscCostPending", TransferStatus::kMiscCostPending},
      {"paymentCost", TransferStatus::kPaymentCost},
      {"paymentCostPending", TransferStatus::kPaymentCostPending},
      {"pending", TransferStatus::kPending},
      {"pendingApproval", TransferStatus::kPendingApproval},
      {"pendingExecution", TransferStatus::kPendingExecution},
      {"received", TransferStatus::kReceived},
      {"refundPending", TransferStatus::kRefundPending},
      {"refundReversalPending", TransferStatus::kRefundReversalPending},
      {"refundReversed", TransferStatus::kRefundReversed},
      {"refunded", TransferStatus::kRefunded},
      {"refundedExternally", TransferStatus::kRefundedExternally},
      {"refused", TransferStatus::kRefused},
      {"rejected", TransferStatus::kRejected},
      {"reserveAdjustment", TransferStatus::kReserveAdjustment},
      {"reserveAdjustmentPending", TransferStatus::kReserveAdjustmentPending},
      {"returned", TransferStatus::kReturned},
      {"reversed", TransferStatus::kReversed},
      {"secondChargeback", TransferStatus::kSecondChargeback},
      {"secondChargebackPending", TransferStatus::kSecondChargebackPending},
      {"undefined", TransferStatus::kUndefined},
  }};
  for (const auto& [name, status] : kNames) {
    if (name == s) return status;
  }
  return TransferStatus::kUnknown;
}

TxStatus toTxStatus(TransferStatus status) {
  switch (status) {
    // The outgoing transfer exists but no money has left the balance account yet.
    case TransferStatus::kReceived:
    case TransferStatus::kAuthorised:
    case TransferStatus::kPending:
    case TransferStatus::kPendingApproval:
    case TransferStatus::kApprovalPending:
    case TransferStatus::kPendingExecution:
    case TransferStatus::kBookingPending:
    case TransferStatus::kBankTransferPending:
    case TransferStatus::kInternalTransferPending:
      return TxStatus::kProcessing;
    // why: booked = deducted from our balance account and handed to the bank network; the
    // beneficiary is not credited until a tracking "credited" update (see the webhook parser).
    case TransferStatus::kBooked:
      return TxStatus::kInTransit;
    case TransferStatus::kCredited:
      return TxStatus::kPaid;
    // refused: by Adyen (limits, transaction rules); failed: by the counterparty's bank;
    // rejected / expired: review or approval never passed.
    case TransferStatus::kRefused:
    case TransferStatus::kFailed:
    case TransferStatus::kError:
    case TransferStatus::kRejected:
    case TransferStatus::kExpired:
      return TxStatus::kFailed;
    case TransferStatus::kCancelled:
      return TxStatus::kCanceled;
    case TransferStatus::kReturned:
      return TxStatus::kReturned;
    // Not statuses of an outgoing bank transfer (cards, issuing, disputes, fees, captures,
    // balance corrections): never final for a payout.
    case TransferStatus::kAdviceAuthorised:
    case TransferStatus::kAdviceRefused:
    case TransferStatus::kAtmWithdrawal:
    case TransferStatus::kAtmWithdrawalReversalPending:
    case TransferStatus::kAtmWithdrawalReversed:
    case TransferStatus::kAuthAdjustmentAuthorised:
    case TransferStatus::kAuthAdjustmentError:
    case TransferStatus::kAuthAdjustmentRefused:
    case TransferStatus::kBankTransfer:
    case TransferStatus::kCapturePending:
    case TransferStatus::kCaptureReversalPending:
    case TransferStatus::kCaptureReversed:
    case TransferStatus::kCaptured:
    case TransferStatus::kCapturedExternally:
    case TransferStatus::kChargeback:
    case TransferStatus::kChargebackExternally:
    case TransferStatus::kChargebackPending:
    case TransferStatus::kChargebackReversalPending:
    case TransferStatus::kChargebackReversed:
    case TransferStatus::kDepositCorrection:
    case TransferStatus::kDepositCorrectionPending:
    case TransferStatus::kDispute:
    case TransferStatus::kDisputeClosed:
    case TransferStatus::kDisputeExpired:
    case TransferStatus::kDisputeNeedsReview:
    case TransferStatus::kFee:
    case TransferStatus::kFeePending:
    case TransferStatus::kInterchangeAdjusted:
    case TransferStatus::kInternalTransfer:
    case TransferStatus::kInvoiceDeduction:
    case TransferStatus::kInvoiceDeductionPending:
    case TransferStatus::kManualCorrectionPending:
    case TransferStatus::kManuallyCorrected:
    case TransferStatus::kMatchedStatement:
    case TransferStatus::kMatchedStatementPending:
    case TransferStatus::kMerchantPayin:
    case TransferStatus::kMerchantPayinPending:
    case TransferStatus::kMerchantPayinReversed:
    case TransferStatus::kMerchantPayinReversedPending:
    case TransferStatus::kMiscCost:
    case TransferStatus::kMiscCostPending:
    case TransferStatus::kPaymentCost:
    case TransferStatus::kPaymentCostPending:
    case TransferStatus::kRefundPending:
    case TransferStatus::kRefundReversalPending:
    case TransferStatus::kRefundReversed:
    case TransferStatus::kRefunded:
    case TransferStatus::kRefundedExternally:
    case TransferStatus::kReserveAdjustment:
    case TransferStatus::kReserveAdjustmentPending:
    case TransferStatus::kReversed:
    case TransferStatus::kSecondChargeback:
    case TransferStatus::kSecondChargebackPending:
    case TransferStatus::kUndefined:
    case TransferStatus::kUnknown:
      return TxStatus::kProcessing;
  }
  return TxStatus::kProcessing;
}

}  // namespace paymux::connectors::adyen
