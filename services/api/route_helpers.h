#pragma once
#include <string>
#include <vector>

#include "services/api/http_types.h"
#include "services/engine/payments.h"

namespace paymux::api {

/// "/v1/collections/col_1" -> {"v1", "collections", "col_1"}.
std::vector<std::string> splitPath(const std::string& path);
ApiReply jsonReply(int status, std::string body);
/// An engine reply as an HTTP reply (Idempotent-Replayed when replayed).
ApiReply fromEngine(const engine::Reply& reply);
ApiReply methodNotAllowed(const std::string& allowed);
/// ?limit= (1-100, default 10); throws ApiError 400 naming "limit".
int parseLimit(const ApiRequest& request);
std::string queryParam(const ApiRequest& request, const char* name);
/// Throws ApiError 415 unless Content-Type is application/json.
void requireJson(const ApiRequest& request);
/// Public ids are [A-Za-z0-9_]{1,64}; anything else cannot exist (answer 404 without a query).
bool validId(const std::string& id);
/// The Idempotency-Key header ("" when absent); throws ApiError 400 when malformed.
std::string idempotencyKey(const ApiRequest& request);

}  // namespace paymux::api
