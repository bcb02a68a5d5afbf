#pragma once
#include <rapidjson/document.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <vector>

#include "services/common/config.h"
#include "services/common/secret_box.h"
#include "services/engine/payments.h"
#include "services/store/pool.h"

namespace paymux::engine {

/// Where deliveries may go (delivery.allow_hosts, delivery.allow_private_networks). Checked on the
/// URL when a subscription is created or changed, and again by the dispatcher on every address
/// it connects to, so a name that later resolves to a private address (DNS rebinding) is refused.
class DestinationPolicy {
 public:
  explicit DestinationPolicy(const config::DeliveryConfig& config);

  /// "" when `url` may receive deliveries; otherwise the reason, for the client.
  std::string checkUrl(const std::string& url) const;
  /// Whether a connection to `address` (resolved for `host`, as in the URL) is allowed.
  bool addressAllowed(const std::string& host, const sockaddr* address) const;

  /// The URL's host (lower-case; IPv6 without brackets), or "" when the URL does not parse.
  static std::string hostOf(const std::string& url);
  /// Loopback, private (RFC 1918, ULA), link-local, unspecified, CGNAT: not public.
  static bool isPrivateAddress(const sockaddr* address);

 private:
  struct Cidr {
    int family = 0;
    unsigned char bytes[16] = {};
    int prefix = 0;
  };
  /// allow_hosts names this host, or one of its CIDRs holds the host's IP literal.
  bool explicitlyAllowed(const std::string& host) const;
  bool cidrAllows(const sockaddr* address) const;

  bool allow_private_;
  std::vector<std::string> names_;  // lower-case; "*.example.com" matches subdomains
  std::vector<Cidr> cidrs_;
};

/// The SecretBox for subscription secrets, or nullopt when delivery.encryption_key is not set.
std::optional<crypto::SecretBox> subscriptionSecretBox(const config::DeliveryConfig& config);

/// The signing keys (raw HMAC keys) of a subscription from the ciphertexts of its active secrets
/// (subscriptions.secrets[].ciphertext, base64). A ciphertext that does not open is skipped and
/// logged without its value.
std::vector<std::string> openSigningKeys(const crypto::SecretBox& box,
                                         const std::string& subscription_id,
                                         const std::vector<std::string>& ciphertexts);

/// The subscriptions API (API.md "Subscriptions (push)"): every call is scoped to one tenant;
/// another tenant's id answers 404. Secrets are stored only sealed (AES-256-GCM) and returned in
/// full only by create and rotateSecret.
class SubscriptionService {
 public:
  SubscriptionService(store::Pool& pool, const config::DeliveryConfig& config);

  /// `body` has passed schema subscription_create. Honours Idempotency-Key; the stored response
  /// (which holds the secret) is itself sealed.
  Reply create(const std::string& tenant_id, const rapidjson::Document& body,
               const std::string& request_hash, const std::string& idempotency_key);
  Reply list(const std::string& tenant_id, int limit, const std::string& starting_after);
  Reply get(const std::string& tenant_id, const std::string& id);
  /// `body` has passed schema subscription_update.
  Reply update(const std::string& tenant_id, const std::string& id,
               const rapidjson::Document& body);
  /// Soft delete; pending deliveries are canceled.
  Reply remove(const std::string& tenant_id, const std::string& id);
  /// A new current secret; the previous one keeps signing for kRotationOverlapS.
  Reply rotateSecret(const std::string& tenant_id, const std::string& id,
                     const std::string& request_hash, const std::string& idempotency_key);
  /// `body` has passed schema subscription_recover: re-queues one delivery per matching event
  /// created at or after `since`.
  Reply recover(const std::string& tenant_id, const std::string& id,
                const rapidjson::Document& body, const std::string& request_hash,
                const std::string& idempotency_key);
  /// Delivery attempts, newest first.
  Reply attempts(const std::string& tenant_id, const std::string& id, int limit,
                 const std::string& starting_after);

  static constexpr int kRotationOverlapS = 24 * 3600;

 private:
  const crypto::SecretBox& box() const;
  /// Runs `fn(txn)` (which builds the reply) under the idempotency key, in one transaction.
  template <typename Fn>
  Reply idempotent(const std::string& tenant_id, const std::string& request_hash,
                   const std::string& idempotency_key, Fn&& fn);

  store::Pool& pool_;
  const config::DeliveryConfig& config_;
  DestinationPolicy policy_;
  std::optional<crypto::SecretBox> box_;
};

}  // namespace paymux::engine
