#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace paymux::connectors::adyen {

/// A request schema extracted from Adyen's OpenAPI files (schemas/*.schema.json, draft-04 with
/// local "#/definitions/..." refs), checked with RapidJSON's validator. Immutable after loading,
/// so one instance serves every simulator thread.
class RequestSchema {
 public:
  /// Loads `dir`/`file`; throws std::runtime_error when it is missing or not JSON.
  RequestSchema(const std::string& dir, const std::string& file);
  ~RequestSchema();
  RequestSchema(const RequestSchema&) = delete;
  RequestSchema& operator=(const RequestSchema&) = delete;

  /// nullopt when `body` is JSON that validates; else what failed, e.g.
  /// "#/paymentMethod: oneOf (schema #/properties/paymentMethod)".
  std::optional<std::string> check(std::string_view body) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The schema folder compiled into the build (PAYMUX_ADYEN_SCHEMA_DIR).
std::string defaultSchemaDir();

}  // namespace paymux::connectors::adyen
