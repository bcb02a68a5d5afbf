#include "connectors/paypal/paypal_sim_signer.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

#include "services/common/crypto.h"

namespace paymux::connectors::paypal {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("PayPal simulator: ") + what + " failed");
}

std::string selfSignedPem(EVP_PKEY* key, int64_t not_before_s, int64_t not_after_s) {
  X509Ptr cert(X509_new(), X509_free);
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");  // v3
  std::string serial = crypto::randomBytes(8);
  uint64_t serial_number = 0;
  for (unsigned char c : serial) serial_number = (serial_number << 8) | c;
  check(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial_number >> 1) == 1,
        "serial number");
  check(
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before_s)) != nullptr,
      "notBefore");
  check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(not_after_s)) != nullptr,
        "notAfter");
  check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [name](const char* field, const char* value) {
    check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(value), -1, -1, 0) == 1,
          "subject name");
  };
  add("C", "US");
  add("O", "paymux PayPal simulator");
  add("CN", "messageverificationcerts.simulator.invalid");
  check(X509_set_issuer_name(cert.get(), name) == 1, "issuer name");
  check(X509_sign(cert.get(), key, EVP_sha256()) > 0, "X509_sign");
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert.get()) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

}  // namespace

SimSigner::SimSigner(int64_t not_before_s, int64_t not_after_s) {
  key_ = EVP_RSA_gen(2048);
  check(key_ != nullptr, "EVP_RSA_gen");
  try {
    certificate_pem_ = selfSignedPem(key_, not_before_s, not_after_s);
  } catch (...) {
    EVP_PKEY_free(key_);
    throw;
  }
}

SimSigner::~SimSigner() { EVP_PKEY_free(key_); }

std::string SimSigner::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  check(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_) == 1,
        "EVP_DigestSignInit");
  size_t size = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  check(EVP_DigestSign(ctx.get(), nullptr, &size, data, message.size()) == 1, "EVP_DigestSign");
  std::string signature(size, '\0');
  check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                       message.size()) == 1,
        "EVP_DigestSign");
  signature.resize(size);
  return crypto::base64Encode(signature);
}

}  // namespace paymux::connectors::paypal
