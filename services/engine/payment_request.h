#pragma once
#include <rapidjson/document.h>

#include <string>

#include "connectors/api/connector.h"
#include "services/store/transactions_repo.h"

namespace paymux::engine {

/// A create request as the engine needs it: the connector's view, and what routing reads.
struct ParsedRequest {
  connectors::PaymentRequest payment;
  std::string party_json;  // {"payment_method":..,"customer":..} or {"beneficiary":..}
  std::string metadata_json = "{}";
  std::string forced_connector;
  std::string method;
  std::string country;
};

/// `doc` has passed the request's JSON Schema. Throws ApiError for what a schema cannot check
/// (a currency paymux knows, metadata key lengths).
ParsedRequest parseRequest(Kind kind, const rapidjson::Value& doc);

/// The request a stored transaction was created from, rebuilt from its row, to finish it
/// after the process that stored it died (PaymentService::complete).
ParsedRequest requestOf(const store::TransactionRecord& tx);

}  // namespace paymux::engine
