#!/usr/bin/env python3
"""Writes the committed seed corpus in tests/fuzz/corpus/<target>/ (README.md explains the
format of each target's inputs). Re-run after editing; crash regressions (regress-*) found by
fuzzing are kept by hand and never rewritten here."""
import base64
import hashlib
import hmac
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = 1700000000  # fuzz_support.h kNow
SANDBOX_SECRET = b"whsec_fuzz_sandbox"
STRIPE_SECRET = b"whsec_fuzz_stripe"
ADYEN_NOTIFICATION_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ADYEN_TRANSFER_KEY = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"))


# --- fuzz_request: raw request bodies --------------------------------------------------------
collection = {"amount": 1000, "currency": "EUR", "reference": "order-42",
              "payment_method": {"type": "card", "token": "tok_visa"},
              "customer": {"id": "cus-7", "email": "a@example.com", "name": "Ada", "country": "DE"},
              "description": "Policy 42, November", "metadata": {"policy": "42"},
              "connector": "stripe-eu"}
write("fuzz_request", "collection_full.json", json.dumps(collection, indent=1))
write("fuzz_request", "collection_min.json", compact(
    {"amount": 1, "currency": "JPY", "reference": "r",
     "payment_method": {"type": "sepa_debit", "mandate": "md_1"}}))
write("fuzz_request", "collection_paypal.json", compact(
    {"amount": 1000000000000, "currency": "KWD", "reference": "x" * 128,
     "payment_method": {"type": "paypal", "email": "a@b.co"}}))
write("fuzz_request", "payout_iban.json", compact(
    {"amount": 25000, "currency": "GBP", "reference": "claim-981",
     "beneficiary": {"type": "bank_account", "name": "Ada Lovelace",
                     "iban": "GB33BUKB20201555555555"}}))
write("fuzz_request", "payout_sort_code.json", compact(
    {"amount": 5, "currency": "GBP", "reference": "c",
     "beneficiary": {"type": "bank_account", "account_number": "31926819", "sort_code": "601613"},
     "metadata": {"a": "b", "c": ""}}))
write("fuzz_request", "payout_routing.json", compact(
    {"amount": 5, "currency": "USD", "reference": "c",
     "beneficiary": {"type": "bank_account", "account_number": "000123456789",
                     "routing_number": "110000000"}}))
write("fuzz_request", "payout_provider.json", compact(
    {"amount": 7, "currency": "CLF", "reference": "p",
     "beneficiary": {"type": "provider_account", "account_id": "acct_1"}}))
write("fuzz_request", "escapes.json",
      '{"amount":10,"currency":"EUR","reference":"\\u00e9\\ud83d\\ude00\\"\\\\\\/\\b\\f\\n\\r\\t",'
      '"payment_method":{"type":"card","token":"t"},"metadata":{"\\u0000":"\\u0000"}}')
write("fuzz_request", "numbers.json",
      '{"amount":1e3,"currency":"EUR","reference":"r","payment_method":{"type":"card","token":"t"},'
      '"x":[-0,0.0,1E400,-1e-400,9223372036854775807,9223372036854775808,18446744073709551616,'
      '-9223372036854775809,123456789012345678901234567890]}')
write("fuzz_request", "duplicate_keys.json",
      '{"amount":1,"amount":2,"currency":"EUR","reference":"r","reference":"s",'
      '"payment_method":{"type":"card","token":"t","type":"paypal"}}')
write("fuzz_request", "deep_array.json", '{"amount":' + "[" * 10000 + "]" * 10000 + "}")
write("fuzz_request", "deep_object.json", '{"metadata":' + '{"a":' * 5000 + "1" + "}" * 5001)
write("fuzz_request", "literals.json", '{"a":true,"b":false,"c":null,"d":[],"e":{}}')

# --- webhooks: "<signature header value>\n<body>" ---------------------------------------------
def stripe_like(secret, body, t=NOW):
    mac = hmac.new(secret, f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


sandbox_event = compact({"id": "evt_1", "type": "payment.updated", "created": NOW,
                         "data": {"id": "pay_1", "object": "payment", "kind": "collect",
                                  "status": "succeeded", "amount": 1000, "currency": "EUR",
                                  "reference": "col_1"}})
sandbox_failed = compact({"id": "evt_2", "type": "payment.updated", "created": NOW,
                          "data": {"id": "pay_2", "status": "failed", "amount": 5,
                                   "currency": "EUR", "failure_code": "card_declined",
                                   "failure_message": "declined"}})
write("fuzz_webhook_sandbox", "signed.txt",
      stripe_like(SANDBOX_SECRET, sandbox_event) + "\n" + sandbox_event)
write("fuzz_webhook_sandbox", "failed.txt",
      stripe_like(SANDBOX_SECRET, sandbox_failed) + ",v1=00\n" + sandbox_failed)
write("fuzz_webhook_sandbox", "stale.txt", "t=1,v1=abcd\n" + sandbox_event)
write("fuzz_webhook_sandbox", "odd_header.txt",
      "t=+1700000000 ,v1=,v1,t=,=,,t=-9223372036854775808\n{}")

stripe_intent = compact({"id": "evt_3", "object": "event", "type": "payment_intent.succeeded",
                         "created": NOW, "data": {"object": {
                             "id": "pi_1", "object": "payment_intent", "status": "succeeded",
                             "amount": 2000, "currency": "eur",
                             "metadata": {"paymux_id": "col_1"}}}})
stripe_failed = compact({"id": "evt_4", "type": "payment_intent.payment_failed", "created": NOW,
                         "data": {"object": {"id": "pi_2", "status": "requires_payment_method",
                                             "amount": 10, "currency": "usd",
                                             "last_payment_error": {"code": "card_declined",
                                                                    "decline_code": "insufficient_funds",
                                                                    "message": "no"}}}})
with open(os.path.join(HERE, "../../connectors/stripe/fixtures/payout.json")) as f:
    payout_obj = json.load(f)
stripe_payout = compact({"id": "evt_5", "type": "payout.paid", "created": NOW,
                         "data": {"object": payout_obj}})
write("fuzz_webhook_stripe", "intent.txt",
      stripe_like(STRIPE_SECRET, stripe_intent) + "\n" + stripe_intent)
write("fuzz_webhook_stripe", "failed.txt",
      "t=1700000000, v0=abc, v1=" + "0" * 64 + "\n" + stripe_failed)
write("fuzz_webhook_stripe", "payout.txt",
      stripe_like(STRIPE_SECRET, stripe_payout) + "\n" + stripe_payout)
write("fuzz_webhook_stripe", "untracked.txt",
      "t=1700000000,t=1700000001,v1=x\n" + compact({"id": "evt_6", "type": "plan.created",
                                                     "data": {"object": {}}}))
write("fuzz_webhook_stripe", "negative_t.txt", "t=-1,v1=ab\n{}")


def adyen_sign(key_hex, item):
    amount = item.get("amount", {})
    fields = [item.get("pspReference", ""), item.get("originalReference", ""),
              item.get("merchantAccountCode", ""), item.get("merchantReference", ""),
              str(amount["value"]) if "value" in amount else "", amount.get("currency", ""),
              item.get("eventCode", ""), item.get("success", "")]
    mac = hmac.new(bytes.fromhex(key_hex), ":".join(fields).encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


auth_item = {"amount": {"currency": "EUR", "value": 1000}, "eventCode": "AUTHORISATION",
             "success": "true", "pspReference": "7914073381342284",
             "merchantAccountCode": "FuzzMerchant", "merchantReference": "col_1",
             "eventDate": "2024-07-17T13:42:40+01:00"}
cancel_item = {"eventCode": "CANCELLATION", "success": "true", "pspReference": "8825408195409505",
               "originalReference": "7914073381342284", "merchantAccountCode": "FuzzMerchant",
               "merchantReference": "col_1", "reason": "", "eventDate": "2024-07-17T13:42:40.123Z"}
for item in (auth_item, cancel_item):
    item["additionalData"] = {"hmacSignature": adyen_sign(ADYEN_NOTIFICATION_KEY, item)}
notification = compact({"live": "false", "notificationItems": [
    {"NotificationRequestItem": auth_item}, {"NotificationRequestItem": cancel_item}]})
write("fuzz_webhook_adyen", "notification.txt", "\n" + notification)
refused = dict(auth_item, success=False, reason="Refused", pspReference="1")
write("fuzz_webhook_adyen", "refused.txt", "\n" + compact(
    {"live": "false", "notificationItems": [{"NotificationRequestItem": refused}]}))
transfer = compact({"type": "balancePlatform.transfer.updated", "timestamp": "2024-07-17T13:42:40Z",
                    "data": {"id": "TR1", "status": "booked", "direction": "outgoing",
                             "reference": "pay_1", "sequenceNumber": 3,
                             "amount": {"value": 25000, "currency": "GBP"},
                             "tracking": {"type": "confirmation", "status": "credited"}}})
mac = base64.b64encode(hmac.new(bytes.fromhex(ADYEN_TRANSFER_KEY), transfer.encode(),
                                hashlib.sha256).digest()).decode()
write("fuzz_webhook_adyen", "transfer.txt", mac + "\n" + transfer)
returned = compact({"type": "balancePlatform.transfer.updated",
                    "data": {"id": "TR2", "status": "returned", "reason": "accountClosed",
                             "tracking": {"status": "failed", "reason": "rejected"}}})
write("fuzz_webhook_adyen", "transfer_returned.txt", "AAAA\n" + returned)

# --- fuzz_config: YAML ------------------------------------------------------------------------
with open(os.path.join(HERE, "../../config/example.yaml")) as f:
    write("fuzz_config", "example.yaml", f.read())
write("fuzz_config", "minimal.yaml", 'database: { url: "postgresql://x" }\n')
write("fuzz_config", "routing.yaml", """server: { listen: "127.0.0.1:0", threads: 2, max_body_bytes: 65536 }
database: { url: "${PAYMUX_DATABASE_URL:-postgresql://x}", pool: 4 }
connectors:
  - id: a
    type: sandbox
    base_url: "http://127.0.0.1:1"
    credentials: { api_key: "$${literal}" }
    webhook: { secret: s, tolerance_s: 300 }
    supports: { kinds: [collect], currencies: [EUR, USD], methods: [card] }
    timeout_ms: 1500
  - id: b
    type: stripe
    base_url: "https://api.stripe.com"
routing:
  - when: { kind: collect, currency: [EUR, USD], country: DE, method: card, amount: { min: 1, max: 9223372036854775807 } }
    try: [a]
  - when: { kind: collect }
    split: { a: 50, b: 10000 }
delivery: { retry_schedule_s: [0, 5], timeout_ms: 1000, lease_s: 60, encryption_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", allow_hosts: [example.com], allow_private_networks: false }
janitor: { schedule_s: [300, 3600], interval_ms: 1000, unmatched_window_s: 600 }
log: { level: warn }
""")
write("fuzz_config", "anchors.yaml", """base: &b { url: "postgresql://x" }
database: *b
connectors: [&c { id: a, type: sandbox, base_url: "http://x" }, *c]
""")
write("fuzz_config", "bad_types.yaml", """server: [1, 2]
database: { url: ~, pool: 99999999999999999999 }
connectors: { id: x }
"${UNSET_NAME}": 1
? [complex, key]
: value
""")

# --- fuzz_currency: 1 exponent byte, then text --------------------------------------------------
for name, exponent, text in [("eur", 2, "10.00"), ("jpy", 0, "500"), ("neg", 2, "-0.05"),
                             ("kwd", 3, "1.5"), ("max", 0, "9223372036854775807"),
                             ("min", 0, "-9223372036854775808"), ("over", 0, "9223372036854775808"),
                             ("e18", 18, "9.223372036854775807"), ("bad_exp", 20, "1"),
                             ("code_eur", 2, "EUR"), ("code_lower", 2, "eur"), ("dot", 2, "1."),
                             ("lead", 2, ".5"), ("zeros", 2, "1.500")]:
    write("fuzz_currency", name, bytes([(exponent + 1) % 21]) + text.encode())
