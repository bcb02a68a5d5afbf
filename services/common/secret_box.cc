#include "services/common/secret_box.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

#include "services/common/crypto.h"

namespace paymux::crypto {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx newCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  return ctx;
}

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

SecretBox::SecretBox(Secret key) : key_(std::move(key)) {
  if (key_.reveal().size() != kKeySize) {
    throw std::invalid_argument("secret box key must be 32 bytes");
  }
}

SecretBox SecretBox::fromBase64(const Secret& key_base64) {
  auto raw = base64Decode(key_base64.reveal());
  if (!raw || raw->size() != kKeySize) {
    throw std::invalid_argument("encryption key must be base64 of 32 bytes");
  }
  return SecretBox(Secret(std::move(*raw)));
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view aad) const {
  std::string nonce = randomBytes(kNonceSize);
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  out.replace(0, kNonceSize, nonce);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + kNonceSize);
  CipherCtx ctx = newCtx();
  int len = 0;
  bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key_.reveal()), bytes(nonce)) == 1 &&
      (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                                        static_cast<int>(aad.size())) == 1) &&
      EVP_EncryptUpdate(ctx.get(), ct, &len, bytes(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                          out.data() + kNonceSize + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

std::optional<std::string> SecretBox::open(std::string_view sealed, std::string_view aad) const {
  if (sealed.size() < kNonceSize + kTagSize) return std::nullopt;
  std::string_view nonce = sealed.substr(0, kNonceSize);
  std::string_view ct = sealed.substr(kNonceSize, sealed.size() - kNonceSize - kTagSize);
  std::string tag(sealed.substr(sealed.size() - kTagSize));
  std::string out(ct.size(), '\0');
  auto* pt = reinterpret_cast<unsigned char*>(out.data());
  CipherCtx ctx = newCtx();
  int len = 0;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceSize),
                          nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key_.reveal()), bytes(nonce)) == 1 &&
      (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad),
                                        static_cast<int>(aad.size())) == 1) &&
      EVP_DecryptUpdate(ctx.get(), pt, &len, bytes(ct), static_cast<int>(ct.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                          tag.data()) == 1 &&
      // why: the tag is checked here; nothing decrypted is returned unless it matches.
      EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) == 1;
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace paymux::crypto
