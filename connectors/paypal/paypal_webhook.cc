#include "connectors/paypal/paypal_webhook.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdlib>

#include "connectors/paypal/paypal_transformers.h"
#include "services/common/crypto.h"

namespace paymux::connectors::paypal {
namespace {

constexpr size_t kMaxCertificateBytes = size_t{64} * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::shared_ptr<const Certificate> Certificate::fromPem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return nullptr;
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return nullptr;
  return std::shared_ptr<const Certificate>(new Certificate(cert));
}

Certificate::~Certificate() { X509_free(cert_); }

bool Certificate::currentlyValid() const {
  // X509_cmp_current_time: -1 when the time is before now, 1 after, 0 on error.
  return X509_cmp_current_time(X509_get0_notBefore(cert_)) < 0 &&
         X509_cmp_current_time(X509_get0_notAfter(cert_)) > 0;
}

bool Certificate::verifySha256WithRsa(std::string_view data, std::string_view signature) const {
  EVP_PKEY* key = X509_get0_pubkey(cert_);  // owned by the certificate
  if (key == nullptr || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

bool verifySha256WithCertificate(std::string_view pem_certificate, std::string_view data,
                                 std::string_view signature) {
  auto cert = Certificate::fromPem(pem_certificate);
  return cert && cert->currentlyValid() && cert->verifySha256WithRsa(data, signature);
}

std::string checkCertUrl(std::string_view url, const CertUrlPolicy& policy) {
  std::string lowered = lower(url);
  size_t start;
  if (lowered.rfind("https://", 0) == 0) {
    start = 8;
  } else if (lowered.rfind("http://", 0) == 0) {
    if (!policy.allow_http) return "certificate URL is not https";
    start = 7;
  } else {
    return "certificate URL is not https";
  }
  size_t end = lowered.find_first_of("/?#\\", start);
  std::string authority = lowered.substr(start, end == std::string::npos ? end : end - start);
  // why: "https://api.paypal.com@evil.example/" names evil.example as the host.
  if (authority.find('@') != std::string::npos) return "certificate URL carries user info";
  std::string host = authority;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos) return "certificate URL has a malformed host";
    std::string rest = host.substr(close + 1);
    host = host.substr(0, close + 1);
    if (!rest.empty() &&
        (rest[0] != ':' || rest.find_first_not_of("0123456789", 1) != std::string::npos)) {
      return "certificate URL has a malformed port";
    }
  } else if (size_t colon = host.find(':'); colon != std::string::npos) {
    if (host.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
      return "certificate URL has a malformed port";
    }
    host = host.substr(0, colon);
  }
  if (host.empty()) return "certificate URL has no host";
  if (std::find(policy.hosts.begin(), policy.hosts.end(), host) == policy.hosts.end()) {
    return "certificate host " + host + " is not in cert_hosts";
  }
  return "";
}

CertificateCache::CertificateCache(std::unique_ptr<http::HttpExecutor> executor,
                                   std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), timeout_(timeout) {}

long CertificateCache::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

std::shared_ptr<const Certificate> CertificateCache::get(const std::string& url,
                                                         std::string& reason) {
  {
    std::lock_guard lock(mutex_);
    auto it = certs_.find(url);
    if (it != certs_.end()) {
      if (it->second->currentlyValid()) return it->second;
      certs_.erase(it);  // expired while cached: look again, the URL may serve a renewal
    }
    ++fetches_;
  }
  // why: fetched without the lock so one slow certificate host cannot stall the verification
  // of webhooks whose certificates are cached; a duplicate fetch on first use is harmless.
  http::HttpResult result = executor_->send({"GET", url, {{"Accept", "*/*"}}, ""}, timeout_);
  if (!result.ok()) {
    reason = "certificate fetch failed: " + result.error_message;
    return nullptr;
  }
  if (result.response.status != 200) {
    reason = "certificate fetch answered " + std::to_string(result.response.status);
    return nullptr;
  }
  if (result.response.body.size() > kMaxCertificateBytes) {
    reason = "certificate is too large";
    return nullptr;
  }
  auto cert = Certificate::fromPem(result.response.body);
  if (!cert) {
    reason = "certificate URL did not serve a PEM certificate";
    return nullptr;
  }
  if (!cert->currentlyValid()) {
    reason = "certificate is expired or not yet valid";
    return nullptr;
  }
  std::lock_guard lock(mutex_);
  if (certs_.size() >= kMaxEntries) certs_.erase(certs_.begin());
  certs_[url] = cert;
  return cert;
}

std::string signedMessage(std::string_view transmission_id, std::string_view transmission_time,
                          std::string_view webhook_id, std::string_view body) {
  std::string message;
  message.reserve(transmission_id.size() + transmission_time.size() + webhook_id.size() + 14);
  message.append(transmission_id).append("|").append(transmission_time).append("|");
  message.append(webhook_id).append("|").append(std::to_string(crc32(body)));
  return message;
}

WebhookVerdict verifyWebhookSignature(const WebhookRequest& request, const WebhookCheck& check,
                                      CertificateCache& certs) {
  std::string id = request.header("paypal-transmission-id");
  std::string time = request.header("paypal-transmission-time");
  std::string sig = request.header("paypal-transmission-sig");
  std::string cert_url = request.header("paypal-cert-url");
  std::string algo = request.header("paypal-auth-algo");
  if (id.empty() || time.empty() || sig.empty() || cert_url.empty() || algo.empty()) {
    return {false, "missing PayPal transmission headers"};
  }
  if (algo != "SHA256withRSA") return {false, "unsupported PAYPAL-AUTH-ALGO"};
  if (check.webhook_id.empty()) return {false, "settings.webhook_id is not configured"};
  auto sent = parseRfc3339(time);
  if (!sent) return {false, "malformed PAYPAL-TRANSMISSION-TIME"};
  if (*sent < request.now_unix - check.tolerance_s || *sent > request.now_unix + check.tolerance_s) {
    return {false, "transmission time outside tolerance"};
  }
  if (std::string why = checkCertUrl(cert_url, check.cert_policy); !why.empty()) {
    return {false, why};
  }
  auto signature = crypto::base64Decode(sig);
  if (!signature || signature->empty()) return {false, "PAYPAL-TRANSMISSION-SIG is not base64"};
  std::string reason;
  auto cert = certs.get(cert_url, reason);
  if (!cert) return {false, reason};
  if (!cert->verifySha256WithRsa(signedMessage(id, time, check.webhook_id, request.body),
                                 *signature)) {
    return {false, "signature mismatch"};
  }
  return {true, ""};
}

}  // namespace paymux::connectors::paypal
