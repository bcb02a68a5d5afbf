#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/api/connector.h"

namespace paymux::connectors::adyen {

// Pure functions for Adyen's two webhook families (no I/O, no configuration):
//  - standard notifications {"live","notificationItems":[{"NotificationRequestItem":{...}}]},
//    each item signed in additionalData.hmacSignature (Webhooks-v1.json);
//  - balance-platform transfer webhooks {"type":"balancePlatform.transfer.*","data":{...}}, the
//    raw body signed in the HmacSignature header (BalancePlatformTransferNotification-v4.json).

/// One NotificationRequestItem, the fields paymux signs or reads.
struct NotificationItem {
  std::string psp_reference;
  std::string original_reference;
  std::string merchant_account_code;
  std::string merchant_reference;
  std::optional<int64_t> amount_value;
  std::string currency;
  std::string event_code;
  std::string success;  // "true" | "false", as Adyen sends it
  std::string reason;
  std::string event_date;      // ISO 8601, e.g. 2021-07-17T13:42:40+01:00
  std::string hmac_signature;  // additionalData.hmacSignature
};

/// pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:
/// eventCode:success, missing fields as empty strings.
std::string notificationSigningString(const NotificationItem& item);
/// base64(HMAC-SHA256(hex-decoded key, data)); nullopt when the key is not hex.
std::optional<std::string> hmacBase64(std::string_view hex_key, std::string_view data);
/// The hmacSignature Adyen puts on the item.
std::optional<std::string> itemSignature(std::string_view hex_key, const NotificationItem& item);

/// The items of a standard notification body. Throws WebhookParseError when malformed.
std::vector<NotificationItem> parseNotificationItems(std::string_view body);
/// A standard notification body with every item signed with hex_key (the provider's side; the
/// amount comes first in each item). Items keep their own hmac_signature when hex_key is empty.
std::string buildNotificationBody(std::vector<NotificationItem> items, std::string_view hex_key);

/// Ok only when the body has at least one item and every item's signature is valid.
WebhookVerdict verifyNotificationItems(std::string_view body, std::string_view hex_key);
/// Ok when `signature` (HmacSignature header) is the signature of the raw body.
WebhookVerdict verifyRawBody(std::string_view body, std::string_view signature,
                             std::string_view hex_key);

/// One event per item. event_id = pspReference:eventCode:success (Adyen resends the same item),
/// provider_ref = originalReference for modifications, else pspReference.
std::vector<ProviderEvent> notificationEvents(std::string_view body);
/// The event of a balancePlatform.transfer.* body: event_id = data.id:sequenceNumber.
std::vector<ProviderEvent> transferEvents(std::string_view body);

/// Unix seconds of an ISO 8601 / RFC 3339 time with Z or a +hh:mm offset; 0 when malformed.
int64_t parseIsoTime(std::string_view text);

}  // namespace paymux::connectors::adyen
