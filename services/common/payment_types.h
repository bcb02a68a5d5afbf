#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace paymux {

enum class Kind { kCollect, kPayout };

/// Every status a collection or payout can have (API.md). Collections use pending, processing,
/// requires_action, succeeded, failed, canceled; payouts use pending, processing, in_transit,
/// paid, failed, returned, canceled.
enum class TxStatus {
  kPending,
  kProcessing,
  kRequiresAction,
  kSucceeded,
  kFailed,
  kCanceled,
  kInTransit,
  kPaid,
  kReturned,
};

std::string_view toString(Kind kind);
std::optional<Kind> kindFromString(std::string_view s);
std::string_view toString(TxStatus status);
std::optional<TxStatus> statusFromString(std::string_view s);
/// "collection" or "payout": the object name and event-type prefix.
std::string_view objectName(Kind kind);
/// "col" or "pay": the public id prefix.
std::string_view idPrefix(Kind kind);

}  // namespace paymux
