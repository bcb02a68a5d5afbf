#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/api/connector.h"

struct x509_st;  // OpenSSL's X509, kept out of this header

namespace paymux::connectors::paypal {

// PayPal's webhook signature, verified offline: RSA-SHA256 ("SHA256withRSA") by the key of the
// X.509 certificate at PAYPAL-CERT-URL over
//   "<PAYPAL-TRANSMISSION-ID>|<PAYPAL-TRANSMISSION-TIME>|<webhook id>|<CRC32 of the raw body>".

/// A parsed X.509 certificate.
class Certificate {
 public:
  /// nullptr when `pem` holds no certificate.
  static std::shared_ptr<const Certificate> fromPem(std::string_view pem);
  ~Certificate();
  Certificate(const Certificate&) = delete;
  Certificate& operator=(const Certificate&) = delete;

  /// The current time lies within notBefore..notAfter.
  bool currentlyValid() const;
  /// RSA PKCS#1 v1.5 SHA-256 signature by the certificate's (RSA) public key.
  bool verifySha256WithRsa(std::string_view data, std::string_view signature) const;

 private:
  explicit Certificate(x509_st* cert) : cert_(cert) {}
  x509_st* cert_;
};

/// The X.509 variant of crypto::verifySha256Signature: `signature` over `data` by the key of a
/// PEM certificate that is currently valid.
bool verifySha256WithCertificate(std::string_view pem_certificate, std::string_view data,
                                 std::string_view signature);

/// Where PAYPAL-CERT-URL may point.
struct CertUrlPolicy {
  std::vector<std::string> hosts;  // lower case, exact match, no port
  bool allow_http = false;         // local simulators only
};

/// "" when `url` is https (or allowed http) on an allowed host, else the reason it is not.
std::string checkCertUrl(std::string_view url, const CertUrlPolicy& policy);

/// Certificates fetched by URL, kept for reuse (PayPal gives each certificate its own URL).
class CertificateCache {
 public:
  CertificateCache(std::unique_ptr<http::HttpExecutor> executor, std::chrono::milliseconds timeout);

  /// The currently valid certificate at `url`, fetched on first use; nullptr with `reason` set
  /// when it cannot be fetched, parsed, or is outside its validity dates.
  std::shared_ptr<const Certificate> get(const std::string& url, std::string& reason);
  /// Certificate downloads so far.
  long fetches() const;

 private:
  static constexpr size_t kMaxEntries = 32;

  std::unique_ptr<http::HttpExecutor> executor_;
  const std::chrono::milliseconds timeout_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Certificate>> certs_;
  long fetches_ = 0;
};

/// "<transmission_id>|<transmission_time>|<webhook_id>|<crc32(body) as unsigned decimal>".
std::string signedMessage(std::string_view transmission_id, std::string_view transmission_time,
                          std::string_view webhook_id, std::string_view body);

struct WebhookCheck {
  std::string webhook_id;  // settings.webhook_id; verification fails without it
  CertUrlPolicy cert_policy;
  int tolerance_s = 300;
};

/// Checks the headers, the transmission time, the certificate URL (before any fetch), then
/// the signature.
WebhookVerdict verifyWebhookSignature(const WebhookRequest& request, const WebhookCheck& check,
                                      CertificateCache& certs);

}  // namespace paymux::connectors::paypal
