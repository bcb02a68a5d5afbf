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

/// The CTEs that fan numbered events out, shared by every statement that numbers events: given
/// a CTE `e` (id, tenant_id, type) of those events, `fanout` inserts one pending delivery per
/// enabled subscription whose filter matches, and `woken` NOTIFYs kDeliveriesChannel (sent at
/// commit) when there was any. `woken` is a plain SELECT: the statement must reference it.
// why a constexpr array: it is spliced into other statements' text, and stays usable during
// static initialization.
inline constexpr char kFanOutCtes[] =
    " fanout AS (INSERT INTO deliveries (subscription_id, event_id, state, next_attempt_at)"
    "   SELECT s.id, e.id, 'pending', now() FROM e"
    "   JOIN subscriptions s ON s.tenant_id = e.tenant_id"
    "   WHERE s.enabled AND s.deleted_at IS NULL"
    "   AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))"
    "   RETURNING 1),"
    " woken AS (SELECT pg_notify('paymux_deliveries', '') FROM (SELECT 1 FROM fanout LIMIT 1) f)";

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
