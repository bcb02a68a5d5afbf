// Target (b), Stripe: the Stripe-Signature header parser and HMAC check (verifyWebhook) and the
// event parser (parseWebhook), on "<Stripe-Signature value>\n<body>" inputs. parseWebhook runs on
// every body, signed or not, so the parser is fuzzed as if Stripe had signed it. A body signed
// correctly with a fresh timestamp must verify.
#include <cstdint>

#include "connectors/stripe/stripe_connector.h"
#include "connectors/stripe/stripe_webhook.h"
#include "tests/fuzz/targets/fuzz_support.h"

namespace {

using namespace paymux;

constexpr const char* kSecret = "whsec_fuzz_stripe";

const connectors::Connector& connector() {
  static const auto* c = [] {
    config::ConnectorConfig cfg;
    cfg.id = "stripe-fuzz";
    cfg.type = "stripe";
    cfg.base_url = "http://127.0.0.1:9";
    cfg.credentials["secret_key"] = Secret("sk_test_fuzz");
    cfg.webhook.secret = Secret(kSecret);
    cfg.webhook.tolerance_s = 300;
    return connectors::stripe::makeStripeConnector(cfg).release();
  }();
  return *c;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry points
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quietLogs();
  connector();
  return 0;
}

// NOLINTNEXTLINE(readability-identifier-naming)
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto in = fuzz::splitHeader(data, size);
  connectors::WebhookRequest req{{{"stripe-signature", in.header}}, in.body, fuzz::kNow};
  connector().verifyWebhook(req);

  connectors::WebhookRequest signed_req{
      {{"stripe-signature", connectors::stripe::signatureHeader(kSecret, fuzz::kNow, in.body)}},
      in.body,
      fuzz::kNow};
  if (!connector().verifyWebhook(signed_req).ok) fuzz::violated("correctly signed body rejected");

  try {
    connector().parseWebhook(req);
  } catch (const connectors::WebhookParseError&) {
  }
  return 0;
}
