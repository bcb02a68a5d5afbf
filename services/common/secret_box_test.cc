#include "services/common/secret_box.h"

#include <gtest/gtest.h>

#include "services/common/crypto.h"

namespace paymux::crypto {
namespace {

SecretBox newBox() { return SecretBox(Secret(randomBytes(SecretBox::kKeySize))); }

TEST(SecretBox, RoundTripsWithAFreshNonceEachTime) {
  SecretBox box = newBox();
  std::string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJ5lTyCbBMcE=";
  std::string a = box.seal(secret, "sub_1");
  std::string b = box.seal(secret, "sub_1");
  EXPECT_NE(a, b);  // random nonce
  EXPECT_EQ(a.size(), SecretBox::kNonceSize + secret.size() + SecretBox::kTagSize);
  EXPECT_EQ(a.find(secret), std::string::npos);
  EXPECT_EQ(box.open(a, "sub_1"), secret);
  EXPECT_EQ(box.open(b, "sub_1"), secret);
  EXPECT_EQ(box.open(box.seal(""), ""), "");
}

TEST(SecretBox, DetectsEveryTamperedByte) {
  SecretBox box = newBox();
  std::string sealed = box.seal("whsec_secret", "sub_1");
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_FALSE(box.open(t, "sub_1")) << "byte " << i;
  }
  EXPECT_FALSE(box.open(sealed.substr(0, sealed.size() - 1), "sub_1"));
  EXPECT_FALSE(box.open(sealed + "x", "sub_1"));
  EXPECT_FALSE(box.open("short", "sub_1"));
}

TEST(SecretBox, RejectsAnotherKeyOrAnotherOwner) {
  SecretBox box = newBox();
  std::string sealed = box.seal("whsec_secret", "sub_1");
  EXPECT_FALSE(newBox().open(sealed, "sub_1"));
  EXPECT_FALSE(box.open(sealed, "sub_2"));
  EXPECT_FALSE(box.open(sealed));
}

TEST(SecretBox, KeyFromConfigurationBase64) {
  std::string key = randomBytes(32);
  SecretBox a = SecretBox::fromBase64(Secret(base64Encode(key)));
  SecretBox b{Secret(key)};
  EXPECT_EQ(b.open(a.seal("x")), "x");
  EXPECT_THROW(SecretBox::fromBase64(Secret(base64Encode(randomBytes(16)))), std::invalid_argument);
  EXPECT_THROW(SecretBox::fromBase64(Secret("not base64!")), std::invalid_argument);
  EXPECT_THROW(SecretBox(Secret("short")), std::invalid_argument);
}

}  // namespace
}  // namespace paymux::crypto
