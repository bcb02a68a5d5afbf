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

struct PublishedBatch {
  int events = 0;      // events numbered by this call
  int deliveries = 0;  // deliveries created for them
};

/// Numbers up to `limit` committed, unnumbered events (all tenants) and fans them out: each gets
/// its tenant's next sequence (written into its body in place of `"sequence":null`) and one
/// pending delivery per enabled subscription whose filter matches its type, all in one database
/// transaction.
// why: it bumps each tenant's counter under the same row lock the write set's numbering takes,
// so the two never hand out one number twice; the advisory lock keeps two sweepers from
// numbering the same events.
PublishedBatch publishEvents(pqxx::connection& conn, int limit);

/// Published events only: an event is visible once it has its sequence.
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
