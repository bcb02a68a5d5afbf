#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paymux::standard_webhooks {

/// Every paymux subscription secret starts with this (Standard Webhooks convention).
inline constexpr std::string_view kSecretPrefix = "whsec_";

/// A new secret: "whsec_" + base64 of 32 random bytes (OpenSSL RAND).
std::string generateSecret();

/// The HMAC key of a secret: the base64-decoded part after "whsec_" (the prefix is optional, as
/// in the official libraries). nullopt when it is not base64 or decodes to nothing.
std::optional<std::string> secretKey(std::string_view secret);

/// One signature, "v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>"; `key` is raw bytes.
std::string sign(std::string_view key, std::string_view id, int64_t timestamp,
                 std::string_view body);

/// The webhook-signature header: one v1 signature per key, space-separated, in the given order.
std::string signatureHeader(const std::vector<std::string>& keys, std::string_view id,
                            int64_t timestamp, std::string_view body);

/// Verifies a delivery as a subscriber holding `secret` would: the timestamp is within
/// `tolerance_s` of `now` and some v1 signature of the header matches (constant-time compare).
bool verify(std::string_view secret, std::string_view id, std::string_view timestamp,
            std::string_view signature_header, std::string_view body, int64_t now,
            int tolerance_s = 300);

}  // namespace paymux::standard_webhooks
