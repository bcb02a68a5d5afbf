#pragma once
#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <map>
#include <memory>
#include <string>

namespace paymux::api {

/// The request JSON Schemas in schemas/*.json, checked at start and compiled once per thread.
// why: RapidJSON's schema regex keeps its matching state inside the compiled schema, so one
// compiled schema shared by concurrent validations corrupts itself (seen as a crash under load).
class SchemaSet {
 public:
  /// Loads every *.json in dir; throws std::runtime_error naming a file that does not load.
  explicit SchemaSet(const std::string& dir);

  /// Parses `body` (strict: valid UTF-8, no trailing garbage, iterative so deep nesting cannot
  /// exhaust the stack) and validates it against schema `name` (file name without .json).
  /// Throws ApiError 400 (json_invalid, parameter_missing, parameter_unknown, parameter_invalid)
  /// naming the first failing field as a dotted path.
  void parseAndValidate(const std::string& name, const std::string& body,
                        rapidjson::Document& out) const;

 private:
  struct Entry {
    rapidjson::Document source;
    std::unique_ptr<rapidjson::SchemaDocument> schema;
  };
  static std::unique_ptr<Entry> compile(const std::string& text);
  /// This thread's compiled copy of schema `name`.
  const Entry& compiled(const std::string& name) const;

  uint64_t id_;                                 // distinguishes instances in per-thread caches
  std::map<std::string, std::string> sources_;  // name -> schema JSON text
};

}  // namespace paymux::api
