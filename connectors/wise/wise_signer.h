#pragma once
#include <memory>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace paymux::connectors::wise {

/// An RSA key pair that signs as Wise signs webhooks (PKCS#1 v1.5 over SHA-256, base64): the
/// simulator's own key, and a stranger's key for tests. Copies share the key.
class RsaSigner {
 public:
  /// A fresh key pair (OpenSSL EVP_RSA_gen). Throws std::runtime_error if OpenSSL fails.
  static RsaSigner generate(unsigned bits = 2048);

  /// SubjectPublicKeyInfo PEM, as Wise publishes its keys.
  std::string publicKeyPem() const;
  /// The X-Signature-SHA256 value for `data`.
  std::string signBase64(std::string_view data) const;

 private:
  explicit RsaSigner(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace paymux::connectors::wise
