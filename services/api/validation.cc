#include "services/api/validation.h"

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "services/common/api_error.h"

namespace paymux::api {
namespace {

using Pointer = rapidjson::Pointer;

/// "#/payment_method/type" or "/events/0" -> "payment_method.type" / "events[0]".
std::string dotted(const Pointer& pointer) {
  std::string out;
  for (size_t i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    std::string name(token.name, token.length);
    if (token.index != rapidjson::kPointerInvalidIndex) {
      out += "[" + name + "]";
    } else {
      out += (out.empty() ? "" : ".") + name;
    }
  }
  return out;
}

std::string join(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

std::string describe(const std::string& keyword, const rapidjson::Value* schema) {
  auto number = [&](const char* key) -> std::string {
    if (schema == nullptr || !schema->IsObject() || !schema->HasMember(key)) return "?";
    const auto& v = (*schema)[key];
    if (v.IsInt64()) return std::to_string(v.GetInt64());
    if (v.IsUint64()) return std::to_string(v.GetUint64());
    if (v.IsDouble()) return std::to_string(static_cast<long long>(v.GetDouble()));
    return "?";
  };
  if (keyword == "type") {
    std::string t = schema && schema->HasMember("type") && (*schema)["type"].IsString()
                        ? (*schema)["type"].GetString()
                        : "of another type";
    if (t == "integer") return "must be an integer (minor units)";
    return "must be " + std::string(t == "object" || t == "array" || t == "integer" ? "an " : "a ") + t;
  }
  if (keyword == "minimum") return "must be at least " + number("minimum");
  if (keyword == "maximum") return "must be at most " + number("maximum");
  if (keyword == "minLength") return "must be at least " + number("minLength") + " characters";
  if (keyword == "maxLength") return "must be at most " + number("maxLength") + " characters";
  if (keyword == "maxProperties") return "must have at most " + number("maxProperties") + " keys";
  if (keyword == "minProperties") return "must have at least " + number("minProperties") + " keys";
  if (keyword == "maxItems") return "must have at most " + number("maxItems") + " items";
  if (keyword == "pattern") return "has an invalid format";
  if (keyword == "enum") return "is not one of the allowed values";
  if (keyword == "uniqueItems") return "must not contain duplicates";
  if (keyword == "anyOf" || keyword == "oneOf") return "is missing a field its type requires";
  return "is invalid";
}

}  // namespace

std::unique_ptr<SchemaSet::Entry> SchemaSet::compile(const std::string& text) {
  auto entry = std::make_unique<Entry>();
  entry->source.Parse(text.c_str());
  if (entry->source.HasParseError()) return nullptr;
  entry->schema = std::make_unique<rapidjson::SchemaDocument>(entry->source);
  return entry;
}

SchemaSet::SchemaSet(const std::string& dir) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1);
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.path().extension() != ".json") continue;
    std::ifstream in(file.path());
    std::stringstream ss;
    ss << in.rdbuf();
    if (!compile(ss.str())) {
      throw std::runtime_error("schema " + file.path().string() + " is not valid JSON");
    }
    sources_[file.path().stem().string()] = ss.str();
  }
}

const SchemaSet::Entry& SchemaSet::compiled(const std::string& name) const {
  thread_local std::map<std::pair<uint64_t, std::string>, std::unique_ptr<Entry>> cache;
  auto key = std::make_pair(id_, name);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto source = sources_.find(name);
    if (source == sources_.end()) throw std::logic_error("no schema " + name);
    it = cache.emplace(key, compile(source->second)).first;
  }
  return *it->second;
}

void SchemaSet::parseAndValidate(const std::string& name, const std::string& body,
                                 rapidjson::Document& doc) const {
  const Entry& entry = compiled(name);
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(body.c_str(),
                                                                                 body.size());
  if (doc.HasParseError()) {
    throw ApiError::invalid("json_invalid",
                            std::string("request body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) throw ApiError::invalid("json_invalid", "request body must be a JSON object");
  rapidjson::SchemaValidator validator(*entry.schema);
  if (doc.Accept(validator)) return;

  std::string keyword = validator.GetInvalidSchemaKeyword();
  Pointer doc_ptr = validator.GetInvalidDocumentPointer();
  Pointer schema_ptr = validator.GetInvalidSchemaPointer();
  std::string path = dotted(doc_ptr);
  const rapidjson::Value* schema = schema_ptr.Get(entry.source);
  const rapidjson::Value* value = doc_ptr.Get(doc);

  if (keyword == "required" && schema && value && value->IsObject() && schema->HasMember("required")) {
    for (const auto& req : (*schema)["required"].GetArray()) {
      if (!value->HasMember(req.GetString())) {
        std::string field = join(path, req.GetString());
        throw ApiError::invalid("parameter_missing", field + " is required", field);
      }
    }
  }
  if (keyword == "additionalProperties") {
    // RapidJSON's document pointer already names the unknown member.
    throw ApiError::invalid("parameter_unknown", path + " is not a known parameter", path);
  }
  std::string shown = path.empty() ? "request body" : path;
  throw ApiError::invalid("parameter_invalid", shown + " " + describe(keyword, schema), path);
}

}  // namespace paymux::api
