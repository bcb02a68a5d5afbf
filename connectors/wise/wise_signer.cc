#include "connectors/wise/wise_signer.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <stdexcept>

#include "services/common/crypto.h"

namespace paymux::connectors::wise {

RsaSigner RsaSigner::generate(unsigned bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  if (key == nullptr) throw std::runtime_error("RSA key generation failed");
  return RsaSigner(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

std::string RsaSigner::publicKeyPem() const {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) {
    throw std::runtime_error("writing the public key failed");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string RsaSigner::signBase64(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
    throw std::runtime_error("RSA signing failed");
  }
  size_t len = static_cast<size_t>(EVP_PKEY_get_size(key_.get()));
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    throw std::runtime_error("RSA signing failed");
  }
  signature.resize(len);
  return crypto::base64Encode(signature);
}

}  // namespace paymux::connectors::wise
