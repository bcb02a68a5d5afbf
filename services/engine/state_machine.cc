#include "services/engine/state_machine.h"

#include <array>
#include <cstddef>

namespace paymux::engine {
namespace {

constexpr std::size_t kStatusCount = 9;
// why: the tables below are indexed by the enum's value; a new status must grow them.
static_assert(static_cast<std::size_t>(TxStatus::kReturned) + 1 == kStatusCount,
              "TxStatus changed: update kStatusCount and both transition tables");

constexpr bool validFor(Kind kind, TxStatus status) {
  switch (status) {
    case TxStatus::kPending:
    case TxStatus::kProcessing:
    case TxStatus::kFailed:
    case TxStatus::kCanceled:
      return true;
    case TxStatus::kRequiresAction:
    case TxStatus::kSucceeded:
      return kind == Kind::kCollect;
    case TxStatus::kInTransit:
    case TxStatus::kPaid:
    case TxStatus::kReturned:
      return kind == Kind::kPayout;
  }
  return false;
}

constexpr bool finalFor(Kind kind, TxStatus status) {
  if (!validFor(kind, status)) return false;
  switch (status) {
    case TxStatus::kPending:
    case TxStatus::kProcessing:
    case TxStatus::kRequiresAction:
    case TxStatus::kInTransit:
      return false;
    case TxStatus::kSucceeded:
    case TxStatus::kFailed:
    case TxStatus::kCanceled:
    case TxStatus::kPaid:
    case TxStatus::kReturned:
      return true;
  }
  return false;
}

using Table = std::array<std::array<Verdict, kStatusCount>, kStatusCount>;

// Short names so each table reads as a grid. Row = status we hold (`from`), column = status
// reported (`to`), both in TxStatus order.
constexpr Verdict kA = Verdict::kApply;
constexpr Verdict kS = Verdict::kStale;
constexpr Verdict kC = Verdict::kConflict;
constexpr Verdict kI = Verdict::kInvalid;

// Collections: pending -> processing <-> requires_action -> succeeded | failed | canceled.
// Every non-final status can precede every final one, so a late non-final is stale; two
// different finals contradict each other.
// clang-format off
constexpr Table kCollectTable = {{
    // from, to ->         pend proc ract succ fail canc intr paid retn
    /* pending         */ {kS,  kA,  kA,  kA,  kA,  kA,  kI,  kI,  kI},
    /* processing      */ {kS,  kS,  kA,  kA,  kA,  kA,  kI,  kI,  kI},
    /* requires_action */ {kS,  kA,  kS,  kA,  kA,  kA,  kI,  kI,  kI},
    /* succeeded       */ {kS,  kS,  kS,  kS,  kC,  kC,  kI,  kI,  kI},
    /* failed          */ {kS,  kS,  kS,  kC,  kS,  kC,  kI,  kI,  kI},
    /* canceled        */ {kS,  kS,  kS,  kC,  kC,  kS,  kI,  kI,  kI},
    /* in_transit      */ {kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI},
    /* paid            */ {kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI},
    /* returned        */ {kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI},
}};
// clang-format on

// Payouts: pending < processing < in_transit < paid, forward moves (skips included) apply.
// canceled only from pending/processing (money has not left yet); returned only from
// in_transit/paid (money must have left first); failed from any non-final and from paid;
// paid -> failed | returned is the late change providers document.
// why kS at failed<-paid and returned<-paid: paid can precede both, so a paid arriving after
// them is older news delivered out of order; the in-order and out-of-order deliveries then
// end in the same state instead of the latter raising a discrepancy.
// why kC at canceled<-in_transit and the pending/processing -> returned cells: neither
// status can lead to the other, so the provider contradicts us (e.g. money moving on a payout
// we canceled); that needs a human, not a silent drop.
// clang-format off
constexpr Table kPayoutTable = {{
    // from, to ->         pend proc ract succ fail canc intr paid retn
    /* pending         */ {kS,  kA,  kI,  kI,  kA,  kA,  kA,  kA,  kC},
    /* processing      */ {kS,  kS,  kI,  kI,  kA,  kA,  kA,  kA,  kC},
    /* requires_action */ {kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI},
    /* succeeded       */ {kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI,  kI},
    /* failed          */ {kS,  kS,  kI,  kI,  kS,  kC,  kS,  kS,  kC},
    /* canceled        */ {kS,  kS,  kI,  kI,  kC,  kS,  kC,  kC,  kC},
    /* in_transit      */ {kS,  kS,  kI,  kI,  kA,  kC,  kS,  kA,  kA},
    /* paid            */ {kS,  kS,  kI,  kI,  kA,  kC,  kS,  kS,  kA},
    /* returned        */ {kS,  kS,  kI,  kI,  kC,  kC,  kS,  kS,  kS},
}};
// clang-format on

constexpr std::array<TxStatus, kStatusCount> kAllStatuses = {
    TxStatus::kPending,   TxStatus::kProcessing, TxStatus::kRequiresAction,
    TxStatus::kSucceeded, TxStatus::kFailed,     TxStatus::kCanceled,
    TxStatus::kInTransit, TxStatus::kPaid,       TxStatus::kReturned,
};

constexpr std::size_t indexOf(TxStatus status) { return static_cast<std::size_t>(status); }

constexpr const Table& tableFor(Kind kind) {
  switch (kind) {
    case Kind::kCollect:
      return kCollectTable;
    case Kind::kPayout:
      return kPayoutTable;
  }
  return kCollectTable;
}

// Compile-time checks that keep the tables honest with validFor/finalFor: kI exactly where a
// status is foreign to the kind, kS on the diagonal, nothing moves back to pending, and a
// final status is left only by the documented payout paid -> failed | returned.
constexpr bool tableIsConsistent(Kind kind) {
  const Table& table = tableFor(kind);
  for (TxStatus from : kAllStatuses) {
    for (TxStatus to : kAllStatuses) {
      const Verdict v = table[indexOf(from)][indexOf(to)];
      const bool valid = validFor(kind, from) && validFor(kind, to);
      if ((v == Verdict::kInvalid) == valid) return false;
      if (!valid) continue;
      if (from == to && v != Verdict::kStale) return false;
      if (to == TxStatus::kPending && v != Verdict::kStale) return false;
      const bool documented_late_change = kind == Kind::kPayout && from == TxStatus::kPaid &&
                                          (to == TxStatus::kFailed || to == TxStatus::kReturned);
      if (finalFor(kind, from) && v == Verdict::kApply && !documented_late_change) return false;
    }
  }
  return true;
}
static_assert(tableIsConsistent(Kind::kCollect));
static_assert(tableIsConsistent(Kind::kPayout));

}  // namespace

bool isValidStatus(Kind kind, TxStatus status) { return validFor(kind, status); }

bool isFinal(Kind kind, TxStatus status) { return finalFor(kind, status); }

std::string_view toString(Verdict verdict) {
  switch (verdict) {
    case Verdict::kApply:
      return "apply";
    case Verdict::kStale:
      return "stale";
    case Verdict::kConflict:
      return "conflict";
    case Verdict::kInvalid:
      return "invalid";
  }
  return "invalid";
}

Verdict judge(Kind kind, TxStatus from, TxStatus to) {
  return tableFor(kind)[indexOf(from)][indexOf(to)];
}

std::string eventType(Kind kind, TxStatus status) {
  if (status == TxStatus::kPending || !validFor(kind, status)) return {};
  std::string type(objectName(kind));
  type += '.';
  type += paymux::toString(status);
  return type;
}

const std::vector<std::string>& allEventTypes() {
  static const std::vector<std::string>* const kTypes = [] {
    auto* types = new std::vector<std::string>();
    for (TxStatus status : {TxStatus::kProcessing, TxStatus::kRequiresAction, TxStatus::kSucceeded,
                            TxStatus::kFailed, TxStatus::kCanceled}) {
      types->push_back(eventType(Kind::kCollect, status));
    }
    for (TxStatus status : {TxStatus::kProcessing, TxStatus::kInTransit, TxStatus::kPaid,
                            TxStatus::kFailed, TxStatus::kReturned, TxStatus::kCanceled}) {
      types->push_back(eventType(Kind::kPayout, status));
    }
    return types;
  }();
  return *kTypes;
}

}  // namespace paymux::engine
