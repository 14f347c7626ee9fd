// Package clientaddr finds the network address a call comes from: the
// gRPC peer, or the client behind a trusted reverse proxy or the JSON
// gateway.
//
// X-Forwarded-For is honoured only from trusted proxies, configured as
// CIDRs: anyone can send the header, so an address in it means something
// only when a proxy we trust appended it. The list is read from the right,
// where the nearest proxy appended the address it saw, and the client is
// the first address that is not itself a trusted proxy (the "rightmost
// untrusted" rule); everything left of it came from the client and is
// ignored.
//
// The JSON gateway calls this process's gRPC services in process (its
// streams over a Unix socket), so on the gRPC side the peer says nothing
// of the HTTP client. The gateway therefore resolves the address of the
// HTTP request itself and sends it as metadata together with a random
// token that only this process knows; the gRPC side believes the address
// only when the token matches, so no client of the gRPC listener can
// claim an address.
package clientaddr

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// Metadata keys the gateway sets on its calls to the gRPC server. The
// gateway's metadata annotators replace any value a client sent under the
// same key, and the gRPC side wants exactly one value of each.
const (
	gatewayTokenKey = "x-aftersales-gateway-token"
	gatewayAddrKey  = "x-aftersales-client-addr"
	forwardedForKey = "x-forwarded-for"
)

// Resolver finds the client address of gRPC calls and HTTP requests. It is
// safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	// token marks the gateway's own calls; see the package comment.
	token string
}

// New returns a Resolver that honours X-Forwarded-For from the trusted
// proxies.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted, token: rand.Text()}
}

// FromRequest returns the client address of an HTTP request: its remote
// address, or the client behind it when that is a trusted proxy. The zero
// Addr when the remote address is not an IP address.
func (r *Resolver) FromRequest(req *http.Request) netip.Addr {
	return r.behind(parseHostPort(req.RemoteAddr), req.Header.Values("X-Forwarded-For"))
}

// FromContext returns the client address of the gRPC call in ctx: for the
// gateway's calls, the address the gateway resolved; otherwise the peer,
// or the client behind it when the peer is a trusted proxy. The zero Addr
// when there is no IP peer (a Unix socket, a test without a network).
func (r *Resolver) FromContext(ctx context.Context) netip.Addr {
	// ValueFromIncomingContext rather than FromIncomingContext, which
	// copies all the metadata: this runs for every authenticated call.
	if addr, ok := r.fromGateway(ctx); ok {
		return addr
	}
	var from netip.Addr
	if p, ok := peer.FromContext(ctx); ok {
		switch a := p.Addr.(type) {
		case *net.TCPAddr:
			from = normalize(a.AddrPort().Addr())
		case net.Addr:
			from = parseHostPort(a.String())
		}
	}
	return r.behind(from, metadata.ValueFromIncomingContext(ctx, forwardedForKey))
}

// GatewayMetadata is a grpc-gateway metadata annotator
// (runtime.WithMetadata): the client address of req and the token that
// vouches for it.
func (r *Resolver) GatewayMetadata(_ context.Context, req *http.Request) metadata.MD {
	md := metadata.Pairs(gatewayTokenKey, r.token)
	if addr := r.FromRequest(req); addr.IsValid() {
		md.Set(gatewayAddrKey, addr.String())
	}
	return md
}

// fromGateway returns the address the gateway sent, when the call in ctx
// carries the gateway's token.
func (r *Resolver) fromGateway(ctx context.Context) (netip.Addr, bool) {
	tokens := metadata.ValueFromIncomingContext(ctx, gatewayTokenKey)
	if len(tokens) != 1 || subtle.ConstantTimeCompare([]byte(tokens[0]), []byte(r.token)) != 1 {
		return netip.Addr{}, false
	}
	var addr netip.Addr
	if addrs := metadata.ValueFromIncomingContext(ctx, gatewayAddrKey); len(addrs) == 1 {
		addr = parse(addrs[0])
	}
	return addr, true
}

// behind returns the client a request from peer came from: peer itself,
// unless it is a trusted proxy, in which case the rightmost address of
// the X-Forwarded-For values that is not a trusted proxy. When every
// address is trusted, the leftmost; when one does not parse, the trusted
// proxy that appended it, since the client cannot be told.
func (r *Resolver) behind(from netip.Addr, forwarded []string) netip.Addr {
	if !r.isTrusted(from) {
		return from
	}
	// Several header lines count as one list, in order (RFC 7230 §3.2.2).
	var hops []string
	for _, v := range forwarded {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		addr := parse(hops[i])
		if !addr.IsValid() {
			return from
		}
		from = addr
		if !r.isTrusted(from) {
			return from
		}
	}
	return from
}

func (r *Resolver) isTrusted(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// parse reads an X-Forwarded-For entry: an IP address, or host:port as
// some proxies write it.
func parse(s string) netip.Addr {
	s = strings.TrimSpace(s)
	if addr, err := netip.ParseAddr(s); err == nil {
		return normalize(addr)
	}
	return parseHostPort(s)
}

// parseHostPort reads "ip:port", the form of peer and remote addresses.
func parseHostPort(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return normalize(addr)
}

// normalize makes one address one value: an IPv4 address seen on a
// dual-stack socket (::ffff:192.0.2.1) is the IPv4 address, and a zone
// does not make another client.
func normalize(addr netip.Addr) netip.Addr {
	return addr.Unmap().WithZone("")
}
