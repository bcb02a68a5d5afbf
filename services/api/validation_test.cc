#include "services/api/validation.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "services/common/api_error.h"

namespace paymux::api {
namespace {

std::string schemasDir() {
  const char* dir = std::getenv("PAYMUX_SOURCE_DIR");
  return dir ? std::string(dir) + "/schemas" : "";
}

// Regression: a crash under 500 concurrent clients. RapidJSON's pattern matcher keeps state in
// the compiled schema, so concurrent validations against one compiled schema corrupted it.
TEST(SchemaSet, ConcurrentValidationsWithPatternsStayCorrect) {
  if (schemasDir().empty()) GTEST_SKIP() << "PAYMUX_SOURCE_DIR is not set";
  SchemaSet schemas(schemasDir());
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1500; ++i) {
        bool valid = (i + t) % 2 == 0;
        std::string body = std::string(R"({"amount":100,"currency":")") + (valid ? "EUR" : "eur") +
                           R"(","reference":"r","payment_method":{"type":"card","token":"t"},)"
                           R"("customer":{"email":"a@example.com","country":"DE"}})";
        rapidjson::Document doc;
        try {
          schemas.parseAndValidate("collection_create", body, doc);
          if (!valid) ++wrong;
        } catch (const ApiError& e) {
          if (valid || e.param != "currency") ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(SchemaSet, FirstFailureNamesTheFieldAsADottedPath) {
  if (schemasDir().empty()) GTEST_SKIP() << "PAYMUX_SOURCE_DIR is not set";
  SchemaSet schemas(schemasDir());
  rapidjson::Document doc;
  try {
    schemas.parseAndValidate(
        "collection_create",
        R"({"amount":1,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},"customer":{"country":"deu"}})",
        doc);
    FAIL() << "accepted a bad country";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "parameter_invalid");
    EXPECT_EQ(e.param, "customer.country");
  }
}

}  // namespace
}  // namespace paymux::api
