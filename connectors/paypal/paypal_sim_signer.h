#pragma once
#include <cstdint>
#include <string>
#include <string_view>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace paymux::connectors::paypal {

/// The PayPal simulator's webhook signing identity: a fresh RSA-2048 key and a self-signed X.509
/// certificate for it, as PayPal serves at PAYPAL-CERT-URL.
class SimSigner {
 public:
  /// The certificate is valid from now + not_before_s to now + not_after_s (seconds; negative
  /// values lie in the past, so tests can make expired certificates).
  explicit SimSigner(int64_t not_before_s = -3600, int64_t not_after_s = int64_t{7} * 86400);
  ~SimSigner();
  SimSigner(const SimSigner&) = delete;
  SimSigner& operator=(const SimSigner&) = delete;

  const std::string& certificatePem() const { return certificate_pem_; }
  /// Base64 RSA PKCS#1 v1.5 SHA-256 signature ("SHA256withRSA") over `message`.
  std::string sign(std::string_view message) const;

 private:
  evp_pkey_st* key_ = nullptr;
  std::string certificate_pem_;
};

}  // namespace paymux::connectors::paypal
