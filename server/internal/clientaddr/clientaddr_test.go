package clientaddr_test

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"

	"github.com/aftersales/aftersales/server/internal/clientaddr"
)

var trusted = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}

// forwarding is one request as a server sees it: the address of the
// connection and the X-Forwarded-For values.
type forwarding struct {
	name      string
	remote    string
	forwarded []string
	want      string
}

var forwardings = []forwarding{
	{name: "no proxy", remote: "198.51.100.1:4000", want: "198.51.100.1"},
	{name: "untrusted peer: the header is ignored", remote: "198.51.100.1:4000", forwarded: []string{"203.0.113.7"}, want: "198.51.100.1"},
	{name: "trusted proxy", remote: "10.0.0.2:4000", forwarded: []string{"203.0.113.7"}, want: "203.0.113.7"},
	{name: "trusted proxy without the header", remote: "10.0.0.2:4000", want: "10.0.0.2"},
	{
		name: "what the client wrote left of the proxy's entry is ignored", remote: "10.0.0.2:4000",
		forwarded: []string{"192.0.2.66, 203.0.113.7"}, want: "203.0.113.7",
	},
	{
		name: "two trusted proxies in a row", remote: "10.0.0.2:4000",
		forwarded: []string{"192.0.2.66, 203.0.113.7, 10.9.9.9"}, want: "203.0.113.7",
	},
	{
		name: "several header lines are one list", remote: "10.0.0.2:4000",
		forwarded: []string{"192.0.2.66", "203.0.113.7"}, want: "203.0.113.7",
	},
	{name: "every hop trusted: the leftmost", remote: "10.0.0.2:4000", forwarded: []string{"10.1.1.1, 10.2.2.2"}, want: "10.1.1.1"},
	{name: "garbage from the proxy: the proxy", remote: "10.0.0.2:4000", forwarded: []string{"203.0.113.7, unknown"}, want: "10.0.0.2"},
	{name: "an entry with a port", remote: "10.0.0.2:4000", forwarded: []string{"203.0.113.7:5555"}, want: "203.0.113.7"},
	{name: "IPv6", remote: "[2001:db8:1::5]:4000", forwarded: []string{"2001:db8:2::7"}, want: "2001:db8:2::7"},
	{name: "IPv4-mapped peer", remote: "[::ffff:10.0.0.2]:4000", forwarded: []string{"::ffff:203.0.113.7"}, want: "203.0.113.7"},
	{name: "not an IP peer", remote: "@", want: "invalid IP"},
}

func TestFromRequest(t *testing.T) {
	r := clientaddr.New(trusted)
	for _, tt := range forwardings {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "http://example.test/", nil)
			require.NoError(t, err)
			req.RemoteAddr = tt.remote
			for _, v := range tt.forwarded {
				req.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, tt.want, r.FromRequest(req).String())
		})
	}
}

// grpcContext is the server-side context of a call from remote with
// metadata md.
func grpcContext(t *testing.T, remote string, md metadata.MD) context.Context {
	t.Helper()
	addr, err := net.ResolveTCPAddr("tcp", remote)
	require.NoError(t, err)
	return metadata.NewIncomingContext(peer.NewContext(context.Background(), &peer.Peer{Addr: addr}), md)
}

func TestFromContext(t *testing.T) {
	r := clientaddr.New(trusted)
	for _, tt := range forwardings {
		if tt.remote == "@" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			md := metadata.MD{}
			for _, v := range tt.forwarded {
				md.Append("x-forwarded-for", v)
			}
			require.Equal(t, tt.want, r.FromContext(grpcContext(t, tt.remote, md)).String())
		})
	}
	require.False(t, r.FromContext(context.Background()).IsValid(), "no peer, no address")
}

// TestGateway: the gateway's calls carry the HTTP client's address, which
// only a call with this process's token can claim.
func TestGateway(t *testing.T) {
	r := clientaddr.New(trusted)
	req, err := http.NewRequest(http.MethodGet, "http://example.test/", nil)
	require.NoError(t, err)
	req.RemoteAddr = "10.0.0.2:4000"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	md := r.GatewayMetadata(context.Background(), req)

	// The gateway reaches the gRPC server over loopback, and the gateway
	// library adds an X-Forwarded-For of its own; neither counts.
	md.Set("x-forwarded-for", "203.0.113.7, 10.0.0.2")
	require.Equal(t, "203.0.113.7", r.FromContext(grpcContext(t, "127.0.0.1:5000", md)).String())

	req.RemoteAddr = "198.51.100.1:4000"
	md = r.GatewayMetadata(context.Background(), req)
	require.Equal(t, "198.51.100.1", r.FromContext(grpcContext(t, "127.0.0.1:5000", md)).String(),
		"the header from an untrusted HTTP client is ignored")

	// Another process's token, or a second value next to the right one,
	// vouches for nothing: the address is the peer's.
	forged := clientaddr.New(trusted).GatewayMetadata(context.Background(), req)
	require.Equal(t, "127.0.0.1", r.FromContext(grpcContext(t, "127.0.0.1:5000", forged)).String())
	two := metadata.Join(md, forged)
	require.Equal(t, "127.0.0.1", r.FromContext(grpcContext(t, "127.0.0.1:5000", two)).String())
}
