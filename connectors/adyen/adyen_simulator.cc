#include "connectors/adyen/adyen_simulator.h"

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "connectors/adyen/adyen_sim_schema.h"
#include "connectors/adyen/adyen_sim_wire.h"
#include "connectors/adyen/adyen_webhooks.h"
#include "connectors/simkit/sim_server.h"
#include "services/common/http_client.h"
#include "services/common/json.h"
#include "services/common/log.h"

namespace paymux::connectors::adyen {
namespace {
using Clock = std::chrono::steady_clock;
using sim::flag;
using sim::problem;
using sim::scenario;
using sim::serviceError;
using sim::stringAt;
using simkit::SimResponse;

}  // namespace

struct AdyenSimulator::Impl {
  Impl(simkit::SimOptions o, const std::string& schema_dir)
      : options(std::move(o)),
        payment_schema(schema_dir, "PaymentRequest.schema.json"),
        transfer_schema(schema_dir, "TransferInfo.schema.json") {}

  simkit::SimOptions options;
  RequestSchema payment_schema;
  RequestSchema transfer_schema;
  mutable std::mutex mutex;
  std::map<std::string, sim::Payment> payments;
  std::map<std::string, sim::Transfer> transfers;
  std::map<std::string, SimResponse> replies;  // "<path> <Idempotency-Key>" -> first answer
  long objects = 0;
  long schema_failures = 0;
  long webhooks_sent = 0;
  http::CurlExecutor executor;
  // Later work (tok_async outcomes, transfer bookings), run by one member thread.
  std::condition_variable cv;
  std::multimap<Clock::time_point, std::function<void()>> jobs;
  bool stopping = false;
  std::thread worker;
  std::unique_ptr<simkit::SimServer> server;
  AdyenSimulator* owner = nullptr;

  SimResponse handle(const simkit::SimRequest& req);
  SimResponse createPayment(const simkit::SimRequest& req);
  SimResponse createTransfer(const simkit::SimRequest& req);
  SimResponse simWebhook(const simkit::SimRequest& req);
  SimResponse remember(const std::string& key, SimResponse resp);
  void schedule(int delay_ms, std::function<void()> job);
  void runJobs();
  long deliver(const std::string& body, http::Headers headers);
};

SimResponse AdyenSimulator::Impl::remember(const std::string& key, SimResponse resp) {
  SimResponse replay = resp;
  replay.delay = std::chrono::milliseconds(options.latency_ms);
  if (!key.empty()) replies.emplace(key, replay);
  return resp;
}

void AdyenSimulator::Impl::schedule(int delay_ms, std::function<void()> job) {
  jobs.emplace(Clock::now() + std::chrono::milliseconds(delay_ms), std::move(job));
  cv.notify_all();
}

SimResponse AdyenSimulator::Impl::createPayment(const simkit::SimRequest& req) {
  if (req.header("x-api-key") != options.api_key) {
    return serviceError(401, "000", "HTTP Status Response - Unauthorized", "security");
  }
  std::string key = req.header("idempotency-key");
  if (!key.empty()) key = "payments " + key;
  std::lock_guard lock(mutex);
  if (auto it = replies.find(key); it != replies.end()) return it->second;
  if (auto failure = payment_schema.check(req.body)) {
    ++schema_failures;
    log::warn("adyen simulator: PaymentRequest failed the schema check", {{"error", *failure}});
    return serviceError(422, "702", "Structure of PaymentRequest is invalid: " + *failure,
                        "validation");
  }
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  sim::Payment p{sim::newReference(),
                 stringAt(doc, {"merchantAccount"}),
                 stringAt(doc, {"reference"}),
                 stringAt(doc, {"amount", "currency"}),
                 "Authorised",
                 0};
  p.amount = json::getInt(*json::getObject(doc, "amount"), "value").value_or(0);
  auto merchant = options.extra.find("merchant_account");
  if (merchant != options.extra.end() && merchant->second != p.merchant_account) {
    return serviceError(403, "901", "Invalid Merchant Account", "security");
  }
  std::string token = scenario({stringAt(doc, {"paymentMethod", "storedPaymentMethodId"})});
  if (token == "tok_error") {
    return serviceError(500, "999", "Internal error (simulated)", "internal");
  }
  SimResponse resp;
  resp.delay = std::chrono::milliseconds(options.latency_ms);
  if (token == "tok_decline") p.result_code = "Refused";
  if (token == "tok_action") p.result_code = "RedirectShopper";
  if (token == "tok_unknown") p.result_code = "SomethingNew";
  if (token == "tok_slow") resp.delay += std::chrono::milliseconds(options.slow_ms);
  if (token == "tok_timeout") resp.delay += std::chrono::milliseconds(options.timeout_ms);
  if (token == "tok_async") {
    p.result_code = "Received";
    schedule(options.async_ms, [this, psp = p.psp] {
      {
        std::lock_guard job_lock(mutex);
        payments[psp].result_code = "Authorised";
      }
      owner->notification(psp, "AUTHORISATION", true, true);
    });
  }
  resp.body = sim::paymentJson(p);
  payments[p.psp] = p;
  ++objects;
  return remember(key, resp);
}

SimResponse AdyenSimulator::Impl::createTransfer(const simkit::SimRequest& req) {
  if (req.header("x-api-key") != options.api_key) {
    return serviceError(401, "000", "HTTP Status Response - Unauthorized", "security");
  }
  std::string key = req.header("idempotency-key");
  if (!key.empty()) key = "transfers " + key;
  std::lock_guard lock(mutex);
  if (auto it = replies.find(key); it != replies.end()) return it->second;
  if (auto failure = transfer_schema.check(req.body)) {
    ++schema_failures;
    log::warn("adyen simulator: TransferInfo failed the schema check", {{"error", *failure}});
    return problem(422, "702", "Invalid transfer information provided", *failure);
  }
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  std::string token =
      scenario({stringAt(doc, {"counterparty", "bankAccount", "accountHolder", "fullName"}),
                stringAt(doc, {"counterparty", "transferInstrumentId"})});
  if (token == "tok_error") return problem(500, "00_500", "Internal error", "simulated failure");
  sim::Transfer t;
  t.id = sim::newReference();
  t.reference = stringAt(doc, {"reference"});
  t.currency = stringAt(doc, {"amount", "currency"});
  t.amount = json::getInt(*json::getObject(doc, "amount"), "value").value_or(0);
  t.balance_account = stringAt(doc, {"balanceAccountId"});
  t.counterparty_json = json::serialize(doc["counterparty"]);
  t.status = "received";
  t.reason = "pending";
  SimResponse resp(202);
  resp.delay = std::chrono::milliseconds(options.latency_ms);
  if (token == "tok_decline") {
    t.status = "refused";
    t.reason = "notEnoughBalance";
    resp.status = 200;
  } else if (token == "tok_unknown") {
    t.status = "somethingNew";
  } else {
    if (token == "tok_slow") resp.delay += std::chrono::milliseconds(options.slow_ms);
    if (token == "tok_timeout") resp.delay += std::chrono::milliseconds(options.timeout_ms);
    // The payout lifecycle: booked (left the balance account), then credited (tracking).
    schedule(options.async_ms, [this, id = t.id] { owner->transferWebhook(id, "booked", true); });
    schedule(2 * options.async_ms,
             [this, id = t.id] { owner->transferWebhook(id, "booked", true, "credited"); });
  }
  resp.body = sim::transferJson(t, 0, "");
  transfers[t.id] = t;
  ++objects;
  return remember(key, resp);
}

// POST /sim/webhooks, for end-to-end tests over HTTP. Body: {"transfer_id", "status",
// "tracking_status"} for a transfer webhook; else {"items": [item...]} or one item inline, an
// item being {"psp_reference", "event_code", "success", "original_reference", "reason",
// "merchant_reference", "amount", "currency"}; "deliver" (default true). Answers {"body",
// "signature", "delivery_status"}.
SimResponse AdyenSimulator::Impl::simWebhook(const simkit::SimRequest& req) {
  rapidjson::Document doc;
  doc.Parse(req.body.c_str(), req.body.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return serviceError(400, "702", "invalid JSON", "validation");
  }
  bool send = flag(doc, "deliver", true);
  SignedWebhook hook;
  if (doc.HasMember("transfer_id")) {
    hook = owner->transferWebhook(stringAt(doc, {"transfer_id"}), stringAt(doc, {"status"}), send,
                                  stringAt(doc, {"tracking_status"}));
  } else {
    std::vector<NotificationSpec> specs;
    auto read = [&specs](const rapidjson::Value& v) {
      NotificationSpec s;
      s.psp_reference = stringAt(v, {"psp_reference"});
      if (s.psp_reference.empty()) s.psp_reference = stringAt(v, {"payment_id"});
      if (std::string code = stringAt(v, {"event_code"}); !code.empty()) s.event_code = code;
      s.success = flag(v, "success", true);
      s.original_reference = stringAt(v, {"original_reference"});
      s.reason = stringAt(v, {"reason"});
      s.merchant_reference = stringAt(v, {"merchant_reference"});
      s.amount = json::getInt(v, "amount").value_or(-1);
      s.currency = stringAt(v, {"currency"});
      specs.push_back(s);
    };
    auto items = doc.FindMember("items");
    if (items != doc.MemberEnd() && items->value.IsArray()) {
      for (const auto& v : items->value.GetArray()) read(v);
    } else {
      read(doc);
    }
    hook = owner->notificationBatch(specs, send);
  }
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::kv(w, "body", hook.body);
  json::kv(w, "signature", hook.signature);
  json::kvInt(w, "delivery_status", hook.delivery_status);
  w.EndObject();
  return {200, std::string(sb.GetString(), sb.GetSize())};
}

SimResponse AdyenSimulator::Impl::handle(const simkit::SimRequest& req) {
  if (req.method == "GET" && req.path == "/health") return {200, "{\"ok\":true}"};
  if (req.method == "POST" && req.path == "/v71/payments") return createPayment(req);
  if (req.method == "POST" && req.path == "/btl/v4/transfers") return createTransfer(req);
  if (req.method == "POST" && req.path == "/sim/webhooks") return simWebhook(req);
  if (req.method == "GET" && req.path == "/sim/stats") {
    std::lock_guard lock(mutex);
    return {200, "{\"objects_created\":" + std::to_string(objects) +
                     ",\"schema_failures\":" + std::to_string(schema_failures) +
                     ",\"webhooks_sent\":" + std::to_string(webhooks_sent) + "}"};
  }
  return serviceError(404, "000", "Not found", "validation");
}

long AdyenSimulator::Impl::deliver(const std::string& body, http::Headers headers) {
  if (options.webhook_url.empty()) return 0;
  headers.emplace_back("Content-Type", "application/json");
  http::HttpRequestSpec spec{"POST", options.webhook_url, std::move(headers), body};
  auto result = executor.send(spec, std::chrono::milliseconds(10000));
  std::lock_guard lock(mutex);
  ++webhooks_sent;
  return result.ok() ? result.response.status : 0;
}

void AdyenSimulator::Impl::runJobs() {
  std::unique_lock lock(mutex);
  while (!stopping) {
    if (jobs.empty()) {
      cv.wait(lock);
      continue;
    }
    auto due = jobs.begin()->first;
    if (Clock::now() < due) {
      cv.wait_until(lock, due);
      continue;
    }
    auto job = std::move(jobs.begin()->second);
    jobs.erase(jobs.begin());
    lock.unlock();
    job();
    lock.lock();
  }
}

AdyenSimulator::AdyenSimulator(simkit::SimOptions options) {
  if (options.api_key.empty()) options.api_key = kDefaultApiKey;
  if (options.webhook_secret.empty()) options.webhook_secret = kDefaultHmacKey;
  auto dir = options.extra.find("schema_dir");
  std::string schema_dir = dir == options.extra.end() ? defaultSchemaDir() : dir->second;
  impl_ = std::make_unique<Impl>(std::move(options), schema_dir);
  impl_->owner = this;
  impl_->worker = std::thread([this] { impl_->runJobs(); });
  impl_->server = std::make_unique<simkit::SimServer>(
      impl_->options.host, impl_->options.port,
      [this](const simkit::SimRequest& r) { return impl_->handle(r); }, impl_->options.threads);
}

AdyenSimulator::~AdyenSimulator() {
  impl_->server->shutdown();
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
}

std::string AdyenSimulator::baseUrl() const { return impl_->server->baseUrl(); }
int AdyenSimulator::port() const { return impl_->server->port(); }
const std::string& AdyenSimulator::hmacKey() const { return impl_->options.webhook_secret; }

long AdyenSimulator::objectsCreated() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->objects;
}
long AdyenSimulator::schemaFailures() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->schema_failures;
}
long AdyenSimulator::webhooksSent() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->webhooks_sent;
}

AdyenSimulator::SignedWebhook AdyenSimulator::notification(const std::string& psp_reference,
                                                           const std::string& event_code,
                                                           bool success, bool deliver) {
  NotificationSpec spec;
  spec.psp_reference = psp_reference;
  spec.event_code = event_code;
  spec.success = success;
  return notificationBatch({spec}, deliver);
}

AdyenSimulator::SignedWebhook AdyenSimulator::notificationBatch(
    const std::vector<NotificationSpec>& specs, bool deliver) {
  std::vector<NotificationItem> items;
  {
    std::lock_guard lock(impl_->mutex);
    for (const auto& s : specs) {
      const std::string& payment_ref =
          s.original_reference.empty() ? s.psp_reference : s.original_reference;
      auto it = impl_->payments.find(payment_ref);
      sim::Payment p = it == impl_->payments.end() ? sim::Payment{} : it->second;
      NotificationItem item;
      item.psp_reference = s.psp_reference;
      item.original_reference = s.original_reference;
      item.merchant_account_code = p.merchant_account.empty() ? "SimMerchant" : p.merchant_account;
      item.merchant_reference = s.merchant_reference.empty() ? p.reference : s.merchant_reference;
      if (s.amount >= 0) {
        item.amount_value = s.amount;
      } else if (it != impl_->payments.end()) {
        item.amount_value = p.amount;
      }
      item.currency = s.currency.empty() ? p.currency : s.currency;
      item.event_code = s.event_code;
      item.success = s.success ? "true" : "false";
      item.reason = !s.reason.empty() || s.success ? s.reason : "Refused";
      item.event_date = log::nowRfc3339();
      items.push_back(item);
    }
  }
  SignedWebhook hook;
  hook.body = buildNotificationBody(std::move(items), impl_->options.webhook_secret);
  if (deliver) hook.delivery_status = impl_->deliver(hook.body, {});
  return hook;
}

AdyenSimulator::SignedWebhook AdyenSimulator::transferWebhook(const std::string& transfer_id,
                                                              const std::string& status,
                                                              bool deliver,
                                                              const std::string& tracking_status) {
  std::string data;
  {
    std::lock_guard lock(impl_->mutex);
    sim::Transfer& t = impl_->transfers[transfer_id];
    t.id = transfer_id;
    if (!status.empty()) t.status = status;
    data = sim::transferJson(t, ++t.sequence, tracking_status);
  }
  SignedWebhook hook;
  hook.body = sim::transferWebhookBody(data);
  hook.signature = hmacBase64(impl_->options.webhook_secret, hook.body).value_or("");
  if (deliver) {
    hook.delivery_status = impl_->deliver(hook.body, {{"HmacSignature", hook.signature}});
  }
  return hook;
}

}  // namespace paymux::connectors::adyen
