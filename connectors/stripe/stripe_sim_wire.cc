#include "connectors/stripe/stripe_sim_wire.h"

#include "services/common/crypto.h"

namespace paymux::connectors::stripe::sim {
namespace {

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      auto byte = crypto::hexDecode(s.substr(i + 1, 2));
      if (byte && byte->size() == 1) {
        out += *byte;
        i += 2;
      } else {
        out += s[i];
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

void writeLastPaymentError(json::Writer& w, const SimObject& o) {
  json::key(w, "last_payment_error");
  if (o.error_code.empty()) {
    w.Null();
    return;
  }
  w.StartObject();
  json::kv(w, "code", o.error_code);
  json::kvNullable(w, "decline_code", o.decline_code);
  json::kv(w, "doc_url", "https://stripe.com/docs/error-codes/" + o.error_code);
  json::kv(w, "message", o.error_message);
  json::kv(w, "type", "card_error");
  w.EndObject();
}

}  // namespace

Params parseForm(std::string_view body) {
  Params params;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    params[percentDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1));
  }
  return params;
}

void writeObject(json::Writer& w, const SimObject& o) {
  w.StartObject();
  json::kv(w, "id", o.id);
  json::kv(w, "object", o.payout ? "payout" : "payment_intent");
  json::kvInt(w, "amount", o.amount);
  if (o.payout) {
    json::kvInt(w, "arrival_date", o.created + int64_t{2} * 86400);
    json::key(w, "automatic");
    w.Bool(false);
  } else {
    json::kvInt(w, "amount_capturable", 0);
    json::kvInt(w, "amount_received", o.status == "succeeded" ? o.amount : 0);
    json::kv(w, "capture_method", "automatic");
    json::kv(w, "client_secret", o.id + "_secret_sim");
    json::kv(w, "confirmation_method", "automatic");
  }
  json::kvInt(w, "created", o.created);
  json::kv(w, "currency", o.currency);
  json::kvNullable(w, "description", o.description);
  if (o.payout) {
    json::kvNullable(w, "destination", o.method);
    json::kvNullable(w, "failure_code", o.failure_code);
    json::kvNullable(w, "failure_message", o.failure_message);
  } else {
    writeLastPaymentError(w, o);
  }
  json::key(w, "livemode");
  w.Bool(false);
  json::key(w, "metadata");
  w.StartObject();
  for (const auto& [k, v] : o.metadata) json::kv(w, k, v);
  w.EndObject();
  if (o.payout) {
    json::kv(w, "method", "standard");
    json::kv(w, "type", "bank_account");
  } else {
    json::key(w, "next_action");
    if (o.status == "requires_action" && !o.redirect_url.empty()) {
      w.StartObject();
      json::key(w, "redirect_to_url");
      w.StartObject();
      json::kvNullable(w, "return_url", o.return_url);
      json::kv(w, "url", o.redirect_url);
      w.EndObject();
      json::kv(w, "type", "redirect_to_url");
      w.EndObject();
    } else {
      w.Null();
    }
    json::kvNullable(w, "payment_method", o.method);
    json::key(w, "payment_method_types");
    w.StartArray();
    w.String("card");
    w.EndArray();
  }
  json::kv(w, "status", o.status);
  w.EndObject();
}

std::string objectJson(const SimObject& o) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  writeObject(w, o);
  return std::string(sb.GetString(), sb.GetSize());
}

/// Stripe's error shape: {"error": {"code", "message", "param", "type", ...}}.
simkit::SimResponse stripeError(int status, std::string_view type, std::string_view code,
                                std::string_view message, const SimObject* intent) {
  rapidjson::StringBuffer sb;
  json::Writer w(sb);
  w.StartObject();
  json::key(w, "error");
  w.StartObject();
  if (!code.empty()) json::kv(w, "code", code);
  if (intent) json::kv(w, "decline_code", intent->decline_code);
  json::kv(w, "message", message);
  if (intent) {
    json::key(w, "payment_intent");
    writeObject(w, *intent);
  }
  json::kv(w, "type", type);
  w.EndObject();
  w.EndObject();
  return {status, std::string(sb.GetString(), sb.GetSize())};
}

}  // namespace paymux::connectors::stripe::sim
