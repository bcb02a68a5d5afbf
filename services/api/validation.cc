#include "services/api/validation.h"

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "services/common/api_error.h"
#include "services/common/json.h"

namespace paymux::api {
namespace {

using Pointer = rapidjson::Pointer;

/// "#/payment_method/type" or "/events/0" -> "payment_method.type" / "events[0]".
std::string dotted(const Pointer& pointer, const rapidjson::Value& doc) {
  std::string out;
  const rapidjson::Value* at = &doc;
  for (size_t i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    std::string name(token.name, token.length);
    // why: a numeric token is an index only inside an array; {"5": ...} is a key.
    bool index = token.index != rapidjson::kPointerInvalidIndex && at != nullptr && at->IsArray();
    if (at != nullptr) {
      if (at->IsArray() && token.index < at->Size()) {
        at = &(*at)[static_cast<rapidjson::SizeType>(token.index)];
      } else if (at->IsObject() && at->HasMember(name.c_str())) {
        at = &(*at)[name.c_str()];
      } else {
        at = nullptr;
      }
    }
    if (index) {
      out += "[" + name + "]";
    } else {
      out += (out.empty() ? "" : ".") + name;
    }
  }
  return out;
}

bool hasNul(const char* s, size_t n) { return std::memchr(s, 0, n) != nullptr; }

bool hasLoneSurrogate(const char* s, size_t n) {
  for (size_t i = 0; i + 1 < n; ++i) {
    // why: RapidJSON 1.1 decodes a lone \udcXX escape into bytes that are not UTF-8 (ED A0..BF).
    if (static_cast<unsigned char>(s[i]) == 0xED && static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
      return true;
    }
  }
  return false;
}

/// What RapidJSON lets through but a payments API must refuse: duplicate keys (which value
/// would win?), NUL characters (PostgreSQL text cuts or refuses them) and lone surrogates.
/// Depth is bounded by nestingExceeds() before parsing, so recursion here is safe.
void checkStrings(const rapidjson::Value& v, const std::string& path) {
  if (v.IsString()) {
    if (hasLoneSurrogate(v.GetString(), v.GetStringLength())) {
      throw ApiError::invalid("json_invalid", "a string contains an unpaired surrogate escape");
    }
    if (hasNul(v.GetString(), v.GetStringLength())) {
      throw ApiError::invalid("parameter_invalid",
                              (path.empty() ? std::string("a value") : path) +
                                  " contains a NUL character",
                              path);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      checkStrings(v[i], path + "[" + std::to_string(i) + "]");
    }
  } else if (v.IsObject()) {
    std::set<std::string> seen;
    for (const auto& m : v.GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (hasLoneSurrogate(key.data(), key.size())) {
        throw ApiError::invalid("json_invalid", "a key contains an unpaired surrogate escape");
      }
      if (hasNul(key.data(), key.size())) {
        throw ApiError::invalid("parameter_invalid",
                                (path.empty() ? std::string("a key") : "a key of " + path) +
                                    " contains a NUL character",
                                path);
      }
      std::string field = path.empty() ? key : path + "." + key;
      if (!seen.insert(key).second) {
        throw ApiError::invalid("json_invalid", "duplicate key " + field, field);
      }
      checkStrings(m.value, field);
    }
  }
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
  if (json::nestingExceeds(body, json::kMaxUntrustedDepth)) {
    throw ApiError::invalid("json_invalid", "request body nests deeper than " +
                                                std::to_string(json::kMaxUntrustedDepth) + " levels");
  }
  if (body.find('\0') != std::string::npos) {
    throw ApiError::invalid("json_invalid", "request body contains a NUL byte");
  }
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(body.c_str(),
                                                                                 body.size());
  if (doc.HasParseError()) {
    throw ApiError::invalid("json_invalid",
                            std::string("request body is not valid JSON: ") +
                                rapidjson::GetParseError_En(doc.GetParseError()) + " at offset " +
                                std::to_string(doc.GetErrorOffset()));
  }
  if (!doc.IsObject()) throw ApiError::invalid("json_invalid", "request body must be a JSON object");
  checkStrings(doc, "");
  rapidjson::SchemaValidator validator(*entry.schema);
  if (doc.Accept(validator)) return;

  std::string keyword = validator.GetInvalidSchemaKeyword();
  Pointer doc_ptr = validator.GetInvalidDocumentPointer();
  Pointer schema_ptr = validator.GetInvalidSchemaPointer();
  std::string path = dotted(doc_ptr, doc);
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
  if (keyword == "anyOf" && schema && value && value->IsObject() && schema->HasMember("anyOf") &&
      value->HasMember("type") && (*value)["type"].IsString()) {
    // The branch for this object's "type" names what that type requires (card needs token).
    std::string type = (*value)["type"].GetString();
    for (const auto& branch : (*schema)["anyOf"].GetArray()) {
      const rapidjson::Value* en = nullptr;
      if (branch.HasMember("properties") && branch["properties"].HasMember("type") &&
          branch["properties"]["type"].HasMember("enum")) {
        en = &branch["properties"]["type"]["enum"];
      }
      bool matches = false;
      if (en && en->IsArray()) {
        for (const auto& e : en->GetArray()) matches |= e.IsString() && type == e.GetString();
      }
      if (!matches || !branch.HasMember("required")) continue;
      for (const auto& req : branch["required"].GetArray()) {
        if (!value->HasMember(req.GetString())) {
          std::string field = join(path, req.GetString());
          throw ApiError::invalid("parameter_missing", field + " is required for " + type, field);
        }
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
