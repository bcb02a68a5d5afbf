#include "services/store/write_set.h"
#include "services/store/events_repo.h"
#include "services/store/prepared.h"

#include <algorithm>
#include <set>
#include <stdexcept>
#include <utility>

#include "services/common/json.h"
#include "services/common/rfc3339.h"

namespace paymux::store {
namespace {

// Each statement takes its rows as one JSON array parameter (json_to_recordset), so a batch is
// one parse and one round trip whatever its size.
template <typename Rows, typename WriteRow>
std::string jsonRows(const Rows& rows, WriteRow write_row) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartArray();
  int ord = 0;
  for (const auto& row : rows) {
    w.StartObject();
    json::kvInt(w, "ord", ord++);
    write_row(w, row);
    w.EndObject();
  }
  w.EndArray();
  return std::string(sb.GetString(), sb.GetSize());
}

// why: one statement for the whole set (one round trip, and autocommit-able): the version-checked
// update runs first, and every row tied to a transaction it skipped is left out. Data-modifying
// CTEs always run to completion; rows are inserted in `ord` order so bigserial ids keep the
// order of the set.
const std::string& writeStatement() {
  static const std::string sql = std::string(
    "WITH c AS (SELECT * FROM json_to_recordset($1::json) AS c(ord int, id text,"
    "   expected_version int, status text, connector_id text, provider_ref text,"
    "   failure_code text, failure_message text, next_action_url text, updated_at timestamptz)),"
    // why: rows are locked in id order, as lockTransactions does for webhooks, so a batch of
    // outcomes and a batch of webhooks touching the same rows never deadlock.
    " locked AS (SELECT t.id FROM transactions t JOIN c ON c.id = t.id ORDER BY t.id"
    "   FOR UPDATE OF t),"
    " u AS (UPDATE transactions t SET status = c.status, connector_id = c.connector_id,"
    "     provider_ref = c.provider_ref, failure_code = c.failure_code,"
    "     failure_message = c.failure_message, next_action_url = c.next_action_url,"
    "     version = t.version + 1, updated_at = c.updated_at"
    "   FROM c JOIN locked l ON l.id = c.id"
    "   WHERE t.id = c.id AND t.version = c.expected_version RETURNING t.id),"
    " skipped AS (SELECT id FROM c WHERE id NOT IN (SELECT id FROM u)),"
    " a AS (INSERT INTO attempts (transaction_id, connector_id, outcome, error_code,"
    "     http_status, latency_ms)"
    "   SELECT transaction_id, connector_id, outcome, error_code, http_status, latency_ms"
    "   FROM json_to_recordset($2::json) AS x(ord int, transaction_id text, connector_id text,"
    "     outcome text, error_code text, http_status int, latency_ms int)"
    "   WHERE transaction_id NOT IN (SELECT id FROM skipped) ORDER BY ord"
    "   RETURNING 1),"
    " ev AS (SELECT x.*, row_number() OVER (PARTITION BY x.tenant_id ORDER BY x.ord) AS n"
    "   FROM json_to_recordset($3::json) AS x(ord int, id text, tenant_id text, type text,"
    "     transaction_id text, body text)"
    "   WHERE coalesce(x.transaction_id, '') NOT IN (SELECT id FROM skipped)),"
    " counts AS (SELECT tenant_id, count(*) AS total FROM ev GROUP BY tenant_id),"
    // why: tenant rows are locked in id order, after every other row this statement locks or
    // waits for (see the final SELECT), and held until commit: that is what makes each
    // tenant's sequence become visible in order. Migration 0003 moved numbering out of the
    // write because one lock per request serialized a tenant's requests; with group commit a
    // batch of requests takes it once, and numbering here saves the publisher's transaction
    // (a second commit and a second copy of every event row) and makes events visible at once.
    " tl AS (SELECT t.id FROM tenants t WHERE t.id IN (SELECT tenant_id FROM counts)"
    "   ORDER BY t.id FOR NO KEY UPDATE),"
    " bumped AS (UPDATE tenants t SET event_sequence = t.event_sequence + c.total"
    "   FROM counts c JOIN tl ON tl.id = c.tenant_id WHERE t.id = c.tenant_id"
    "   RETURNING t.id AS tenant_id, t.event_sequence - c.total AS base),"
    " e AS (INSERT INTO events (id, tenant_id, type, transaction_id, body, sequence)"
    "   SELECT ev.id, ev.tenant_id, ev.type, ev.transaction_id,"
    "     regexp_replace(ev.body, '\"sequence\":null', '\"sequence\":' || (b.base + ev.n)::text),"
    "     b.base + ev.n"
    // why LEFT JOIN: an event of an unknown tenant gets a NULL body, so the statement fails as
    // a whole instead of leaving the event out.
    "   FROM ev LEFT JOIN bumped b ON b.tenant_id = ev.tenant_id ORDER BY ev.ord"
    "   RETURNING id, tenant_id, type),") +
    kFanOutCtes + "," +
    " o AS (UPDATE provider_events p SET outcome = x.outcome, transaction_id = x.transaction_id,"
    "     processed_at = CASE WHEN x.outcome = 'unmatched' THEN p.processed_at ELSE now() END,"
    "     next_retry_at = CASE WHEN x.outcome = 'unmatched' THEN now() + interval '1 second' END"
    "   FROM json_to_recordset($4::json) AS x(ord int, id bigint, outcome text,"
    "     transaction_id text)"
    "   WHERE p.id = x.id AND coalesce(x.transaction_id, '') NOT IN (SELECT id FROM skipped)"
    "   RETURNING 1),"
    // why: sorted by key, two batches holding the same new events take their unique-index
    // locks in the same order and never deadlock.
    " pe AS (INSERT INTO provider_events (connector_id, provider_event_id, event_type,"
    "     provider_ref, status, outcome, transaction_id, raw_body, headers, processed_at,"
    "     next_retry_at)"
    "   SELECT connector_id, provider_event_id, event_type, provider_ref, status, outcome,"
    "     transaction_id, raw_body, headers::jsonb,"
    "     CASE WHEN outcome = 'unmatched' THEN NULL ELSE now() END,"
    "     CASE WHEN outcome = 'unmatched' THEN now() + interval '1 second' END"
    "   FROM json_to_recordset($7::json) AS x(ord int, connector_id text,"
    "     provider_event_id text, event_type text, provider_ref text, status text,"
    "     outcome text, transaction_id text, raw_body text, headers text)"
    "   WHERE coalesce(transaction_id, '') NOT IN (SELECT id FROM skipped)"
    "   ORDER BY connector_id, provider_event_id"
    "   ON CONFLICT (connector_id, provider_event_id) DO NOTHING"
    "   RETURNING id, connector_id, provider_event_id),"
    " d AS (INSERT INTO discrepancies (transaction_id, provider_event_id, kind, detail)"
    "   SELECT transaction_id, coalesce(provider_event_id, (SELECT pe.id FROM pe"
    "     WHERE pe.connector_id = x.new_connector_id"
    "     AND pe.provider_event_id = x.new_provider_event_id)), kind, detail"
    "   FROM json_to_recordset($5::json) AS x(ord int, transaction_id text,"
    "     provider_event_id bigint, new_connector_id text, new_provider_event_id text,"
    "     kind text, detail text)"
    "   WHERE coalesce(transaction_id, '') NOT IN (SELECT id FROM skipped) ORDER BY ord"
    "   RETURNING 1),"
    " k AS (UPDATE idempotency_keys k SET state = 'done', response_status = x.status,"
    "     response_body = x.body, locked_until = NULL"
    "   FROM json_to_recordset($6::json) AS x(ord int, transaction_id text, tenant_id text,"
    "     key text, status int, body text)"
    "   WHERE k.tenant_id = x.tenant_id AND k.key = x.key AND k.transaction_id = x.transaction_id"
    "   AND x.transaction_id NOT IN (SELECT id FROM skipped)"
    "   RETURNING 1)"
    // why: the branches of a UNION ALL run in order. Every row lock and unique-key wait comes
    // before the tenant locks (last branch), so two batches never wait for each other in a
    // cycle: a batch holding a tenant lock waits for nothing but its commit.
    " SELECT 'skipped', id, NULL, NULL::bigint FROM skipped"
    " UNION ALL SELECT 'stored', connector_id, provider_event_id, id FROM pe"
    " UNION ALL SELECT 'rows', NULL, NULL, (SELECT count(*) FROM a) + (SELECT count(*) FROM o)"
    "   + (SELECT count(*) FROM d) + (SELECT count(*) FROM k)"
    " UNION ALL SELECT 'events', NULL, NULL, (SELECT count(*) FROM e)"
    "   + 0 * (SELECT count(*) FROM woken)";
  return sql;
}

template <typename Rows, typename Skip>
void dropSkipped(Rows& rows, const std::set<std::string>& skipped, Skip transaction_of) {
  rows.erase(std::remove_if(rows.begin(), rows.end(),
                            [&](const auto& r) { return skipped.count(transaction_of(r)) > 0; }),
             rows.end());
}

}  // namespace

void WriteSet::changeTransaction(const TransactionRecord& tx, int expected_version,
                                 std::chrono::system_clock::time_point updated_at) {
  auto [it, inserted] = changes_.try_emplace(tx.id);
  if (inserted) it->second.expected_version = expected_version;
  it->second.tx = tx;
  it->second.updated_at = updated_at;
}

void WriteSet::addAttempts(const std::string& transaction_id,
                           const std::vector<AttemptRecord>& attempts) {
  for (const auto& a : attempts) attempts_.push_back({transaction_id, a});
}

void WriteSet::addEvent(NewEvent event) { events_.push_back(std::move(event)); }

int64_t WriteSet::addProviderEvent(NewProviderEvent event) {
  provider_events_.push_back(std::move(event));
  return -static_cast<int64_t>(provider_events_.size());
}

void WriteSet::setProviderEventOutcome(int64_t row_id, std::string_view outcome,
                                       const std::string& transaction_id) {
  if (row_id < 0) {
    auto& pending = pendingProviderEvent(row_id);
    pending.outcome = std::string(outcome);
    pending.transaction_id = transaction_id;
    return;
  }
  outcomes_.push_back({row_id, std::string(outcome), transaction_id});
}

std::optional<int64_t> WriteSet::storedProviderEvent(int64_t placeholder) const {
  return stored_provider_events_.at(static_cast<size_t>(-placeholder - 1));
}

void WriteSet::addDiscrepancy(NewDiscrepancy discrepancy) {
  discrepancies_.push_back(std::move(discrepancy));
}

void WriteSet::completeIdempotencyKey(const std::string& transaction_id,
                                      const std::string& tenant_id, const std::string& key,
                                      int status, const std::string& body) {
  completions_.push_back({transaction_id, tenant_id, key, body, status});
}

bool WriteSet::empty() const {
  return changes_.empty() && attempts_.empty() && events_.empty() && outcomes_.empty() &&
         discrepancies_.empty() && completions_.empty() && provider_events_.empty();
}

void WriteSet::append(WriteSet&& other) {
  // Placeholder ids index this set's own provider events; merged, they would collide.
  if (!other.provider_events_.empty()) {
    throw std::logic_error("WriteSet::append takes sets without new provider events");
  }
  for (auto& [id, change] : other.changes_) {
    auto [it, inserted] = changes_.try_emplace(id, std::move(change));
    if (!inserted) {
      it->second.tx = std::move(change.tx);
      it->second.updated_at = change.updated_at;
    }
  }
  auto move_all = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  move_all(attempts_, other.attempts_);
  move_all(events_, other.events_);
  move_all(outcomes_, other.outcomes_);
  move_all(discrepancies_, other.discrepancies_);
  move_all(completions_, other.completions_);
  other = WriteSet();
}

std::vector<std::string> WriteSet::write(pqxx::transaction_base& txn) {
  std::vector<std::string> conflicts;
  if (empty()) return conflicts;
  std::vector<const Change*> changes;
  for (const auto& [id, change] : changes_) changes.push_back(&change);
  auto result = execPrepared(
      txn, "write_set", writeStatement(),
      jsonRows(changes,
               [](json::Writer& w, const Change* c) {
                 const auto& t = c->tx;
                 json::kv(w, "id", t.id);
                 json::kvInt(w, "expected_version", c->expected_version);
                 json::kv(w, "status", toString(t.status));
                 json::kvNullable(w, "connector_id", t.connector_id);
                 json::kvNullable(w, "provider_ref", t.provider_ref);
                 json::kvNullable(w, "failure_code", t.failure_code);
                 json::kvNullable(w, "failure_message", t.failure_message);
                 json::kvNullable(w, "next_action_url", t.next_action_url);
                 json::kv(w, "updated_at", formatRfc3339(c->updated_at, /*microseconds=*/true));
               }),
      jsonRows(attempts_,
               [](json::Writer& w, const Attempt& a) {
                 json::kv(w, "transaction_id", a.transaction_id);
                 json::kv(w, "connector_id", a.attempt.connector_id);
                 json::kv(w, "outcome", a.attempt.outcome);
                 json::kvNullable(w, "error_code", a.attempt.error_code);
                 json::key(w, "http_status");
                 if (a.attempt.http_status == 0) w.Null(); else w.Int(a.attempt.http_status);
                 json::kvInt(w, "latency_ms", a.attempt.latency_ms);
               }),
      jsonRows(events_,
               [](json::Writer& w, const NewEvent& e) {
                 json::kv(w, "id", e.id);
                 json::kv(w, "tenant_id", e.tenant_id);
                 json::kv(w, "type", e.type);
                 json::kvNullable(w, "transaction_id", e.transaction_id);
                 json::kv(w, "body", e.body);
               }),
      jsonRows(outcomes_,
               [](json::Writer& w, const ProviderEventOutcome& o) {
                 json::kvInt(w, "id", o.row_id);
                 json::kv(w, "outcome", o.outcome);
                 json::kvNullable(w, "transaction_id", o.transaction_id);
               }),
      jsonRows(discrepancies_,
               [this](json::Writer& w, const NewDiscrepancy& d) {
                 json::kvNullable(w, "transaction_id", d.transaction_id);
                 json::key(w, "provider_event_id");
                 if (!d.provider_event) {
                   w.Null();
                 } else if (*d.provider_event > 0) {
                   w.Int64(*d.provider_event);
                 } else {  // stored by this same statement: resolved there by its key
                   const auto& e = pendingProviderEvent(*d.provider_event);
                   w.Null();
                   json::kv(w, "new_connector_id", e.connector_id);
                   json::kv(w, "new_provider_event_id", e.provider_event_id);
                 }
                 json::kv(w, "kind", d.kind);
                 json::kv(w, "detail", d.detail);
               }),
      jsonRows(completions_, [](json::Writer& w, const Completion& c) {
        json::kv(w, "transaction_id", c.transaction_id);
        json::kv(w, "tenant_id", c.tenant_id);
        json::kv(w, "key", c.key);
        json::kvInt(w, "status", c.status);
        json::kv(w, "body", c.body);
      }),
      jsonRows(provider_events_, [](json::Writer& w, const NewProviderEvent& e) {
        json::kv(w, "connector_id", e.connector_id);
        json::kv(w, "provider_event_id", e.provider_event_id);
        json::kv(w, "event_type", e.event_type);
        json::kv(w, "provider_ref", e.provider_ref);
        json::kvNullable(w, "status", e.status);
        json::kv(w, "outcome", e.outcome);
        json::kvNullable(w, "transaction_id", e.transaction_id);
        json::kv(w, "raw_body", *e.raw_body);
        json::kv(w, "headers", *e.headers_json);
      }));
  std::map<std::pair<std::string, std::string>, int64_t> stored;
  for (const auto& r : result) {
    std::string kind = r[0].as<std::string>();
    if (kind == "skipped") {
      conflicts.push_back(r[1].as<std::string>());
    } else if (kind == "stored") {
      stored[{r[1].as<std::string>(), r[2].as<std::string>()}] = r[3].as<int64_t>();
    }
  }
  stored_provider_events_.assign(provider_events_.size(), std::nullopt);
  for (size_t i = 0; i < provider_events_.size(); ++i) {
    auto it = stored.find({provider_events_[i].connector_id, provider_events_[i].provider_event_id});
    if (it == stored.end()) continue;
    stored_provider_events_[i] = it->second;
    stored.erase(it);  // a later copy in the same set is a duplicate
  }
  if (!conflicts.empty()) {
    std::set<std::string> gone(conflicts.begin(), conflicts.end());
    dropSkipped(events_, gone, [](const NewEvent& e) { return e.transaction_id; });
  }
  return conflicts;
}

}  // namespace paymux::store
