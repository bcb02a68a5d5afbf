#pragma once
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "connectors/api/connector.h"
#include "services/engine/state_machine.h"
#include "services/store/transactions_repo.h"

namespace paymux::engine {

/// What the provider said alongside a status.
struct StatusReport {
  TxStatus status = TxStatus::kProcessing;
  std::string connector_id;   // "" keeps the current one
  std::string provider_ref;   // "" keeps the current one
  std::optional<connectors::Failure> failure;
  std::string redirect_url;
  bool documented_reversal = false;  // see ProviderEvent::documented_reversal
};

/// Judges `report.status` against the row-locked `tx` (state machine). On kApply, updates the row
/// and appends exactly one event in the same database transaction; otherwise changes nothing.
/// Provider references are recorded even when the status itself is not applied.
Verdict applyStatus(pqxx::work& txn, store::TransactionRecord& tx, const StatusReport& report);

}  // namespace paymux::engine
