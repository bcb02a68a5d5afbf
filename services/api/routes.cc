#include "services/api/routes.h"

#include "services/common/api_error.h"
#include "services/common/crypto.h"
#include "services/common/log.h"
#include "services/common/metrics.h"
#include "services/store/tenants_repo.h"

namespace paymux::api {
namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string part = path.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return parts;
}

ApiReply json(int status, std::string body) { return ApiReply{status, std::move(body)}; }

ApiReply fromEngine(const engine::Reply& r) {
  ApiReply reply{r.status, r.body};
  if (r.replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

ApiReply methodNotAllowed(const std::string& allowed) {
  ApiReply r = json(405, errorBody(ApiError(405, "invalid_request_error", "method_not_allowed",
                                            "method not allowed; use " + allowed)));
  r.headers.emplace_back("Allow", allowed);
  return r;
}

int parseLimit(const ApiRequest& req) {
  auto it = req.query.find("limit");
  if (it == req.query.end()) return 10;
  const std::string& v = it->second;
  bool digits = !v.empty() && v.size() <= 3 &&
                std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); });
  int limit = digits ? std::stoi(v) : 0;
  if (limit < 1 || limit > 100) {
    throw ApiError::invalid("parameter_invalid", "limit must be an integer from 1 to 100", "limit");
  }
  return limit;
}

std::string queryParam(const ApiRequest& req, const char* name) {
  auto it = req.query.find(name);
  return it == req.query.end() ? "" : it->second;
}

void requireJson(const ApiRequest& req) {
  std::string type = req.header("content-type");
  auto semi = type.find(';');
  std::string base = type.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.pop_back();
  std::transform(base.begin(), base.end(), base.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (base != "application/json") {
    throw ApiError(415, "invalid_request_error", "content_type_unsupported",
                   "Content-Type must be application/json");
  }
}

std::string idempotencyKey(const ApiRequest& req) {
  std::string key = req.header("idempotency-key");
  if (key.empty()) return key;
  bool printable = key.size() <= 255 && std::all_of(key.begin(), key.end(), [](unsigned char c) {
                     return c >= 0x20 && c <= 0x7e;
                   });
  if (!printable) {
    throw ApiError::invalid("parameter_invalid",
                            "Idempotency-Key must be 1-255 printable ASCII characters",
                            "Idempotency-Key");
  }
  return key;
}

}  // namespace

ApiReply ApiRouter::handle(const ApiRequest& request) {
  std::string route = "unmatched";
  ApiReply reply;
  try {
    reply = dispatch(request, route);
  } catch (const ApiError& e) {
    reply = json(e.status, errorBody(e));
    if (e.status == 503) reply.headers.emplace_back("Retry-After", "1");
  } catch (const store::PoolTimeout&) {
    reply = json(503, errorBody(ApiError::unavailable("database busy; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  } catch (const store::DatabaseUnavailable&) {
    reply = json(503, errorBody(ApiError::unavailable("database unavailable; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  } catch (const pqxx::broken_connection&) {
    reply = json(503, errorBody(ApiError::unavailable("database unavailable; retry")));
    reply.headers.emplace_back("Retry-After", "1");
  }
  reply.route = route;
  return reply;
}

ApiReply ApiRouter::readyz() {
  if (ctx_.draining()) return json(503, R"({"status":"unavailable","reason":"shutting down"})");
  try {
    bool current = ctx_.pool->run(
        [&](pqxx::connection& conn) { return store::migrationsCurrent(conn, ctx_.migrations); });
    if (!current) return json(503, R"({"status":"unavailable","reason":"migrations pending"})");
    return json(200, R"({"status":"ok"})");
  } catch (const std::exception&) {
    return json(503, R"({"status":"unavailable","reason":"database unreachable"})");
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
  auto tenant = ctx_.pool->run([&](pqxx::connection& conn) {
    pqxx::read_transaction txn(conn);
    return store::authenticate(txn, key);
  });
  if (!tenant) throw ApiError(401, "authentication_error", "api_key_invalid", "invalid API key");
  return *tenant;
}

ApiReply ApiRouter::dispatch(const ApiRequest& req, std::string& route) {
  auto parts = splitPath(req.path);
  if (parts.size() == 1 && req.method == "GET") {
    if (parts[0] == "healthz") {
      route = "/healthz";
      return json(200, R"({"status":"ok"})");
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
  }
  throw ApiError(404, "invalid_request_error", "resource_missing",
                 "unrecognised request URL (" + req.method + " " + req.path.substr(0, 200) + ")");
}

ApiReply ApiRouter::payments(const ApiRequest& req, Kind kind,
                             const std::vector<std::string>& parts, std::string& route) {
  std::string base = "/v1/" + parts[1];
  if (parts.size() == 2) {
    route = base;
    if (req.method != "POST" && req.method != "GET") return methodNotAllowed("GET, POST");
    std::string tenant = authenticate(req);
    if (req.method == "GET") {
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
    return fromEngine(ctx_.events->list(tenant, parseLimit(req), queryParam(req, "starting_after"),
                                        queryParam(req, "type"), after));
  }
  if (parts.size() == 3) {
    route = "/v1/events/{id}";
    if (req.method != "GET") return methodNotAllowed("GET");
    std::string tenant = authenticate(req);
    return fromEngine(ctx_.events->get(tenant, parts[2]));
  }
  throw ApiError(404, "invalid_request_error", "resource_missing", "unrecognised request URL");
}

}  // namespace paymux::api
