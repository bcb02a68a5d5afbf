#include "services/common/standard_webhooks.h"

#include <charconv>

#include "services/common/crypto.h"

namespace paymux::standard_webhooks {

std::string generateSecret() {
  return std::string(kSecretPrefix) + crypto::base64Encode(crypto::randomBytes(32));
}

std::optional<std::string> secretKey(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix) {
    secret.remove_prefix(kSecretPrefix.size());
  }
  auto key = crypto::base64Decode(secret);
  if (!key || key->empty()) return std::nullopt;
  return key;
}

std::string sign(std::string_view key, std::string_view id, int64_t timestamp,
                 std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp)).append(".").append(body);
  return "v1," + crypto::base64Encode(crypto::hmacSha256(key, content));
}

std::string signatureHeader(const std::vector<std::string>& keys, std::string_view id,
                            int64_t timestamp, std::string_view body) {
  std::string header;
  for (const auto& key : keys) {
    if (!header.empty()) header.push_back(' ');
    header += sign(key, id, timestamp, body);
  }
  return header;
}

bool verify(std::string_view secret, std::string_view id, std::string_view timestamp,
            std::string_view signature_header, std::string_view body, int64_t now,
            int tolerance_s) {
  auto key = secretKey(secret);
  if (!key) return false;
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) return false;
  if (ts < now - tolerance_s || ts > now + tolerance_s) return false;
  std::string expected = sign(*key, id, ts, body);
  bool ok = false;
  size_t pos = 0;
  while (pos <= signature_header.size()) {
    size_t space = signature_header.find(' ', pos);
    std::string_view part = signature_header.substr(
        pos, space == std::string_view::npos ? std::string_view::npos : space - pos);
    // why: check every candidate so the time taken does not reveal which one matched.
    if (!part.empty()) ok |= crypto::constantTimeEquals(part, expected);
    if (space == std::string_view::npos) break;
    pos = space + 1;
  }
  return ok;
}

}  // namespace paymux::standard_webhooks
