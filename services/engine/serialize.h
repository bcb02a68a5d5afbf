#pragma once
#include <string>

#include "services/store/transactions_repo.h"

namespace paymux::engine {

/// The public JSON of a collection or payout (API.md), as served and as embedded in events.
std::string transactionJson(const store::TransactionRecord& tx);

/// The public JSON of an event; `object_json` is transactionJson() at the time of the change.
/// Its sequence is written as null (`"sequence":null`): store::WriteSet replaces it with the
/// number the event gets in the statement that stores it.
std::string eventJson(const std::string& id, const std::string& type, const std::string& created_at,
                      const std::string& object_json,
                      const std::string& previous_status);

}  // namespace paymux::engine
