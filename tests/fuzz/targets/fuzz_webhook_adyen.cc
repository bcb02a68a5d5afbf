// Target (b), Adyen: both signature schemes of verifyWebhook (the HmacSignature header over the
// raw body, and per-item additionalData.hmacSignature in standard notifications, which parses the
// body BEFORE anything is verified) and parseWebhook, on "<HmacSignature value>\n<body>" inputs
// (an empty first line selects the per-item scheme). Correctly signed bodies must verify.
#include <cstdint>

#include "connectors/adyen/adyen_connector.h"
#include "connectors/adyen/adyen_webhooks.h"
#include "tests/fuzz/targets/fuzz_support.h"

namespace {

using namespace paymux;

// Hex HMAC keys (test values, in the format Adyen issues).
constexpr const char* kNotificationKey =
    "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056";
constexpr const char* kTransferKey =
    "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";

const connectors::Connector& connector() {
  static const auto* c = [] {
    config::ConnectorConfig cfg;
    cfg.id = "adyen-fuzz";
    cfg.type = "adyen";
    cfg.base_url = "http://127.0.0.1:9";
    cfg.credentials["api_key"] = Secret("AQE_fuzz");
    cfg.credentials["transfer_webhook_hmac_key"] = Secret(kTransferKey);
    cfg.settings["merchant_account"] = "FuzzMerchant";
    cfg.settings["balance_account_id"] = "BA_fuzz";
    cfg.webhook.secret = Secret(kNotificationKey);
    return connectors::adyen::makeAdyenConnector(cfg).release();
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
  namespace adyen = connectors::adyen;
  auto in = fuzz::splitHeader(data, size);
  connectors::WebhookRequest req{{}, in.body, fuzz::kNow};
  if (!in.header.empty()) req.headers.emplace_back("hmacsignature", in.header);
  connector().verifyWebhook(req);

  // The transfer scheme: the raw body signed with the transfer key must verify.
  connectors::WebhookRequest transfer_req{
      {{"hmacsignature", adyen::hmacBase64(kTransferKey, in.body).value()}}, in.body, fuzz::kNow};
  if (!connector().verifyWebhook(transfer_req).ok) fuzz::violated("signed transfer body rejected");

  // The per-item scheme: re-sign the items this body holds; the rebuilt body must verify.
  try {
    auto items = adyen::parseNotificationItems(in.body);
    // why: buildNotificationBody writes currency only inside an amount with a value.
    for (auto& item : items) {
      if (!item.amount_value) item.currency.clear();
    }
    if (!items.empty()) {
      std::string rebuilt = adyen::buildNotificationBody(items, kNotificationKey);
      connectors::WebhookRequest item_req{{}, rebuilt, fuzz::kNow};
      if (!connector().verifyWebhook(item_req).ok) fuzz::violated("signed notification rejected");
    }
  } catch (const connectors::WebhookParseError&) {
  }

  try {
    connector().parseWebhook(req);
  } catch (const connectors::WebhookParseError&) {
  }
  return 0;
}
