#pragma once
#include <optional>
#include <string>

#include "connectors/api/connector.h"
#include "services/engine/state_machine.h"
#include "services/store/transactions_repo.h"
#include "services/store/write_set.h"

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

/// Judges `report.status` against `tx` (state machine). On kApply, changes `tx` in memory and
/// records the change and exactly one event in `writes`; otherwise records nothing but new
/// provider references, which are kept even when the status itself is not applied. The change
/// is written only if the row still has tx.version (read under the row lock, or checked when
/// written: WriteSet::write).
Verdict applyStatus(store::WriteSet& writes, store::TransactionRecord& tx,
                    const StatusReport& report);

}  // namespace paymux::engine
