package webhook

import "net/netip"

// IsPublicAddr reports whether ip is an address the server may call: a
// unicast address on the public internet. It is false for loopback,
// private (RFC 1918, fc00::/7), link-local, unspecified, multicast and
// carrier-grade NAT (100.64.0.0/10) addresses, for the IPv4-mapped IPv6
// forms of those, and for other special-purpose ranges nobody hosts a
// webhook receiver on.
func IsPublicAddr(ip netip.Addr) bool {
	return addrKind(ip) == ""
}

// reserved lists special-purpose ranges that the netip.Addr predicates do
// not cover, with how to describe an address in them.
var reserved = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a reserved address"},              // "this network"; 0.0.0.0 reaches localhost
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"}, // RFC 6598, shared inside a provider
	{netip.MustParsePrefix("192.0.0.0/24"), "a reserved address"},           // IETF protocol assignments
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a reserved address"}, // benchmarking
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},   // includes the broadcast address
	{netip.MustParsePrefix("::/96"), "a reserved address"},         // deprecated IPv4-compatible addresses
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a private address"}, // local-use NAT64, RFC 8215
	{netip.MustParsePrefix("100::/64"), "a reserved address"},      // discard-only
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "a private address"}, // deprecated site-local
}

var (
	// nat64 and sixToFour are IPv6 ranges that carry an IPv4 address a
	// gateway forwards to, so they are only as public as that address.
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// addrKind returns "" for a public address, or else what kind of address
// ip is, such as "a loopback address", for error messages.
func addrKind(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an IP address"
	}
	// A mapped address (::ffff:127.0.0.1) reaches the IPv4 address it
	// maps, and a zone does not change what kind of address it is.
	ip = ip.Unmap().WithZone("")
	switch {
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	for _, r := range reserved {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return addrKind(netip.AddrFrom4([4]byte(b[12:])))
	case sixToFour.Contains(ip):
		return addrKind(netip.AddrFrom4([4]byte(b[2:6])))
	case !ip.IsGlobalUnicast():
		return "a reserved address" // such as 255.255.255.255
	}
	return ""
}
