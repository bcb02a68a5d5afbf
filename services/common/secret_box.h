#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "services/common/secret.h"

namespace paymux::crypto {

/// Authenticated encryption of small secrets at rest: AES-256-GCM with a random 96-bit nonce per
/// message. A sealed message is nonce (12) || ciphertext || tag (16); open() fails on any change
/// to it, to the key, or to the associated data.
class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;

  /// `key` is 32 raw bytes; throws std::invalid_argument otherwise.
  explicit SecretBox(Secret key);
  /// From the configuration's base64 form (delivery.encryption_key); throws std::invalid_argument
  /// (without the value) unless it decodes to 32 bytes.
  static SecretBox fromBase64(const Secret& key_base64);

  /// `aad` is authenticated but not encrypted: bind a ciphertext to its owner (a subscription
  /// id) so it cannot be moved to another row.
  std::string seal(std::string_view plaintext, std::string_view aad = {}) const;
  /// The plaintext, or nullopt when the message is malformed or fails authentication.
  std::optional<std::string> open(std::string_view sealed, std::string_view aad = {}) const;

 private:
  Secret key_;
};

}  // namespace paymux::crypto
