#pragma once
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paymux::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

inline void key(Writer& w, std::string_view k) { w.Key(k.data(), static_cast<rapidjson::SizeType>(k.size())); }
inline void str(Writer& w, std::string_view v) { w.String(v.data(), static_cast<rapidjson::SizeType>(v.size())); }
inline void kv(Writer& w, std::string_view k, std::string_view v) { key(w, k); str(w, v); }
inline void kvInt(Writer& w, std::string_view k, int64_t v) { key(w, k); w.Int64(v); }
inline void kvNullable(Writer& w, std::string_view k, std::string_view v) {
  key(w, k);
  if (v.empty()) w.Null(); else str(w, v);
}
/// Writes already-serialised JSON as a value.
inline void raw(Writer& w, std::string_view json) {
  w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

/// Member string or nullopt when absent / not a string.
inline std::optional<std::string> getString(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}
inline std::optional<int64_t> getInt(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return std::nullopt;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
  return it->value.GetInt64();
}
inline const rapidjson::Value* getObject(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsObject()) return nullptr;
  return &it->value;
}
/// Whether `text` nests arrays and objects deeper than `limit` (string contents skipped).
// why: RapidJSON's reader, Accept() and serialisers recurse per level; untrusted input that nests
// deeply would exhaust a thread's stack, so it is refused before any of them sees it.
inline bool nestingExceeds(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

/// Nesting accepted from outside (request bodies, provider webhooks).
constexpr int kMaxUntrustedDepth = 32;

inline std::string serialize(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace paymux::json
