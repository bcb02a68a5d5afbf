#pragma once
#include <chrono>
#include <optional>
#include <utility>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/store/transactions_repo.h"

namespace paymux::store {

enum class IdempotencyState {
  kAcquired,    // this request owns the key and must finish it
  kReplay,      // a completed response exists for the same request
  kMismatch,    // the key was used with a different request
  kInProgress,  // another request with this key is still running
  kAbandoned,   // a request with this key started, then its process died (lease expired)
};

struct IdempotencyClaim {
  IdempotencyState state = IdempotencyState::kAcquired;
  int response_status = 0;
  std::string response_body;
  std::string transaction_id;  // for kAbandoned: the transaction it had created
};

/// Claims (tenant, key) for a request identified by request_hash, leasing it for lease_s.
/// Expired keys (older than 24 h) are reused.
IdempotencyClaim claimIdempotencyKey(pqxx::work& txn, const std::string& tenant_id,
                                     const std::string& key, const std::string& request_hash,
                                     const std::string& transaction_id, int lease_s);
void completeIdempotencyKey(pqxx::work& txn, const std::string& tenant_id, const std::string& key,
                            int status, const std::string& body);
/// A new transaction and the idempotency key it claims (key "" = none).
struct NewClaimedTransaction {
  const TransactionRecord* tx = nullptr;
  std::string key;
  std::string request_hash;
  std::chrono::system_clock::time_point created_at;
};

/// For each entry: claims its key as claimIdempotencyKey would (a fresh or expired key) and, when
/// that succeeds or there is no key, inserts its transaction; one statement for the batch.
/// Returns which entries were stored. An entry whose key is held by another request is not
/// stored: claimIdempotencyKey tells its caller why. Keys must be distinct within a batch.
std::vector<bool> claimAndInsertTransactions(pqxx::transaction_base& txn,
                                             const std::vector<NewClaimedTransaction>& entries,
                                             int lease_s);

/// The completed response (status, body) stored for the key by the request that created
/// `transaction_id`; nullopt while that request is still running.
std::optional<std::pair<int, std::string>> storedResponse(pqxx::transaction_base& txn,
                                                          const std::string& tenant_id,
                                                          const std::string& key,
                                                          const std::string& transaction_id);

/// Extends the key's lease by lease_s from now (a request taking over an abandoned one).
void leaseIdempotencyKey(pqxx::transaction_base& txn, const std::string& tenant_id,
                         const std::string& key, int lease_s);

/// Forgets a claim whose request created nothing (so the client may retry it).
void releaseIdempotencyKey(pqxx::work& txn, const std::string& tenant_id, const std::string& key);

}  // namespace paymux::store
