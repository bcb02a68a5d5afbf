#include "services/api/route_helpers.h"

#include <algorithm>

#include "services/common/api_error.h"

namespace paymux::api {

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

ApiReply jsonReply(int status, std::string body) { return ApiReply{status, std::move(body)}; }

ApiReply fromEngine(const engine::Reply& r) {
  ApiReply reply{r.status, r.body};
  if (r.replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

ApiReply methodNotAllowed(const std::string& allowed) {
  ApiReply r = jsonReply(405, errorBody(ApiError(405, "invalid_request_error", "method_not_allowed",
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


bool validId(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '_';
         });
}

}  // namespace paymux::api
