#include "services/common/api_error.h"

#include "services/common/json.h"

namespace paymux {

std::string errorBody(const ApiError& e) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "error");
  w.StartObject();
  json::kv(w, "type", e.type);
  json::kv(w, "code", e.code);
  json::kv(w, "message", e.what());
  if (!e.param.empty()) json::kv(w, "param", e.param);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace paymux
