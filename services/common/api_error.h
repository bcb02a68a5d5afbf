#pragma once
#include <stdexcept>
#include <string>

namespace paymux {

/// A client-facing error (API.md "Errors"); thrown anywhere below the HTTP layer, rendered once.
struct ApiError : std::runtime_error {
  int status;
  std::string type;
  std::string code;
  std::string param;  // dotted path, "" when not about one field
  ApiError(int status_, std::string type_, std::string code_, const std::string& message,
           std::string param_ = "")
      : std::runtime_error(message),
        status(status_),
        type(std::move(type_)),
        code(std::move(code_)),
        param(std::move(param_)) {}

  static ApiError invalid(const std::string& code, const std::string& message,
                          const std::string& param = "") {
    return ApiError(400, "invalid_request_error", code, message, param);
  }
  static ApiError notFound(const std::string& what) {
    return ApiError(404, "invalid_request_error", "resource_missing", "No such " + what, "id");
  }
  static ApiError unavailable(const std::string& message) {
    return ApiError(503, "api_error", "service_unavailable", message);
  }
};

/// {"error":{"type","code","message","param"?}}
std::string errorBody(const ApiError& error);

}  // namespace paymux
