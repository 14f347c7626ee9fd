package auth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/clientaddr"
)

// throttled returns an Authenticator on a fresh SQLite database whose
// throttle allows failures per minute per address and tracks at most
// maxAddrs addresses. The address of a call is its gRPC peer.
func throttled(t *testing.T, failures, maxAddrs int) (*fixture, *auth.Throttle) {
	t.Helper()
	f := newFixture(t, "sqlite", nil)
	th := auth.NewThrottle(auth.ThrottleConfig{
		Failures:   failures,
		Window:     time.Minute,
		MaxAddrs:   maxAddrs,
		ClientAddr: clientaddr.New(nil).FromContext,
		Now:        f.db.Now,
		Logger:     slog.New(slog.NewTextHandler(f.logs, nil)),
	})
	f.authn = auth.NewAuthenticator(f.db, nil, slog.New(slog.NewTextHandler(f.logs, nil)), auth.WithThrottle(th))
	return f, th
}

// peerAt is a gRPC peer at addr.
func peerAt(addr string) *peer.Peer {
	return &peer.Peer{Addr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(addr), 4000))}
}

// from is withKey(key) for a call from addr.
func from(addr, key string) context.Context {
	return peer.NewContext(withKey(key), peerAt(addr))
}

// TestThrottleIPv6ByPrefix: IPv6 addresses count by /64, so a host cannot
// escape the throttle by walking through its own block.
func TestThrottleIPv6ByPrefix(t *testing.T) {
	f, _ := throttled(t, 3, 0)
	for i := range 3 {
		_, err := f.authn.Authenticate(from(fmt.Sprintf("2001:db8:0:7::%x", i+1), "ask_nope"))
		requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS)
	}
	_, err := f.authn.Authenticate(from("2001:db8:0:7:ffff::1", "ask_nope"))
	requireCode(t, err, codes.ResourceExhausted, aftersalesv1.ErrorReason_RATE_LIMITED, "the same /64")
	_, err = f.authn.Authenticate(from("2001:db8:0:8::1", "ask_nope"))
	requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, "the next /64")
}

// TestThrottleBoundedMemory: failures sprayed from many addresses keep at
// most MaxAddrs of them, and the throttle keeps working.
func TestThrottleBoundedMemory(t *testing.T) {
	f, th := throttled(t, 1, 64)
	for i := range 2000 {
		addr := fmt.Sprintf("10.%d.%d.1", i/256, i%256)
		_, err := f.authn.Authenticate(from(addr, "ask_nope"))
		require.Equal(t, codes.Unauthenticated, status.Code(err))
		require.LessOrEqual(t, th.Addrs(), 64)
	}
	_, err := f.authn.Authenticate(from("192.0.2.1", "ask_nope"))
	require.Equal(t, codes.Unauthenticated, status.Code(err))
	_, err = f.authn.Authenticate(from("192.0.2.1", "ask_nope"))
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "the newest address is tracked")
}

// TestThrottleCountsOnlyBadCredentials: a valid key asking for what it
// may not do (a delegation) is not a failed authentication.
func TestThrottleCountsOnlyBadCredentials(t *testing.T) {
	f, th := throttled(t, 1, 0)
	_, key := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
	for range 3 {
		ctx := peer.NewContext(withKey(key, auth.OnBehalfOfMetadataKey, "staff/nobody"), peerAt("192.0.2.1"))
		_, err := f.authn.Authenticate(ctx)
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
	}
	require.Zero(t, th.Addrs(), "nothing counted")
	_, err := f.authn.Authenticate(from("192.0.2.1", "ask_nope"))
	requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, "the first failure")
	_, err = f.authn.Authenticate(from("192.0.2.1", "ask_nope"))
	requireCode(t, err, codes.ResourceExhausted, aftersalesv1.ErrorReason_RATE_LIMITED)
}
