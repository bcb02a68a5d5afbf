#pragma once
#include <cstdint>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/api/connector.h"
#include "services/store/write_set.h"

namespace paymux::engine {

/// How a provider event was classified (provider_events.outcome).
enum class EventOutcome { kApplied, kDuplicate, kStale, kUnmatched, kDiscrepancy, kIgnored };
std::string_view toString(EventOutcome outcome);

/// A provider event stored as provider_events row `row_id`, or about to be stored with the
/// write set under placeholder `row_id` (negative: store::WriteSet::addProviderEvent).
struct StoredEvent {
  std::string connector_id;
  connectors::ProviderEvent event;
  int64_t row_id = 0;
  EventOutcome outcome = EventOutcome::kIgnored;  // set by reconcile()
};

/// Applies stored provider events to their transactions in the caller's database transaction:
/// row-locks the transactions they name (by provider reference, else by our id echoed back),
/// then, event by event in order, checks amount and currency, runs the state machine, records
/// the change and its event on an applied transition, and a discrepancy when the provider
/// contradicts us. Everything goes into `writes` (with each provider_events row's outcome);
/// the caller writes it in the same transaction. Sets each event's outcome.
void reconcile(pqxx::work& txn, std::vector<StoredEvent>& events, store::WriteSet& writes);

/// Which of these (connector, provider event id) pairs are already in provider_events.
std::set<std::pair<std::string, std::string>> alreadyStored(
    pqxx::work& txn, const std::vector<std::pair<std::string, std::string>>& keys);

/// Counts a webhook classification in the metrics (bounded labels: connector, outcome).
void countWebhook(const std::string& connector_id, std::string_view outcome);

}  // namespace paymux::engine
