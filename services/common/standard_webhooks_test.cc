#include "services/common/standard_webhooks.h"

#include <gtest/gtest.h>

#include "services/common/crypto.h"

namespace paymux::standard_webhooks {
namespace {

// The vector of /work/shared/providers/README.md (official standardwebhooks npm, Webhook.sign).
constexpr std::string_view kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kTs = 1614265330;
constexpr std::string_view kBody = R"({"type":"collection.succeeded"})";
constexpr std::string_view kExpected = "v1,KoO7ViElwkt2c/91Ymb9EPkUNlHZ/P4BAuBy3vHjOS4=";

TEST(StandardWebhooks, ReproducesTheOfficialVectorByteForByte) {
  auto key = secretKey(kSecret);
  ASSERT_TRUE(key);
  EXPECT_EQ(sign(*key, kId, kTs, kBody), kExpected);
  EXPECT_EQ(signatureHeader({*key}, kId, kTs, kBody), kExpected);
}

TEST(StandardWebhooks, SecretPrefixIsOptionalAndGarbageRejected) {
  EXPECT_EQ(secretKey(kSecret), secretKey(kSecret.substr(kSecretPrefix.size())));
  EXPECT_FALSE(secretKey("whsec_"));
  EXPECT_FALSE(secretKey("whsec_!!!"));
}

TEST(StandardWebhooks, GeneratedSecretsAreWhsecOf32RandomBytes) {
  std::string a = generateSecret();
  std::string b = generateSecret();
  EXPECT_NE(a, b);
  ASSERT_EQ(a.rfind("whsec_", 0), 0u);
  EXPECT_EQ(a.size(), 6u + 44u);
  auto key = secretKey(a);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 32u);
}

TEST(StandardWebhooks, OneSignaturePerKeySpaceSeparated) {
  std::string other = generateSecret();
  std::string header = signatureHeader({*secretKey(other), *secretKey(kSecret)}, kId, kTs, kBody);
  auto space = header.find(' ');
  ASSERT_NE(space, std::string::npos);
  EXPECT_EQ(header.substr(space + 1), kExpected);
  // Either secret alone verifies the two-signature header.
  EXPECT_TRUE(verify(kSecret, kId, "1614265330", header, kBody, kTs));
  EXPECT_TRUE(verify(other, kId, "1614265330", header, kBody, kTs));
  EXPECT_FALSE(verify(generateSecret(), kId, "1614265330", header, kBody, kTs));
}

TEST(StandardWebhooks, VerifyRejectsTamperingAndStaleTimestamps) {
  std::string h(kExpected);
  EXPECT_TRUE(verify(kSecret, kId, "1614265330", h, kBody, kTs + 299));
  EXPECT_FALSE(verify(kSecret, kId, "1614265330", h, kBody, kTs + 301));
  EXPECT_FALSE(verify(kSecret, kId, "1614265330", h, kBody, kTs - 301));
  EXPECT_FALSE(verify(kSecret, kId, "1614265330", h, R"({"type":"collection.failed"})", kTs));
  EXPECT_FALSE(verify(kSecret, "msg_other", "1614265330", h, kBody, kTs));
  EXPECT_FALSE(verify(kSecret, kId, "1614265331", h, kBody, kTs));
  EXPECT_FALSE(verify(kSecret, kId, "16142653x0", h, kBody, kTs));
  EXPECT_FALSE(verify(kSecret, kId, "1614265330", "", kBody, kTs));
  EXPECT_FALSE(verify(kSecret, kId, "1614265330", "v1,", kBody, kTs));
}

}  // namespace
}  // namespace paymux::standard_webhooks
