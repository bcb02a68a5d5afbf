#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "services/common/payment_types.h"

namespace paymux::engine {

// The transaction state machine (DESIGN.md "Transaction state machine", API.md statuses and
// events). Pure functions over (kind, status); the engine persists and emits events.

/// Whether `status` belongs to that kind's lifecycle (collections: pending, processing,
/// requires_action, succeeded, failed, canceled; payouts: pending, processing, in_transit, paid,
/// failed, returned, canceled).
bool isValidStatus(Kind kind, TxStatus status);

/// Final: no ordinary forward transition leaves it (collections: succeeded, failed, canceled;
/// payouts: paid, failed, returned, canceled). Payout paid may still become failed or returned
/// (a late change the providers document). False for a status invalid for the kind.
bool isFinal(Kind kind, TxStatus status);

/// What to do with a reported status.
enum class Verdict {
  kApply,     // A transition: persist it and emit exactly one event.
  kStale,     // Same or older news (could precede the current status): record, change nothing.
  kConflict,  // Contradicts the current status: record a discrepancy, change nothing.
  kInvalid,   // A status that does not exist for this kind: a bug or a bad mapping.
};

std::string_view toString(Verdict verdict);

/// What to do when the provider (or our own call) reports `to` while we hold `from`.
/// Rules, one table per kind in state_machine.cc:
///  - kInvalid if either status is not valid for the kind;
///  - kApply for the allowed forward transitions;
///  - kStale if `to == from` or `to` could have come before `from` (an older status arriving
///    late; never applied backwards);
///  - kConflict otherwise: neither status can lead to the other (e.g. succeeded vs failed).
Verdict judge(Kind kind, TxStatus from, TxStatus to);

/// "collection.succeeded", "payout.in_transit", ...; empty for pending (no event type exists
/// for it) and for a status invalid for the kind.
std::string eventType(Kind kind, TxStatus status);

/// All event types in API.md, in a stable order: collections first, then payouts, each in
/// lifecycle order.
const std::vector<std::string>& allEventTypes();

}  // namespace paymux::engine
