#include "services/engine/transitions.h"

#include <chrono>

#include "services/common/crypto.h"
#include "services/common/rfc3339.h"
#include "services/engine/serialize.h"

namespace paymux::engine {

Verdict applyStatus(store::WriteSet& writes, store::TransactionRecord& tx,
                    const StatusReport& report) {
  Verdict verdict = judge(tx.kind, tx.status, report.status);
  // why: a chargeback or return the provider documents turns a final success into a failure;
  // it is money moving back, so it is applied (and emits its event), not parked as a conflict.
  if (verdict == Verdict::kConflict && report.documented_reversal &&
      report.status == TxStatus::kFailed &&
      (tx.status == TxStatus::kSucceeded || tx.status == TxStatus::kPaid)) {
    verdict = Verdict::kApply;
  }
  bool refs_changed = (!report.connector_id.empty() && report.connector_id != tx.connector_id) ||
                      (!report.provider_ref.empty() && report.provider_ref != tx.provider_ref);
  if (!report.connector_id.empty()) tx.connector_id = report.connector_id;
  if (!report.provider_ref.empty()) tx.provider_ref = report.provider_ref;
  auto now = std::chrono::system_clock::now();
  if (verdict != Verdict::kApply) {
    if (refs_changed) {
      tx.updated_at = formatRfc3339(now);
      writes.changeTransaction(tx, tx.version, now);
    }
    return verdict;
  }
  TxStatus previous = tx.status;
  tx.status = report.status;
  if (report.status == TxStatus::kFailed || report.status == TxStatus::kReturned) {
    tx.failure_code = report.failure ? report.failure->code : "provider_failed";
    tx.failure_message = report.failure ? report.failure->message : "";
  }
  tx.next_action_url = report.status == TxStatus::kRequiresAction ? report.redirect_url : "";
  tx.updated_at = formatRfc3339(now);
  writes.changeTransaction(tx, tx.version, now);
  std::string type = eventType(tx.kind, tx.status);
  if (!type.empty()) {
    store::NewEvent event;
    event.id = crypto::randomId("evt", 20);
    event.tenant_id = tx.tenant_id;
    event.type = type;
    event.transaction_id = tx.id;
    event.body = eventJson(event.id, type, tx.updated_at, transactionJson(tx),
                           std::string(toString(previous)));
    writes.addEvent(std::move(event));
  }
  return verdict;
}

}  // namespace paymux::engine
