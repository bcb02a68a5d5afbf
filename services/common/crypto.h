#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace paymux::crypto {

/// Raw HMAC-SHA256 bytes.
std::string hmacSha256(std::string_view key, std::string_view data);
/// Raw SHA-256 bytes.
std::string sha256(std::string_view data);
std::string sha256Hex(std::string_view data);

std::string hexEncode(std::string_view bytes);
std::optional<std::string> hexDecode(std::string_view hex);
std::string base64Encode(std::string_view bytes);
/// Standard alphabet, padding optional; nullopt on bad input.
std::optional<std::string> base64Decode(std::string_view text);

/// Constant-time comparison (CRYPTO_memcmp); different lengths compare unequal.
bool constantTimeEquals(std::string_view a, std::string_view b);

/// Cryptographically random bytes (OpenSSL RAND).
std::string randomBytes(size_t n);
/// Random base62 string of `length` characters (for ids and keys).
std::string randomToken(size_t length);
/// "<prefix>_<random base62>", e.g. col_2ZK8f4Qv9mT1xYz.
std::string randomId(std::string_view prefix, size_t length = 20);

/// RSA/ECDSA signature check with a PEM public key (SHA-256 digest).
bool verifySha256Signature(std::string_view pem_public_key, std::string_view data,
                           std::string_view signature);

}  // namespace paymux::crypto
