#include "services/store/events_repo.h"
#include "services/store/prepared.h"

namespace paymux::store {
namespace {
EventRecord fromRow(const pqxx::row& r) {
  return {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(),
          r[3].as<std::string>(), r[4].is_null() ? "" : r[4].as<std::string>(),
          r[5].as<std::string>()};
}
constexpr const char* kColumns = "id, tenant_id, sequence, type, transaction_id, body";
}  // namespace

PublishedBatch publishEvents(pqxx::connection& conn, int limit) {
  pqxx::work txn(conn);
  // why: a constant key; the statement below runs on a snapshot taken after the lock is held,
  // so it sees every batch an earlier holder committed.
  execPrepared(txn, "publish_lock", "SELECT pg_advisory_xact_lock(7277001)");
  // why tenants locked in id order first: the write set locks them in that order too, so a
  // sweep and a batch sharing two tenants never deadlock.
  static const std::string sql = std::string(
      "WITH pending AS (SELECT id, tenant_id, type, position FROM events"
      "   WHERE sequence IS NULL ORDER BY position LIMIT $1),"
      " numbered AS (SELECT id, tenant_id, type,"
      "   row_number() OVER (PARTITION BY tenant_id ORDER BY position) AS n FROM pending),"
      " counts AS (SELECT tenant_id, count(*) AS total FROM pending GROUP BY tenant_id),"
      " tl AS (SELECT t.id FROM tenants t WHERE t.id IN (SELECT tenant_id FROM counts)"
      "   ORDER BY t.id FOR NO KEY UPDATE),"
      " bumped AS (UPDATE tenants t SET event_sequence = t.event_sequence + c.total"
      "   FROM counts c JOIN tl ON tl.id = c.tenant_id WHERE t.id = c.tenant_id"
      "   RETURNING t.id AS tenant_id, t.event_sequence - c.total AS base),"
      " e AS (UPDATE events x SET sequence = b.base + n.n,"
      "   body = regexp_replace(x.body, '\"sequence\":null', '\"sequence\":' || (b.base + n.n)::text)"
      "   FROM numbered n JOIN bumped b ON b.tenant_id = n.tenant_id WHERE x.id = n.id"
      "   RETURNING x.id, x.tenant_id, x.type),") +
      kFanOutCtes +
      " SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM fanout),"
      "   (SELECT count(*) FROM woken)";
  auto row = execPrepared(txn, "publish_events", sql, limit)[0];
  PublishedBatch batch{row[0].as<int>(), row[1].as<int>()};
  txn.commit();
  return batch;
}

std::optional<EventRecord> findEvent(pqxx::transaction_base& txn, const std::string& tenant_id,
                                     const std::string& id) {
  auto rows = txn.exec_params(std::string("SELECT ") + kColumns +
                                  " FROM events WHERE id = $1 AND tenant_id = $2"
                                  " AND sequence IS NOT NULL",
                              id, tenant_id);
  if (rows.empty()) return std::nullopt;
  return fromRow(rows[0]);
}

std::optional<std::vector<EventRecord>> listEvents(pqxx::transaction_base& txn,
                                                   const std::string& tenant_id,
                                                   const EventFilter& f, bool* has_more) {
  pqxx::result rows;
  if (f.after_sequence) {
    rows = txn.exec_params(std::string("SELECT ") + kColumns +
                               " FROM events WHERE tenant_id = $1 AND sequence > $2"
                               " AND ($3 = '' OR type = $3) ORDER BY sequence ASC LIMIT $4",
                           tenant_id, *f.after_sequence, f.type, f.limit + 1);
  } else {
    int64_t before = INT64_MAX;
    if (!f.starting_after.empty()) {
      auto cursor = txn.exec_params("SELECT sequence FROM events WHERE id = $1 AND tenant_id = $2"
                                    " AND sequence IS NOT NULL",
                                    f.starting_after, tenant_id);
      if (cursor.empty()) return std::nullopt;
      before = cursor[0][0].as<int64_t>();
    }
    rows = txn.exec_params(std::string("SELECT ") + kColumns +
                               " FROM events WHERE tenant_id = $1 AND sequence < $2"
                               " AND ($3 = '' OR type = $3) ORDER BY sequence DESC LIMIT $4",
                           tenant_id, before, f.type, f.limit + 1);
  }
  std::vector<EventRecord> out;
  for (const auto& r : rows) {
    if (static_cast<int>(out.size()) == f.limit) break;
    out.push_back(fromRow(r));
  }
  *has_more = static_cast<int>(rows.size()) > f.limit;
  return out;
}

}  // namespace paymux::store
