#include "services/engine/reconcile.h"

#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/engine/state_machine.h"
#include "services/engine/transitions.h"
#include "services/store/transactions_repo.h"

namespace paymux::engine {
namespace {

void recordDiscrepancy(pqxx::work& txn, const std::string& transaction_id, int64_t row_id,
                       const std::string& kind, const std::string& detail,
                       const std::string& connector_id) {
  txn.exec_params(
      "INSERT INTO discrepancies (transaction_id, provider_event_id, kind, detail)"
      " VALUES ($1, $2, $3, $4)",
      transaction_id.empty() ? std::nullopt : std::optional<std::string>(transaction_id), row_id,
      kind, detail);
  metrics::Registry::global().counterAdd("paymux_discrepancies_total",
                                         "Provider events that contradict paymux's records",
                                         {{"connector", connector_id}, {"kind", kind}});
  log::warn("discrepancy recorded", {{"connector", connector_id},
                                     {"transaction", transaction_id},
                                     {"kind", kind},
                                     {"detail", detail}});
}

void finish(pqxx::work& txn, int64_t row_id, EventOutcome outcome,
            const std::string& transaction_id) {
  txn.exec_params(
      "UPDATE provider_events SET outcome = $2, transaction_id = $3, processed_at = now(),"
      " next_retry_at = NULL WHERE id = $1",
      row_id, std::string(toString(outcome)),
      transaction_id.empty() ? std::nullopt : std::optional<std::string>(transaction_id));
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

int64_t storeProviderEvent(pqxx::work& txn, const std::string& connector_id,
                           const connectors::ProviderEvent& event, const std::string& raw_body,
                           const std::string& headers_json) {
  auto rows = txn.exec_params(
      "INSERT INTO provider_events (connector_id, provider_event_id, event_type, provider_ref,"
      " status, outcome, raw_body, headers) VALUES ($1, $2, $3, $4, $5, 'received', $6, $7::jsonb)"
      " ON CONFLICT (connector_id, provider_event_id) DO NOTHING RETURNING id",
      connector_id, event.event_id, event.event_type, event.provider_ref,
      event.status ? std::optional<std::string>(std::string(toString(*event.status))) : std::nullopt,
      raw_body, headers_json);
  return rows.empty() ? -1 : rows[0][0].as<int64_t>();
}

EventOutcome reconcile(pqxx::work& txn, const std::string& connector_id,
                       const connectors::ProviderEvent& event, int64_t row_id) {
  if (!event.status) {
    finish(txn, row_id, EventOutcome::kIgnored, "");
    return EventOutcome::kIgnored;
  }
  std::optional<store::TransactionRecord> tx;
  if (!event.provider_ref.empty()) {
    tx = store::findByProviderRef(txn, connector_id, event.provider_ref, /*for_update=*/true);
  }
  if (!tx && !event.our_id.empty()) {
    tx = store::findTransaction(txn, "", event.our_id, /*for_update=*/true);
    // why: only a transaction routed to this connector may be settled by its webhooks.
    if (tx && tx->connector_id != connector_id) tx.reset();
  }
  if (!tx) {
    // A fast provider can call before our own API call has stored its reference: park it.
    txn.exec_params(
        "UPDATE provider_events SET outcome = 'unmatched', next_retry_at = now() + interval '1 second'"
        " WHERE id = $1",
        row_id);
    return EventOutcome::kUnmatched;
  }
  if ((event.amount_minor && *event.amount_minor != tx->amount_minor) ||
      (!event.currency.empty() && event.currency != tx->currency)) {
    recordDiscrepancy(txn, tx->id, row_id, "amount_mismatch",
                      "provider reports " + std::to_string(event.amount_minor.value_or(0)) + " " +
                          event.currency + ", paymux holds " + std::to_string(tx->amount_minor) +
                          " " + tx->currency,
                      connector_id);
    finish(txn, row_id, EventOutcome::kDiscrepancy, tx->id);
    return EventOutcome::kDiscrepancy;
  }
  StatusReport report;
  report.status = *event.status;
  report.provider_ref = event.provider_ref;
  report.failure = event.failure;
  report.documented_reversal = event.documented_reversal;
  Verdict verdict = applyStatus(txn, *tx, report);
  EventOutcome outcome = EventOutcome::kStale;
  switch (verdict) {
    case Verdict::kApply:
      outcome = EventOutcome::kApplied;
      break;
    case Verdict::kStale:
      outcome = EventOutcome::kStale;
      break;
    case Verdict::kConflict:
    case Verdict::kInvalid:
      recordDiscrepancy(txn, tx->id, row_id,
                        verdict == Verdict::kConflict ? "conflicting_status" : "invalid_status",
                        "provider reports " + std::string(paymux::toString(*event.status)) +
                            ", paymux holds " + std::string(paymux::toString(tx->status)),
                        connector_id);
      outcome = EventOutcome::kDiscrepancy;
      break;
  }
  finish(txn, row_id, outcome, tx->id);
  return outcome;
}

}  // namespace paymux::engine
