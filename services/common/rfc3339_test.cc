#include "services/common/rfc3339.h"

#include <gtest/gtest.h>

namespace paymux {
namespace {

TEST(Rfc3339, FormatsSecondsForTheApiAndMicrosecondsForTheDatabase) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1764547200123456));
  EXPECT_EQ(formatRfc3339(t), "2025-12-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(t, /*microseconds=*/true), "2025-12-01T00:00:00.123456Z");
  EXPECT_EQ(parseRfc3339(formatRfc3339(t, true)), 1764547200);
}

TEST(Rfc3339, KeepsLeadingZerosOfTheFraction) {
  auto t = std::chrono::system_clock::time_point(std::chrono::microseconds(1764547200000042));
  EXPECT_EQ(formatRfc3339(t, true), "2025-12-01T00:00:00.000042Z");
}

}  // namespace
}  // namespace paymux
