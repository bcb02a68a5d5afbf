#pragma once
#include <pqxx/pqxx>
#include <string>

#include "connectors/api/connector.h"

namespace paymux::engine {

/// How a provider event was classified (provider_events.outcome).
enum class EventOutcome { kApplied, kDuplicate, kStale, kUnmatched, kDiscrepancy, kIgnored };
std::string_view toString(EventOutcome outcome);

/// Applies one stored provider event to its transaction, in the caller's database transaction:
/// finds the transaction (by provider reference, else by our id echoed back), checks amount and
/// currency, runs the state machine, writes the event on an applied transition, and records a
/// discrepancy when the provider contradicts us. Updates the provider_events row `row_id`.
EventOutcome reconcile(pqxx::work& txn, const std::string& connector_id,
                       const connectors::ProviderEvent& event, int64_t row_id);

/// Inserts the raw event; returns its row id, or -1 when (connector, event id) is already stored.
int64_t storeProviderEvent(pqxx::work& txn, const std::string& connector_id,
                           const connectors::ProviderEvent& event, const std::string& raw_body,
                           const std::string& headers_json);

/// Counts a webhook classification in the metrics (bounded labels: connector, outcome).
void countWebhook(const std::string& connector_id, std::string_view outcome);

}  // namespace paymux::engine
