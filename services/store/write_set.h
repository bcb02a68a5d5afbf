#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/store/transactions_repo.h"

namespace paymux::store {

/// A tenant-facing event to insert: write() numbers it in its tenant's sequence and fans it out
/// to the tenant's subscriptions, in the same statement.
struct NewEvent {
  std::string id;
  std::string tenant_id;
  std::string type;
  std::string transaction_id;
  std::string body;  // carries "sequence":null, which write() replaces with the number
};

/// A verified provider event to store with the set, with the outcome reconciliation gives it.
struct NewProviderEvent {
  std::string connector_id;
  std::string provider_event_id;
  std::string event_type;
  std::string provider_ref;
  std::string status;                      // "" when the event carries none
  const std::string* raw_body = nullptr;   // outlives the write
  const std::string* headers_json = nullptr;
  std::string outcome = "received";
  std::string transaction_id;              // "" when none matched
};

struct NewDiscrepancy {
  std::string transaction_id;              // "" when none matched
  std::optional<int64_t> provider_event;   // provider_events.id, or a placeholder (see below)
  std::string kind;
  std::string detail;
};

/// Every row a unit of work writes, collected in memory and written set-wise: a whole batch of
/// requests costs two statements, however many rows it holds.
// why: per-row statements cost a round trip and a parse each; a batch of webhooks or payments
// written row by row spent most of its time in PostgreSQL's per-statement overhead.
class WriteSet {
 public:
  /// Writes tx's mutable fields (status, connector, references, failure, next action) with
  /// `updated_at`, provided the row still has `expected_version`. Called again for the same
  /// transaction, the later fields win and the first expected version is kept.
  void changeTransaction(const TransactionRecord& tx, int expected_version,
                         std::chrono::system_clock::time_point updated_at);
  void addAttempts(const std::string& transaction_id, const std::vector<AttemptRecord>& attempts);
  void addEvent(NewEvent event);
  /// Inserts a provider event unless (connector, provider event id) is already stored. Returns
  /// a placeholder row id (negative) that setProviderEventOutcome() and discrepancies take
  /// until the row exists; storedProviderEvent() tells after write() whether it was inserted.
  // why: stored with its final outcome in the same statement as the change it causes, instead
  // of inserted as 'received' and updated: one row version and four index entries fewer.
  int64_t addProviderEvent(NewProviderEvent event);
  /// provider_events row `row_id` gets `outcome` ("unmatched" parks it for a retry in 1 s).
  void setProviderEventOutcome(int64_t row_id, std::string_view outcome,
                               const std::string& transaction_id);
  /// After write(): the row id a placeholder's event was stored under, or nullopt when it was
  /// already stored (by a concurrent writer: ON CONFLICT DO NOTHING).
  std::optional<int64_t> storedProviderEvent(int64_t placeholder) const;
  void addDiscrepancy(NewDiscrepancy discrepancy);
  /// The idempotency key's stored response, tied to `transaction_id`'s change.
  void completeIdempotencyKey(const std::string& transaction_id, const std::string& tenant_id,
                              const std::string& key, int status, const std::string& body);

  bool empty() const;
  size_t eventCount() const { return events_.size(); }
  /// Appends another set's rows (each batch item builds its own, the batch writes them together).
  void append(WriteSet&& other);

  /// Writes everything in `txn`, in one statement (so a nontransaction commits it atomically).
  /// A transaction whose row no longer has the expected version (someone changed it since it
  /// was read) is skipped with every row tied to it; the ids of those transactions are
  /// returned, so their callers can redo their work on a fresh read. eventCount() then counts
  /// only the events written.
  std::vector<std::string> write(pqxx::transaction_base& txn);

 private:
  struct Change {
    TransactionRecord tx;
    int expected_version = 0;
    std::chrono::system_clock::time_point updated_at;
  };
  struct Attempt {
    std::string transaction_id;
    AttemptRecord attempt;
  };
  NewProviderEvent& pendingProviderEvent(int64_t placeholder) {
    return provider_events_.at(static_cast<size_t>(-placeholder - 1));
  }
  std::vector<NewProviderEvent> provider_events_;
  std::vector<std::optional<int64_t>> stored_provider_events_;  // per provider_events_, by write()
  struct ProviderEventOutcome {
    int64_t row_id = 0;
    std::string outcome;
    std::string transaction_id;
  };
  struct Completion {
    std::string transaction_id, tenant_id, key, body;
    int status = 0;
  };
  std::map<std::string, Change> changes_;  // by transaction id, written in id order
  std::vector<Attempt> attempts_;
  std::vector<NewEvent> events_;
  std::vector<ProviderEventOutcome> outcomes_;
  std::vector<NewDiscrepancy> discrepancies_;
  std::vector<Completion> completions_;
};

}  // namespace paymux::store
