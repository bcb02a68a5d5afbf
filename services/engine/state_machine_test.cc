#include "services/engine/state_machine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace paymux {

// Let GoogleTest print parameters and verdicts by name in failure messages.
void PrintTo(Kind kind, std::ostream* os) { *os << toString(kind); }
void PrintTo(TxStatus status, std::ostream* os) { *os << toString(status); }

namespace engine {

void PrintTo(Verdict verdict, std::ostream* os) { *os << toString(verdict); }

namespace {

// The expected rules, written independently of the implementation's matrices: status names as
// API.md spells them, the transitions that apply, the pairs that conflict; every other pair of
// valid statuses is stale, and any pair with a status foreign to the kind is invalid.
using Pair = std::pair<std::string, std::string>;

const std::map<Kind, std::set<std::string>> kValid = {
    {Kind::kCollect,
     {"pending", "processing", "requires_action", "succeeded", "failed", "canceled"}},
    {Kind::kPayout,
     {"pending", "processing", "in_transit", "paid", "failed", "returned", "canceled"}},
};

const std::map<Kind, std::set<std::string>> kFinal = {
    {Kind::kCollect, {"succeeded", "failed", "canceled"}},
    {Kind::kPayout, {"paid", "failed", "returned", "canceled"}},
};

const std::map<Kind, std::set<Pair>> kApplied = {
    {Kind::kCollect,
     {
         {"pending", "processing"},
         {"pending", "requires_action"},
         {"pending", "succeeded"},
         {"pending", "failed"},
         {"pending", "canceled"},
         {"processing", "requires_action"},
         {"processing", "succeeded"},
         {"processing", "failed"},
         {"processing", "canceled"},
         {"requires_action", "processing"},
         {"requires_action", "succeeded"},
         {"requires_action", "failed"},
         {"requires_action", "canceled"},
     }},
    {Kind::kPayout,
     {
         {"pending", "processing"},
         {"pending", "in_transit"},
         {"pending", "paid"},
         {"pending", "failed"},
         {"pending", "canceled"},
         {"processing", "in_transit"},
         {"processing", "paid"},
         {"processing", "failed"},
         {"processing", "canceled"},
         {"in_transit", "paid"},
         {"in_transit", "failed"},
         {"in_transit", "returned"},
         {"paid", "failed"},    // documented late change
         {"paid", "returned"},  // documented late change
     }},
};

const std::map<Kind, std::set<Pair>> kConflicts = {
    {Kind::kCollect,
     {
         {"succeeded", "failed"},
         {"succeeded", "canceled"},
         {"failed", "succeeded"},
         {"failed", "canceled"},
         {"canceled", "succeeded"},
         {"canceled", "failed"},
     }},
    {Kind::kPayout,
     {
         {"pending", "returned"},     // nothing was sent, so nothing can come back
         {"processing", "returned"},  // likewise
         {"in_transit", "canceled"},  // money already left
         {"paid", "canceled"},
         {"failed", "canceled"},
         {"failed", "returned"},
         {"canceled", "in_transit"},  // money moving on a payout we hold canceled
         {"canceled", "paid"},
         {"canceled", "failed"},
         {"canceled", "returned"},
         {"returned", "failed"},
         {"returned", "canceled"},
     }},
};

const std::vector<TxStatus> kStatuses = {
    TxStatus::kPending,   TxStatus::kProcessing, TxStatus::kRequiresAction,
    TxStatus::kSucceeded, TxStatus::kFailed,     TxStatus::kCanceled,
    TxStatus::kInTransit, TxStatus::kPaid,       TxStatus::kReturned,
};

std::string name(TxStatus status) { return std::string(paymux::toString(status)); }

Verdict expectedVerdict(Kind kind, TxStatus from, TxStatus to) {
  const auto& valid = kValid.at(kind);
  if (!valid.contains(name(from)) || !valid.contains(name(to))) return Verdict::kInvalid;
  const Pair pair{name(from), name(to)};
  if (kApplied.at(kind).contains(pair)) return Verdict::kApply;
  if (kConflicts.at(kind).contains(pair)) return Verdict::kConflict;
  return Verdict::kStale;
}

// ---- every (kind, from, to): 2 x 9 x 9 = 162 cases ----

using JudgeParam = std::tuple<Kind, TxStatus, TxStatus>;

class JudgeEveryPairTest : public ::testing::TestWithParam<JudgeParam> {};

TEST_P(JudgeEveryPairTest, MatchesExpectedTable) {
  const auto [kind, from, to] = GetParam();
  EXPECT_EQ(judge(kind, from, to), expectedVerdict(kind, from, to));
}

// Names the cases "payout_paid_to_returned", so a failure points at the cell.
std::string pairCaseName(const ::testing::TestParamInfo<JudgeParam>& info) {
  const auto [kind, from, to] = info.param;
  return std::string(objectName(kind)) + "_" + name(from) + "_to_" + name(to);
}

INSTANTIATE_TEST_SUITE_P(AllPairs, JudgeEveryPairTest,
                         ::testing::Combine(::testing::Values(Kind::kCollect, Kind::kPayout),
                                            ::testing::ValuesIn(kStatuses),
                                            ::testing::ValuesIn(kStatuses)),
                         pairCaseName);

TEST(StateMachineTest, ExpectedTableCoversAllPairs) {
  // Guards the test's own lists: every listed pair names valid statuses, and no pair is both
  // applied and conflicting.
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (const auto& [from, to] : kApplied.at(kind)) {
      EXPECT_TRUE(kValid.at(kind).contains(from) && kValid.at(kind).contains(to)) << from << to;
      EXPECT_FALSE(kConflicts.at(kind).contains({from, to})) << from << "->" << to;
    }
    for (const auto& [from, to] : kConflicts.at(kind)) {
      EXPECT_TRUE(kValid.at(kind).contains(from) && kValid.at(kind).contains(to)) << from << to;
    }
  }
}

// A second, rule-based oracle: among valid statuses that do not apply, a report is stale exactly
// when it equals the current status or could have come before it (the current status is
// reachable from it by applied transitions); otherwise it conflicts.
TEST(StateMachineTest, StaleExactlyWhenReportedStatusCouldPrecedeCurrent) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    std::map<TxStatus, std::set<TxStatus>> reachable;
    for (TxStatus s : kStatuses) {
      for (TxStatus t : kStatuses) {
        if (judge(kind, s, t) == Verdict::kApply) reachable[s].insert(t);
      }
    }
    for (bool grew = true; grew;) {  // transitive closure
      grew = false;
      for (auto& [s, targets] : reachable) {
        for (TxStatus t : std::set<TxStatus>(targets)) {
          for (TxStatus u : reachable[t]) grew |= targets.insert(u).second;
        }
      }
    }
    for (TxStatus from : kStatuses) {
      for (TxStatus to : kStatuses) {
        const Verdict v = judge(kind, from, to);
        if (v == Verdict::kApply || v == Verdict::kInvalid) continue;
        const bool older = from == to || reachable[to].contains(from);
        EXPECT_EQ(v, older ? Verdict::kStale : Verdict::kConflict)
            << objectName(kind) << " " << name(from) << " -> " << name(to);
      }
    }
  }
}

TEST(StateMachineTest, ValidStatusesPerKind) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus status : kStatuses) {
      EXPECT_EQ(isValidStatus(kind, status), kValid.at(kind).contains(name(status)))
          << objectName(kind) << " " << name(status);
    }
  }
}

TEST(StateMachineTest, FinalStatusesPerKind) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus status : kStatuses) {
      EXPECT_EQ(isFinal(kind, status), kFinal.at(kind).contains(name(status)))
          << objectName(kind) << " " << name(status);
    }
  }
}

// ---- named behaviours ----

TEST(StateMachineTest, PayoutPaidThenReturnedIsApplied) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPaid, TxStatus::kReturned), Verdict::kApply);
}

TEST(StateMachineTest, PayoutPaidThenFailedIsApplied) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPaid, TxStatus::kFailed), Verdict::kApply);
}

TEST(StateMachineTest, CollectionSucceededThenFailedIsConflict) {
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kSucceeded, TxStatus::kFailed), Verdict::kConflict);
}

TEST(StateMachineTest, CollectionFailedThenSucceededIsConflict) {
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kFailed, TxStatus::kSucceeded), Verdict::kConflict);
}

TEST(StateMachineTest, LateProcessingAfterSucceededIsStale) {
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kSucceeded, TxStatus::kProcessing), Verdict::kStale);
}

TEST(StateMachineTest, LateRequiresActionAfterCanceledIsStale) {
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kCanceled, TxStatus::kRequiresAction), Verdict::kStale);
}

TEST(StateMachineTest, RequiresActionBackToProcessingIsApplied) {
  // The customer completed 3-D Secure; the provider is processing again.
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kRequiresAction, TxStatus::kProcessing),
            Verdict::kApply);
}

TEST(StateMachineTest, RepeatedStatusIsStale) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus status : kStatuses) {
      if (!isValidStatus(kind, status)) continue;
      EXPECT_EQ(judge(kind, status, status), Verdict::kStale) << name(status);
    }
  }
}

TEST(StateMachineTest, NothingMovesBackToPending) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus from : kStatuses) {
      if (!isValidStatus(kind, from)) continue;
      EXPECT_EQ(judge(kind, from, TxStatus::kPending), Verdict::kStale) << name(from);
    }
  }
}

TEST(StateMachineTest, PayoutSkippingInTransitToPaidIsApplied) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kProcessing, TxStatus::kPaid), Verdict::kApply);
}

TEST(StateMachineTest, PayoutInTransitThenProcessingIsStale) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kInTransit, TxStatus::kProcessing), Verdict::kStale);
}

TEST(StateMachineTest, LateInTransitAfterPaidIsStale) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPaid, TxStatus::kInTransit), Verdict::kStale);
}

TEST(StateMachineTest, LatePaidAfterReturnedIsStale) {
  // paid -> returned is a real path, so a paid delivered after returned is older news.
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kReturned, TxStatus::kPaid), Verdict::kStale);
}

TEST(StateMachineTest, LatePaidAfterFailedIsStale) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kFailed, TxStatus::kPaid), Verdict::kStale);
}

TEST(StateMachineTest, PayoutFailedThenReturnedIsConflict) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kFailed, TxStatus::kReturned), Verdict::kConflict);
}

TEST(StateMachineTest, PayoutCanceledOnlyBeforeMoneyLeaves) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPending, TxStatus::kCanceled), Verdict::kApply);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kProcessing, TxStatus::kCanceled), Verdict::kApply);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kInTransit, TxStatus::kCanceled), Verdict::kConflict);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPaid, TxStatus::kCanceled), Verdict::kConflict);
}

TEST(StateMachineTest, PayoutInTransitAfterCanceledIsConflict) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kCanceled, TxStatus::kInTransit), Verdict::kConflict);
}

TEST(StateMachineTest, PayoutReturnedOnlyAfterMoneyLeft) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kPending, TxStatus::kReturned), Verdict::kConflict);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kProcessing, TxStatus::kReturned), Verdict::kConflict);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kInTransit, TxStatus::kReturned), Verdict::kApply);
}

TEST(StateMachineTest, PayoutStatusOnCollectionIsInvalid) {
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kProcessing, TxStatus::kPaid), Verdict::kInvalid);
  EXPECT_EQ(judge(Kind::kCollect, TxStatus::kInTransit, TxStatus::kSucceeded), Verdict::kInvalid);
}

TEST(StateMachineTest, CollectionStatusOnPayoutIsInvalid) {
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kProcessing, TxStatus::kSucceeded), Verdict::kInvalid);
  EXPECT_EQ(judge(Kind::kPayout, TxStatus::kRequiresAction, TxStatus::kPaid), Verdict::kInvalid);
}

TEST(StateMachineTest, FinalStatusIsLeftOnlyByDocumentedPayoutChange) {
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus from : kStatuses) {
      if (!isFinal(kind, from)) continue;
      for (TxStatus to : kStatuses) {
        const bool documented = kind == Kind::kPayout && from == TxStatus::kPaid &&
                                (to == TxStatus::kFailed || to == TxStatus::kReturned);
        EXPECT_EQ(judge(kind, from, to) == Verdict::kApply, documented)
            << objectName(kind) << " " << name(from) << " -> " << name(to);
      }
    }
  }
}

// ---- event types ----

TEST(StateMachineTest, EventTypeForEachCollectionStatus) {
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kPending), "");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kProcessing), "collection.processing");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kRequiresAction), "collection.requires_action");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kSucceeded), "collection.succeeded");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kFailed), "collection.failed");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kCanceled), "collection.canceled");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kInTransit), "");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kPaid), "");
  EXPECT_EQ(eventType(Kind::kCollect, TxStatus::kReturned), "");
}

TEST(StateMachineTest, EventTypeForEachPayoutStatus) {
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kPending), "");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kProcessing), "payout.processing");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kRequiresAction), "");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kSucceeded), "");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kFailed), "payout.failed");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kCanceled), "payout.canceled");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kInTransit), "payout.in_transit");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kPaid), "payout.paid");
  EXPECT_EQ(eventType(Kind::kPayout, TxStatus::kReturned), "payout.returned");
}

TEST(StateMachineTest, AllEventTypesMatchApiDoc) {
  const std::vector<std::string> expected = {
      "collection.processing", "collection.requires_action",
      "collection.succeeded",  "collection.failed",
      "collection.canceled",   "payout.processing",
      "payout.in_transit",     "payout.paid",
      "payout.failed",         "payout.returned",
      "payout.canceled",
  };
  EXPECT_EQ(allEventTypes(), expected);
  EXPECT_EQ(&allEventTypes(), &allEventTypes());  // one stable instance
}

TEST(StateMachineTest, EveryAppliedTransitionHasAnEventType) {
  // "Every applied transition emits exactly one event": its target must name one.
  const std::vector<std::string>& all = allEventTypes();
  for (Kind kind : {Kind::kCollect, Kind::kPayout}) {
    for (TxStatus from : kStatuses) {
      for (TxStatus to : kStatuses) {
        if (judge(kind, from, to) != Verdict::kApply) continue;
        const std::string type = eventType(kind, to);
        EXPECT_NE(std::find(all.begin(), all.end(), type), all.end())
            << objectName(kind) << " " << name(from) << " -> " << name(to);
      }
    }
  }
}

TEST(StateMachineTest, VerdictNames) {
  EXPECT_EQ(toString(Verdict::kApply), "apply");
  EXPECT_EQ(toString(Verdict::kStale), "stale");
  EXPECT_EQ(toString(Verdict::kConflict), "conflict");
  EXPECT_EQ(toString(Verdict::kInvalid), "invalid");
}

}  // namespace
}  // namespace engine
}  // namespace paymux
