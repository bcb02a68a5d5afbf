#include "services/engine/reconcile.h"
#include "services/store/prepared.h"

#include <algorithm>
#include <map>

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

std::vector<int64_t> storeProviderEvents(pqxx::work& txn, const std::vector<IncomingEvent>& events) {
  std::vector<int64_t> rows(events.size(), -1);
  if (events.empty()) return rows;
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  for (const auto& in : events) {
    const auto& e = *in.event;
    w.StartObject();
    json::kv(w, "connector_id", in.connector_id);
    json::kv(w, "provider_event_id", e.event_id);
    json::kv(w, "event_type", e.event_type);
    json::kv(w, "provider_ref", e.provider_ref);
    json::kvNullable(w, "status", e.status ? paymux::toString(*e.status) : "");
    json::kv(w, "raw_body", *in.raw_body);
    json::kv(w, "headers", *in.headers_json);
    w.EndObject();
  }
  w.EndArray();
  // why: sorted by key, two batches holding the same new events take their unique-index
  // locks in the same order and never deadlock.
  auto inserted = store::execPrepared(txn, "store_provider_events",
      "INSERT INTO provider_events (connector_id, provider_event_id, event_type, provider_ref,"
      " status, outcome, raw_body, headers)"
      " SELECT connector_id, provider_event_id, event_type, provider_ref, status, 'received',"
      "   raw_body, headers::jsonb"
      " FROM json_to_recordset($1::json) AS x(connector_id text, provider_event_id text,"
      "   event_type text, provider_ref text, status text, raw_body text, headers text)"
      " ORDER BY connector_id, provider_event_id"
      " ON CONFLICT (connector_id, provider_event_id) DO NOTHING"
      " RETURNING id, connector_id, provider_event_id",
      std::string(sb.GetString(), sb.GetSize()));
  std::map<std::pair<std::string, std::string>, int64_t> ids;
  for (const auto& r : inserted) {
    ids[{r[1].as<std::string>(), r[2].as<std::string>()}] = r[0].as<int64_t>();
  }
  for (size_t i = 0; i < events.size(); ++i) {
    auto it = ids.find({events[i].connector_id, events[i].event->event_id});
    if (it == ids.end()) continue;
    rows[i] = it->second;
    ids.erase(it);  // a later copy in the same batch is a duplicate
  }
  return rows;
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
