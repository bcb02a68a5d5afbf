#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/common/payment_types.h"

namespace paymux::store {

struct AttemptRecord {
  std::string connector_id;
  std::string outcome;     // succeeded | failed | processing | requires_action | error | unknown ...
  std::string error_code;  // "" when none
  int http_status = 0;
  int latency_ms = 0;
};

struct TransactionRecord {
  std::string id;
  std::string tenant_id;
  Kind kind = Kind::kCollect;
  TxStatus status = TxStatus::kPending;
  int64_t amount_minor = 0;
  std::string currency;
  std::string reference;
  std::string description;
  std::string connector_id;
  std::string provider_ref;
  std::string failure_code;
  std::string failure_message;
  std::string next_action_url;
  std::string party_json = "{}";     // payment_method + customer, or beneficiary
  std::string metadata_json = "{}";
  int version = 1;
  std::string created_at;            // RFC 3339 UTC
  std::string updated_at;
  std::vector<AttemptRecord> attempts;
  std::string idempotency_key;       // the Idempotency-Key the transaction was created with, or ""
  int first_check_after_s = 300;     // insert only: when the janitor first re-checks it
  long provider_event_count = 0;
  std::string last_provider_event_at;  // "" when none
};

/// Inserts a new transaction created at `created_at` (also its updated_at).
void insertTransaction(pqxx::work& txn, const TransactionRecord& tx,
                       std::chrono::system_clock::time_point created_at);

/// Loads one transaction with its attempts. An empty tenant_id matches any tenant (provider
/// webhooks); otherwise another tenant's id is not found. for_update takes the row lock.
std::optional<TransactionRecord> findTransaction(pqxx::transaction_base& txn,
                                                 const std::string& tenant_id,
                                                 const std::string& id, bool for_update = false);

/// A transaction as a provider knows it: its reference at a connector.
struct ProviderRef {
  std::string connector_id;
  std::string provider_ref;
};

/// Loads and row-locks, in id order, every transaction matching one of `refs` or `ids`, with
/// their attempts: one statement for a whole batch of provider events.
// why: a fixed lock order is what lets two batches lock overlapping rows without deadlocking.
std::vector<TransactionRecord> lockTransactions(pqxx::work& txn, const std::vector<ProviderRef>& refs,
                                                const std::vector<std::string>& ids);

struct ListFilter {
  Kind kind = Kind::kCollect;
  std::string status;          // "" = any
  std::string reference;       // "" = any
  std::string starting_after;  // an id from a previous page, "" = first page
  int limit = 20;
};

/// Newest first. Sets *has_more. Returns nullopt when starting_after is not the tenant's id.
std::optional<std::vector<TransactionRecord>> listTransactions(pqxx::transaction_base& txn,
                                                               const std::string& tenant_id,
                                                               const ListFilter& filter,
                                                               bool* has_more);

}  // namespace paymux::store
