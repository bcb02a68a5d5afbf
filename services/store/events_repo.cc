#include "services/store/events_repo.h"

namespace paymux::store {
namespace {
EventRecord fromRow(const pqxx::row& r) {
  return {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<int64_t>(),
          r[3].as<std::string>(), r[4].is_null() ? "" : r[4].as<std::string>(),
          r[5].as<std::string>()};
}
constexpr const char* kColumns = "id, tenant_id, sequence, type, transaction_id, body";
}  // namespace

int64_t nextEventSequence(pqxx::work& txn, const std::string& tenant_id) {
  return txn
      .exec_params(
          "UPDATE tenants SET event_sequence = event_sequence + 1 WHERE id = $1"
          " RETURNING event_sequence",
          tenant_id)[0][0]
      .as<int64_t>();
}

void insertEvent(pqxx::work& txn, const EventRecord& e) {
  txn.exec_params(
      "INSERT INTO events (id, tenant_id, sequence, type, transaction_id, body)"
      " VALUES ($1, $2, $3, $4, $5, $6)",
      e.id, e.tenant_id, e.sequence, e.type,
      e.transaction_id.empty() ? std::nullopt : std::optional<std::string>(e.transaction_id),
      e.body);
  txn.exec_params(
      "INSERT INTO deliveries (subscription_id, event_id, state, next_attempt_at)"
      " SELECT s.id, $1, 'pending', now() FROM subscriptions s"
      " WHERE s.tenant_id = $2 AND s.enabled AND s.deleted_at IS NULL"
      " AND (cardinality(s.event_types) = 0 OR $3 = ANY (s.event_types))",
      e.id, e.tenant_id, e.type);
}

std::optional<EventRecord> findEvent(pqxx::transaction_base& txn, const std::string& tenant_id,
                                     const std::string& id) {
  auto rows = txn.exec_params(std::string("SELECT ") + kColumns +
                                  " FROM events WHERE id = $1 AND tenant_id = $2",
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
      auto cursor = txn.exec_params("SELECT sequence FROM events WHERE id = $1 AND tenant_id = $2",
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
