#include "services/engine/subscriptions.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace paymux::engine {
namespace {

sockaddr_storage address(const std::string& ip) {
  sockaddr_storage s{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    return s;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
  EXPECT_EQ(inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr), 1) << ip;
  v6->sin6_family = AF_INET6;
  return s;
}

bool isPrivate(const std::string& ip) {
  auto s = address(ip);
  return DestinationPolicy::isPrivateAddress(reinterpret_cast<sockaddr*>(&s));
}

TEST(DestinationPolicy, ClassifiesPrivateAndPublicAddresses) {
  for (const char* ip :
       {"127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1",
        "169.254.169.254", "0.0.0.0", "100.64.0.1", "::1", "::", "fc00::1", "fd12:3456::1",
        "fe80::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "224.0.0.1"}) {
    EXPECT_TRUE(isPrivate(ip)) << ip;
  }
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
                         "2001:db8::1", "2606:4700::1111", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(isPrivate(ip)) << ip;
  }
}

TEST(DestinationPolicy, HostOfNormalisesTheUrl) {
  EXPECT_EQ(DestinationPolicy::hostOf("https://Hooks.Example.COM:8443/a?b#c"), "hooks.example.com");
  EXPECT_EQ(DestinationPolicy::hostOf("http://[::1]:80/x"), "::1");
  EXPECT_EQ(DestinationPolicy::hostOf("not a url"), "");
}

TEST(DestinationPolicy, PrivateNetworksNeedPermission) {
  config::DeliveryConfig c;
  c.allow_private_networks = false;
  DestinationPolicy strict(c);
  EXPECT_EQ(strict.checkUrl("https://hooks.example.com/x"), "");
  EXPECT_NE(strict.checkUrl("http://127.0.0.1/x"), "");
  EXPECT_NE(strict.checkUrl("http://LOCALHOST/x"), "");
  EXPECT_NE(strict.checkUrl("http://[::1]/x"), "");
  EXPECT_NE(strict.checkUrl("ftp://example.com/x"), "");
  EXPECT_NE(strict.checkUrl("https://u:p@example.com/x"), "");
  // Connect-time: a public name resolving to a private address is refused.
  auto loop = address("127.0.0.1");
  auto pub = address("93.184.216.34");
  EXPECT_FALSE(strict.addressAllowed("rebind.example.com", reinterpret_cast<sockaddr*>(&loop)));
  EXPECT_TRUE(strict.addressAllowed("hooks.example.com", reinterpret_cast<sockaddr*>(&pub)));

  c.allow_private_networks = true;
  DestinationPolicy local(c);
  EXPECT_EQ(local.checkUrl("http://127.0.0.1:9000/x"), "");
  EXPECT_TRUE(local.addressAllowed("localhost", reinterpret_cast<sockaddr*>(&loop)));
}

TEST(DestinationPolicy, AllowHostsNamesWildcardsAndCidrs) {
  config::DeliveryConfig c;
  c.allow_hosts = {"hooks.example.com", "*.partner.example", "10.20.0.0/16", "2001:db8::/32"};
  DestinationPolicy policy(c);
  EXPECT_EQ(policy.checkUrl("https://hooks.example.com/x"), "");
  EXPECT_EQ(policy.checkUrl("https://a.b.partner.example/x"), "");
  EXPECT_NE(policy.checkUrl("https://partner.example/x"), "");
  EXPECT_NE(policy.checkUrl("https://xpartner.example/x"), "");
  EXPECT_EQ(policy.checkUrl("http://10.20.255.1/x"), "");
  EXPECT_NE(policy.checkUrl("http://10.21.0.1/x"), "");
  EXPECT_EQ(policy.checkUrl("http://[2001:db8:1::5]/x"), "");
  EXPECT_NE(policy.checkUrl("https://example.org/x"), "");
  auto inside = address("10.20.1.1");
  auto outside = address("10.30.1.1");
  EXPECT_TRUE(policy.addressAllowed("10.20.1.1", reinterpret_cast<sockaddr*>(&inside)));
  EXPECT_FALSE(policy.addressAllowed("10.30.1.1", reinterpret_cast<sockaddr*>(&outside)));
  // A named host is the operator's explicit choice, whatever it resolves to.
  EXPECT_TRUE(policy.addressAllowed("hooks.example.com", reinterpret_cast<sockaddr*>(&outside)));
}

}  // namespace
}  // namespace paymux::engine
