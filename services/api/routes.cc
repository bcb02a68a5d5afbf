#include "services/api/routes.h"

#include "services/api/route_helpers.h"
#include "services/engine/state_machine.h"

#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/store/tenants_repo.h"

namespace paymux::api {

ApiReply ApiRouter::handle(const ApiRequest& request) {
  std::string route = "unmatched";
  ApiReply reply;
  try {
    reply = dispatch(request, route);
  } catch (const ApiError& e) {
    reply = jsonReply(e.status, errorBody(e));
    if (e.status == 503) reply.headers.emplace_back("Retry-After", "1");
  } catch (const store::PoolTimeout&) {
    reply = jsonReply(503, errorBody(ApiError::unavailable("database busy; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  } catch (const store::DatabaseUnavailable&) {
    reply = jsonReply(503, errorBody(ApiError::unavailable("database unavailable; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  } catch (const pqxx::broken_connection&) {
    reply = jsonReply(503, errorBody(ApiError::unavailable("database unavailable; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  } catch (const pqxx::in_doubt_error&) {
    // why: the connection died during COMMIT (e.g. PostgreSQL restarting), so whether the change
    // was stored is unknown here; a retry with the same Idempotency-Key finds out. The database
    // was unavailable: 503, not a 500 of ours.
    log::warn("database connection lost during commit; outcome unknown",
              {{"request_id", request.request_id}, {"route", route}});
    reply = jsonReply(503, errorBody(ApiError::unavailable("database connection lost; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  }
  reply.route = route;
  return reply;
}

ApiReply ApiRouter::readyz() {
  if (ctx_.draining()) return jsonReply(503, R"({"status":"unavailable","reason":"shutting down"})");
  try {
    bool current = ctx_.pool->run(
        [&](pqxx::connection& conn) { return store::migrationsCurrent(conn, ctx_.migrations); });
    if (!current) return jsonReply(503, R"({"status":"unavailable","reason":"migrations pending"})");
    return jsonReply(200, R"({"status":"ok"})");
  } catch (const std::exception&) {
    return jsonReply(503, R"({"status":"unavailable","reason":"database unreachable"})");
  }
}

std::string ApiRouter::authenticate(const ApiRequest& req) {
  std::string header = req.header("authorization");
  if (header.empty()) {
    throw ApiError(401, "authentication_error", "authentication_required",
                   "send your API key as Authorization: Bearer <key>");
  }
  const std::string prefix = "Bearer ";
  if (header.size() <= prefix.size() || header.compare(0, prefix.size(), prefix) != 0) {
    throw ApiError(401, "authentication_error", "api_key_invalid", "invalid API key");
  }
  std::string key = header.substr(prefix.size());
  bool printable = std::all_of(key.begin(), key.end(),
                               [](unsigned char c) { return c > 0x20 && c < 0x7f; });
  if (!printable || key.size() > 128) {
    throw ApiError(401, "authentication_error", "api_key_invalid", "invalid API key");
  }
  auto lookup = [this](const std::string& candidate) {
    return ctx_.pool->run([&](pqxx::connection& conn) {
      pqxx::nontransaction txn(conn);  // one statement: no BEGIN/COMMIT round trips
      return store::authenticate(txn, candidate);
    });
  };
  auto tenant = ctx_.api_keys ? ctx_.api_keys->authenticate(key, lookup) : lookup(key);
  if (!tenant) throw ApiError(401, "authentication_error", "api_key_invalid", "invalid API key");
  return *tenant;
}

ApiReply ApiRouter::dispatch(const ApiRequest& req, std::string& route) {
  auto parts = splitPath(req.path);
  for (const auto& [name, value] : req.query) {
    if (!http::isCleanUtf8(name) || !http::isCleanUtf8(value)) {
      throw ApiError::invalid("parameter_invalid",
                              "query parameters must be valid UTF-8 without NUL characters",
                              http::isCleanUtf8(name) ? name : "");
    }
  }
  bool ops = parts.size() == 1 &&
             (parts[0] == "healthz" || parts[0] == "readyz" || parts[0] == "metrics");
  if (ops && req.method != "GET" && req.method != "HEAD") {
    route = "/" + parts[0];
    return methodNotAllowed("GET, HEAD");
  }
  if (parts.size() == 1 && (req.method == "GET" || req.method == "HEAD")) {
    if (parts[0] == "healthz") {
      route = "/healthz";
      return jsonReply(200, R"({"status":"ok"})");
    }
    if (parts[0] == "readyz") {
      route = "/readyz";
      return readyz();
    }
    if (parts[0] == "metrics") {
      route = "/metrics";
      ApiReply r{200, metrics::Registry::global().render()};
      r.content_type = "text/plain; version=0.0.4";
      return r;
    }
  }
  if (ctx_.ops_only) {
    throw ApiError(404, "invalid_request_error", "resource_missing",
                   "this is a paymux worker: only /healthz, /readyz and /metrics");
  }
  if (parts.size() == 2 && parts[0] == "webhooks") {
    route = "/webhooks/{connector_id}";
    if (req.method != "POST") return methodNotAllowed("POST");
    auto r = ctx_.webhooks->receive(parts[1], req.headers, req.body);
    ApiReply reply{r.status, r.body};
    if (r.body.empty() || r.body.front() != '{') reply.content_type = "text/plain";
    return reply;
  }
  if (parts.size() >= 2 && parts[0] == "v1") {
    if (parts[1] == "collections") return payments(req, Kind::kCollect, parts, route);
    if (parts[1] == "payouts") return payments(req, Kind::kPayout, parts, route);
    if (parts[1] == "events") return events(req, parts, route);
    if (parts[1] == "subscriptions") return subscriptions(req, parts, route);
  }
  throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
}

ApiReply ApiRouter::payments(const ApiRequest& req, Kind kind,
                             const std::vector<std::string>& parts, std::string& route) {
  std::string base = "/v1/" + parts[1];
  if (parts.size() == 2) {
    route = base;
    if (req.method != "POST" && req.method != "GET") return methodNotAllowed("GET, POST");
    std::string tenant = authenticate(req);
    if (req.method == "GET") {
      std::string status = queryParam(req, "status");
      if (!status.empty() && !(statusFromString(status) &&
                               engine::isValidStatus(kind, *statusFromString(status)))) {
        throw ApiError::invalid("parameter_invalid", "status is not a " +
                                                         std::string(objectName(kind)) + " status",
                                "status");
      }
      return fromEngine(ctx_.payments->list(tenant, kind, parseLimit(req),
                                            queryParam(req, "starting_after"),
                                            queryParam(req, "status"),
                                            queryParam(req, "reference")));
    }
    requireJson(req);
    std::string key = idempotencyKey(req);
    rapidjson::Document body;
    ctx_.schemas->parseAndValidate(kind == Kind::kCollect ? "collection_create" : "payout_create",
                                   req.body, body);
    std::string request_hash = crypto::sha256Hex(req.method + " " + req.path + "\n" + req.body);
    return fromEngine(ctx_.payments->create(tenant, kind, body, request_hash, key));
  }
  if (parts.size() == 3) {
    route = base + "/{id}";
    if (req.method != "GET") return methodNotAllowed("GET");
    std::string tenant = authenticate(req);
    if (!validId(parts[2])) throw ApiError::notFound(std::string(objectName(kind)));
    return fromEngine(ctx_.payments->get(tenant, kind, parts[2]));
  }
  throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
}

ApiReply ApiRouter::events(const ApiRequest& req, const std::vector<std::string>& parts,
                           std::string& route) {
  if (parts.size() == 2) {
    route = "/v1/events";
    if (req.method != "GET") return methodNotAllowed("GET");
    std::string tenant = authenticate(req);
    std::optional<int64_t> after;
    std::string after_text = queryParam(req, "after_sequence");
    if (!after_text.empty()) {
      bool digits = after_text.size() <= 18 &&
                    std::all_of(after_text.begin(), after_text.end(),
                                [](unsigned char c) { return std::isdigit(c); });
      if (!digits) {
        throw ApiError::invalid("parameter_invalid",
                                "after_sequence must be a non-negative integer", "after_sequence");
      }
      after = std::stoll(after_text);
    }
    std::string type = queryParam(req, "type");
    const auto& types = engine::allEventTypes();
    if (!type.empty() && std::find(types.begin(), types.end(), type) == types.end()) {
      throw ApiError::invalid("parameter_invalid", "type is not an event type", "type");
    }
    return fromEngine(ctx_.events->list(tenant, parseLimit(req), queryParam(req, "starting_after"),
                                        queryParam(req, "type"), after));
  }
  if (parts.size() == 3) {
    route = "/v1/events/{id}";
    if (req.method != "GET") return methodNotAllowed("GET");
    std::string tenant = authenticate(req);
    if (!validId(parts[2])) throw ApiError::notFound("event");
    return fromEngine(ctx_.events->get(tenant, parts[2]));
  }
  throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
}

}  // namespace paymux::api
