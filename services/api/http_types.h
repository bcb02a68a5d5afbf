#pragma once
#include <map>
#include <string>

#include "services/common/http_client.h"

namespace paymux::api {

/// A request copied off the reactor thread, so handlers can run anywhere.
struct ApiRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> query;
  http::Headers headers;  // lower-case names
  std::string body;
  std::string request_id;
  std::string header(std::string_view name) const;
};

struct ApiReply {
  ApiReply(int status_ = 200, std::string body_ = "") : status(status_), body(std::move(body_)) {}
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  http::Headers headers;
  std::string route = "unmatched";  // route template for metrics, never an id
};

}  // namespace paymux::api
