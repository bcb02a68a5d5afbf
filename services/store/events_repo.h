#pragma once
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace paymux::store {

struct EventRecord {
  std::string id;
  std::string tenant_id;
  int64_t sequence = 0;
  std::string type;
  std::string transaction_id;
  std::string body;  // the event JSON, byte-identical wherever it is served or delivered
};

/// Takes the tenant's next event sequence. The tenant row stays locked until the transaction
/// ends, so sequences are gap-free and become visible in order; call it last, just before
/// inserting the event and committing.
int64_t nextEventSequence(pqxx::work& txn, const std::string& tenant_id);
/// Inserts the event and, in the same transaction, one pending delivery per enabled subscription
/// of the tenant whose filter matches its type.
// why: fan-out inside the event's own transaction means no process death between two steps can
// ever leave an event without its deliveries, and no cursor needs separate bookkeeping.
void insertEvent(pqxx::work& txn, const EventRecord& event);

std::optional<EventRecord> findEvent(pqxx::transaction_base& txn, const std::string& tenant_id,
                                     const std::string& id);

struct EventFilter {
  std::string type;                       // "" = any
  std::string starting_after;             // newest-first paging
  std::optional<int64_t> after_sequence;  // oldest-first catch-up
  int limit = 20;
};

/// Newest first, or oldest first from after_sequence. nullopt when starting_after is unknown.
std::optional<std::vector<EventRecord>> listEvents(pqxx::transaction_base& txn,
                                                   const std::string& tenant_id,
                                                   const EventFilter& filter, bool* has_more);

}  // namespace paymux::store
