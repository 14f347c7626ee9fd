package webhook_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeResolver returns a resolver answering from zone, a map from host
// name to addresses, through a DNS server on loopback. Names not in zone
// are NXDOMAIN, and the name "servfail.test" fails with SERVFAIL.
func fakeResolver(t *testing.T, zone map[string][]string) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			if resp := dnsAnswer(buf[:n], zone); resp != nil {
				_, _ = pc.WriteTo(resp, from)
			}
		}
	}()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", pc.LocalAddr().String())
		},
	}
}

// noDNS is a resolver that fails every query, for cases that must not
// need DNS.
var noDNS = &net.Resolver{
	PreferGo: true,
	Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no DNS in this test")
	},
}

// dnsAnswer answers the DNS query q from zone, or returns nil if q is not
// one it understands. It handles just what Go's resolver sends: one
// question, for A or AAAA records.
func dnsAnswer(q []byte, zone map[string][]string) []byte {
	const (
		typeA    = 1
		typeAAAA = 28
	)
	if len(q) < 12 {
		return nil
	}
	i := 12
	var labels []string
	for i < len(q) && q[i] != 0 {
		n := int(q[i])
		if n > 63 || i+1+n > len(q) {
			return nil
		}
		labels = append(labels, string(q[i+1:i+1+n]))
		i += 1 + n
	}
	i++ // the root label
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	var rcode byte // NOERROR
	var answers []netip.Addr
	addrs, ok := zone[name]
	switch {
	case name == "servfail.test":
		rcode = 2
	case !ok:
		rcode = 3 // NXDOMAIN
	}
	for _, a := range addrs {
		ip := netip.MustParseAddr(a)
		if (qtype == typeA && ip.Is4()) || (qtype == typeAAAA && ip.Is6()) {
			answers = append(answers, ip)
		}
	}

	// Header: the query's id; response, authoritative, recursion desired
	// and available; one question.
	resp := []byte{q[0], q[1], 0x85, 0x80 | rcode, 0, 1, 0, byte(len(answers)), 0, 0, 0, 0}
	resp = append(resp, question...)
	for _, ip := range answers {
		rdata := ip.AsSlice()
		resp = append(resp, 0xc0, 12) // the name, as a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = append(resp, 0, 1, 0, 0, 0, 60) // class IN, TTL 60s
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp
}
