// /v1/subscriptions... (API.md "Subscriptions (push)").
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "services/api/route_helpers.h"
#include "services/api/routes.h"
#include "services/common/api_error.h"
#include "services/common/json.h"
#include "services/common/crypto.h"
#include "services/engine/subscriptions.h"

namespace paymux::api {
namespace {

std::string requestHash(const ApiRequest& req) {
  return crypto::sha256Hex(req.method + " " + req.path + "\n" + req.body);
}

/// rotate_secret takes no body; an empty one or `{}` is accepted, anything else is named.
void requireNoParameters(const ApiRequest& req) {
  if (req.body.find_first_not_of(" \t\r\n") == std::string::npos) return;
  requireJson(req);
  if (json::nestingExceeds(req.body, json::kMaxUntrustedDepth)) {
    throw ApiError::invalid("json_invalid", "the body must be empty or a JSON object");
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(req.body.c_str(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    throw ApiError::invalid("json_invalid", "the body must be empty or a JSON object");
  }
  if (doc.MemberCount() > 0) {
    std::string name = doc.MemberBegin()->name.GetString();
    // why: cut on a UTF-8 character boundary so the error body stays valid UTF-8.
    size_t cut = std::min<size_t>(name.size(), 64);
    while (cut > 0 && cut < name.size() && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
    name.resize(cut);
    throw ApiError::invalid("parameter_unknown", "unknown parameter " + name, name);
  }
}

}  // namespace

ApiReply ApiRouter::subscriptions(const ApiRequest& req, const std::vector<std::string>& parts,
                                  std::string& route) {
  route = "/v1/subscriptions";
  if (ctx_.subscriptions == nullptr || parts.size() > 4) {
    throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
  }
  engine::SubscriptionService& service = *ctx_.subscriptions;
  if (parts.size() == 2) {
    if (req.method != "POST" && req.method != "GET") return methodNotAllowed("GET, POST");
    std::string tenant = authenticate(req);
    if (req.method == "GET") {
      return fromEngine(service.list(tenant, parseLimit(req), queryParam(req, "starting_after")));
    }
    requireJson(req);
    std::string key = idempotencyKey(req);
    rapidjson::Document body;
    ctx_.schemas->parseAndValidate("subscription_create", req.body, body);
    return fromEngine(service.create(tenant, body, requestHash(req), key));
  }
  const std::string& id = parts[2];
  if (!validId(id)) {
    route = parts.size() == 3 ? "/v1/subscriptions/{id}" : "/v1/subscriptions/{id}/...";
    throw ApiError::notFound("subscription");
  }
  if (parts.size() == 3) {
    route = "/v1/subscriptions/{id}";
    if (req.method != "GET" && req.method != "PATCH" && req.method != "DELETE") {
      return methodNotAllowed("GET, PATCH, DELETE");
    }
    std::string tenant = authenticate(req);
    if (req.method == "GET") return fromEngine(service.get(tenant, id));
    if (req.method == "DELETE") return fromEngine(service.remove(tenant, id));
    requireJson(req);
    rapidjson::Document body;
    ctx_.schemas->parseAndValidate("subscription_update", req.body, body);
    return fromEngine(service.update(tenant, id, body));
  }
  const std::string& action = parts[3];
  if (action == "rotate_secret") {
    route = "/v1/subscriptions/{id}/rotate_secret";
    if (req.method != "POST") return methodNotAllowed("POST");
    std::string tenant = authenticate(req);
    std::string key = idempotencyKey(req);
    requireNoParameters(req);
    return fromEngine(service.rotateSecret(tenant, id, requestHash(req), key));
  }
  if (action == "recover") {
    route = "/v1/subscriptions/{id}/recover";
    if (req.method != "POST") return methodNotAllowed("POST");
    std::string tenant = authenticate(req);
    requireJson(req);
    std::string key = idempotencyKey(req);
    rapidjson::Document body;
    ctx_.schemas->parseAndValidate("subscription_recover", req.body, body);
    return fromEngine(service.recover(tenant, id, body, requestHash(req), key));
  }
  if (action == "deliveries") {
    route = "/v1/subscriptions/{id}/deliveries";
    if (req.method != "GET") return methodNotAllowed("GET");
    std::string tenant = authenticate(req);
    return fromEngine(
        service.attempts(tenant, id, parseLimit(req), queryParam(req, "starting_after")));
  }
  throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
}

}  // namespace paymux::api
