#include "services/engine/reconcile.h"
#include "services/store/prepared.h"

#include <set>
#include <utility>

#include "services/common/json.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/engine/state_machine.h"
#include "services/engine/transitions.h"
#include "services/store/transactions_repo.h"

namespace paymux::engine {
namespace {

void recordDiscrepancy(store::WriteSet& writes, const std::string& transaction_id, int64_t row_id,
                       const std::string& kind, const std::string& detail,
                       const std::string& connector_id) {
  writes.addDiscrepancy({transaction_id, row_id, kind, detail});
  metrics::Registry::global().counterAdd("paymux_discrepancies_total",
                                         "Provider events that contradict paymux's records",
                                         {{"connector", connector_id}, {"kind", kind}});
  log::warn("discrepancy recorded", {{"connector", connector_id},
                                     {"transaction", transaction_id},
                                     {"kind", kind},
                                     {"detail", detail}});
}

/// The transaction an event names, as earlier events of the batch left it; nullptr if none.
store::TransactionRecord* matchTransaction(std::vector<store::TransactionRecord>& locked,
                                           const StoredEvent& stored) {
  const auto& event = stored.event;
  if (!event.provider_ref.empty()) {
    for (auto& tx : locked) {
      if (tx.connector_id == stored.connector_id && tx.provider_ref == event.provider_ref) return &tx;
    }
  }
  if (!event.our_id.empty()) {
    for (auto& tx : locked) {
      // why: only a transaction routed to this connector may be settled by its webhooks.
      if (tx.id == event.our_id && tx.connector_id == stored.connector_id) return &tx;
    }
  }
  return nullptr;
}

EventOutcome reconcileOne(StoredEvent& stored, store::TransactionRecord* tx,
                          store::WriteSet& writes) {
  const auto& event = stored.event;
  const std::string& connector_id = stored.connector_id;
  if (!event.status) {
    writes.setProviderEventOutcome(stored.row_id, "ignored", "");
    return EventOutcome::kIgnored;
  }
  if (tx == nullptr) {
    // A fast provider can call before our own API call has stored its reference: park it.
    writes.setProviderEventOutcome(stored.row_id, "unmatched", "");
    return EventOutcome::kUnmatched;
  }
  EventOutcome outcome = EventOutcome::kStale;
  if ((event.amount_minor && *event.amount_minor != tx->amount_minor) ||
      (!event.currency.empty() && event.currency != tx->currency)) {
    recordDiscrepancy(writes, tx->id, stored.row_id, "amount_mismatch",
                      "provider reports " + std::to_string(event.amount_minor.value_or(0)) + " " +
                          event.currency + ", paymux holds " + std::to_string(tx->amount_minor) +
                          " " + tx->currency,
                      connector_id);
    outcome = EventOutcome::kDiscrepancy;
  } else {
    StatusReport report;
    report.status = *event.status;
    report.provider_ref = event.provider_ref;
    report.failure = event.failure;
    report.documented_reversal = event.documented_reversal;
    Verdict verdict = applyStatus(writes, *tx, report);
    switch (verdict) {
      case Verdict::kApply:
        outcome = EventOutcome::kApplied;
        break;
      case Verdict::kStale:
        outcome = EventOutcome::kStale;
        break;
      case Verdict::kConflict:
      case Verdict::kInvalid:
        recordDiscrepancy(writes, tx->id, stored.row_id,
                          verdict == Verdict::kConflict ? "conflicting_status" : "invalid_status",
                          "provider reports " + std::string(paymux::toString(*event.status)) +
                              ", paymux holds " + std::string(paymux::toString(tx->status)),
                          connector_id);
        outcome = EventOutcome::kDiscrepancy;
        break;
    }
  }
  writes.setProviderEventOutcome(stored.row_id, toString(outcome), tx->id);
  return outcome;
}

}  // namespace

std::string_view toString(EventOutcome outcome) {
  switch (outcome) {
    case EventOutcome::kApplied: return "applied";
    case EventOutcome::kDuplicate: return "duplicate";
    case EventOutcome::kStale: return "stale";
    case EventOutcome::kUnmatched: return "unmatched";
    case EventOutcome::kDiscrepancy: return "discrepancy";
    case EventOutcome::kIgnored: return "ignored";
  }
  return "ignored";
}

void countWebhook(const std::string& connector_id, std::string_view outcome) {
  metrics::Registry::global().counterAdd("paymux_provider_webhooks_total",
                                         "Provider webhook events by connector and outcome",
                                         {{"connector", connector_id}, {"outcome", std::string(outcome)}});
}

std::set<std::pair<std::string, std::string>> alreadyStored(
    pqxx::work& txn, const std::vector<std::pair<std::string, std::string>>& keys) {
  std::set<std::pair<std::string, std::string>> stored;
  if (keys.empty()) return stored;
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  for (const auto& [connector_id, event_id] : keys) {
    w.StartObject();
    json::kv(w, "connector_id", connector_id);
    json::kv(w, "provider_event_id", event_id);
    w.EndObject();
  }
  w.EndArray();
  auto rows = store::execPrepared(txn, "provider_events_already_stored",
      "SELECT p.connector_id, p.provider_event_id FROM provider_events p"
      " JOIN json_to_recordset($1::json) AS x(connector_id text, provider_event_id text)"
      " ON p.connector_id = x.connector_id AND p.provider_event_id = x.provider_event_id",
      std::string(sb.GetString(), sb.GetSize()));
  for (const auto& r : rows) stored.insert({r[0].as<std::string>(), r[1].as<std::string>()});
  return stored;
}

void reconcile(pqxx::work& txn, std::vector<StoredEvent>& events, store::WriteSet& writes) {
  std::vector<store::ProviderRef> refs;
  std::vector<std::string> ids;
  for (const auto& stored : events) {
    if (!stored.event.status) continue;
    if (!stored.event.provider_ref.empty()) {
      refs.push_back({stored.connector_id, stored.event.provider_ref});
    }
    if (!stored.event.our_id.empty()) ids.push_back(stored.event.our_id);
  }
  std::vector<store::TransactionRecord> locked = store::lockTransactions(txn, refs, ids);
  for (auto& stored : events) {
    stored.outcome = reconcileOne(stored, matchTransaction(locked, stored), writes);
  }
}

}  // namespace paymux::engine
