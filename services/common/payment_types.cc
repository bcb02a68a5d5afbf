#include "services/common/payment_types.h"

namespace paymux {

std::string_view toString(Kind kind) {
  switch (kind) {
    case Kind::kCollect: return "collect";
    case Kind::kPayout: return "payout";
  }
  return "collect";
}

std::optional<Kind> kindFromString(std::string_view s) {
  if (s == "collect") return Kind::kCollect;
  if (s == "payout") return Kind::kPayout;
  return std::nullopt;
}

std::string_view toString(TxStatus status) {
  switch (status) {
    case TxStatus::kPending: return "pending";
    case TxStatus::kProcessing: return "processing";
    case TxStatus::kRequiresAction: return "requires_action";
    case TxStatus::kSucceeded: return "succeeded";
    case TxStatus::kFailed: return "failed";
    case TxStatus::kCanceled: return "canceled";
    case TxStatus::kInTransit: return "in_transit";
    case TxStatus::kPaid: return "paid";
    case TxStatus::kReturned: return "returned";
  }
  return "pending";
}

std::optional<TxStatus> statusFromString(std::string_view s) {
  for (auto st : {TxStatus::kPending, TxStatus::kProcessing, TxStatus::kRequiresAction,
                  TxStatus::kSucceeded, TxStatus::kFailed, TxStatus::kCanceled,
                  TxStatus::kInTransit, TxStatus::kPaid, TxStatus::kReturned}) {
    if (toString(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view objectName(Kind kind) { return kind == Kind::kCollect ? "collection" : "payout"; }
std::string_view idPrefix(Kind kind) { return kind == Kind::kCollect ? "col" : "pay"; }

}  // namespace paymux
