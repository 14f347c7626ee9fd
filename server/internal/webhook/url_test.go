package webhook_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/webhook"
)

func TestCheckURL(t *testing.T) {
	const private = "; the server does not call private, loopback or link-local addresses"
	dns := fakeResolver(t, map[string][]string{
		"public.test":   {"93.184.216.34", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"mixed.test":    {"93.184.216.34", "10.0.0.5"},
		"internal.test": {"10.0.0.5"},
		"v6local.test":  {"fd00::1"},
		"loop.test":     {"2606:2800:21f:cb07:6820:80da:af6b:8b2c", "::1"},
	})

	tests := []struct {
		name         string
		raw          string
		allowPrivate bool
		want         string // the reason, or "" to accept
	}{
		{name: "empty", raw: "", want: "is required"},
		{name: "relative", raw: "/hooks/aftersales", want: "must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales"},
		{name: "no scheme", raw: "shop.example.com/hooks", want: "must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales"},
		{name: "no host", raw: "https:///hooks", want: "must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales"},
		{name: "port only", raw: "https://:443/hooks", want: "must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales"},
		{name: "opaque", raw: "mailto:ops@shop.example.com", want: "must be an absolute URL with a host, such as https://shop.example.com/webhooks/aftersales"},
		{name: "unparsable", raw: "https://93.184.216.34/%zz", want: "is not a valid URL"},
		{name: "too long", raw: "https://93.184.216.34/" + strings.Repeat("a", 2048), want: "must be at most 2048 characters long"},
		{name: "user info", raw: "https://user:pw@93.184.216.34/", want: "must not contain a user name or password"},
		{name: "user name only", raw: "https://user@93.184.216.34/", want: "must not contain a user name or password"},
		{name: "http", raw: "http://93.184.216.34/hook", want: "must be an https URL"},
		{name: "ftp", raw: "ftp://93.184.216.34/hook", want: "must be an https URL"},
		{name: "ftp, private allowed", raw: "ftp://93.184.216.34/hook", allowPrivate: true, want: "must be an http or https URL"},
		{name: "port zero", raw: "https://93.184.216.34:0/hook", want: "must have a port between 1 and 65535"},
		{name: "port too big", raw: "https://93.184.216.34:65536/hook", want: "must have a port between 1 and 65535"},

		{name: "public literal", raw: "https://93.184.216.34/hook"},
		{name: "public literal, max length", raw: "https://93.184.216.34/" + strings.Repeat("a", 2048-len("https://93.184.216.34/"))},
		{name: "public literal with port", raw: "https://93.184.216.34:8443/hook?shop=1"},
		{name: "upper-case scheme", raw: "HTTPS://93.184.216.34/hook"},
		{name: "public IPv6 literal", raw: "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook"},
		{name: "loopback", raw: "https://127.0.0.1/", want: "points at 127.0.0.1, a loopback address" + private},
		{name: "loopback, other", raw: "https://127.1.2.3:8443/", want: "points at 127.1.2.3, a loopback address" + private},
		{name: "IPv6 loopback", raw: "https://[::1]/", want: "points at ::1, a loopback address" + private},
		{name: "mapped loopback", raw: "https://[::ffff:127.0.0.1]/", want: "points at 127.0.0.1, a loopback address" + private},
		{name: "private", raw: "https://10.1.2.3/", want: "points at 10.1.2.3, a private address" + private},
		{name: "private 172.16/12", raw: "https://172.31.0.1/", want: "points at 172.31.0.1, a private address" + private},
		{name: "private 192.168/16", raw: "https://192.168.1.1/", want: "points at 192.168.1.1, a private address" + private},
		{name: "IPv6 unique local", raw: "https://[fd12:3456::1]/", want: "points at fd12:3456::1, a private address" + private},
		{name: "cloud metadata", raw: "https://169.254.169.254/latest/meta-data/", want: "points at 169.254.169.254, a link-local address" + private},
		{name: "IPv6 link-local with zone", raw: "https://[fe80::1%25eth0]/", want: "points at fe80::1%eth0, a link-local address" + private},
		{name: "CGNAT", raw: "https://100.64.0.1/", want: "points at 100.64.0.1, a carrier-grade NAT address" + private},
		{name: "unspecified", raw: "https://0.0.0.0/", want: "points at 0.0.0.0, an unspecified address" + private},
		{name: "multicast", raw: "https://224.0.0.1/", want: "points at 224.0.0.1, a multicast address" + private},
		{name: "NAT64 of private", raw: "https://[64:ff9b::a00:5]/", want: "points at 64:ff9b::a00:5, a private address" + private},

		{name: "private allowed, http loopback", raw: "http://127.0.0.1:1234/x", allowPrivate: true},
		{name: "private allowed, https private", raw: "https://10.1.2.3/", allowPrivate: true},
		{name: "private allowed, still no user info", raw: "http://u:p@127.0.0.1/", allowPrivate: true, want: "must not contain a user name or password"},

		{name: "name, public", raw: "https://public.test/hook"},
		{name: "name, upper case", raw: "https://PUBLIC.test/hook"},
		{name: "name, one private address among public", raw: "https://mixed.test/hook", want: "resolves to 10.0.0.5, a private address" + private},
		{name: "name, private", raw: "https://internal.test/hook", want: "resolves to 10.0.0.5, a private address" + private},
		{name: "name, IPv6 private", raw: "https://v6local.test/hook", want: "resolves to fd00::1, a private address" + private},
		{name: "name, IPv6 loopback among public", raw: "https://loop.test/hook", want: "resolves to ::1, a loopback address" + private},
		{name: "name, private allowed", raw: "http://internal.test/hook", allowPrivate: true},
		{name: "name does not exist", raw: "https://nowhere.test/hook", want: "has host nowhere.test, which does not resolve to an address"},
		{name: "name does not exist, private allowed", raw: "https://nowhere.test/hook", allowPrivate: true, want: "has host nowhere.test, which does not resolve to an address"},
		{name: "DNS failure", raw: "https://servfail.test/hook", want: "has host servfail.test, which could not be resolved; try again later"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resolver := noDNS // IP literals must not need DNS
			if strings.Contains(tc.raw, ".test") {
				resolver = dns
			}
			err := webhook.CheckURL(context.Background(), tc.raw, tc.allowPrivate, resolver)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			var urlErr *webhook.URLError
			require.ErrorAs(t, err, &urlErr)
			require.Equal(t, tc.want, urlErr.Reason)
			require.Equal(t, tc.want, err.Error())
		})
	}
}

func TestIsPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"93.184.216.34", true},
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above
		{"172.15.255.255", true}, // just below 172.16/12
		{"172.32.0.0", true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"::ffff:93.184.216.34", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8

		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.0.1", false},
		{"::ffff:10.1.2.3", false},
		{"fc00::1", false},
		{"fdff:ffff::1", false},
		{"169.254.169.254", false},
		{"::ffff:169.254.169.254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"0.0.0.0", false},
		{"::", false},
		{"0.1.2.3", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"::ffff:100.64.0.1", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"2001:db8::1", false},
		{"::127.0.0.1", false},        // deprecated IPv4-compatible form
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"2002:a00:1::1", false},      // 6to4 of 10.0.0.1
		{"fec0::1", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			require.Equal(t, tc.want, webhook.IsPublicAddr(netip.MustParseAddr(tc.addr)))
		})
	}
	require.False(t, webhook.IsPublicAddr(netip.Addr{}), "the zero Addr")
}
