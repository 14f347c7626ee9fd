package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/config"
)

// The throttle tests call from several loopback addresses: Linux routes
// all of 127.0.0.0/8 to lo, so a client can bind any of them as its
// source. proxyAddr is the one configured as a trusted proxy.
const (
	attackerAddr = "127.0.0.2"
	otherAddr    = "127.0.0.3"
	proxyAddr    = "127.0.0.9"
)

// throttleApp is an app whose throttle allows 3 failures a minute per
// address, on a clock the test moves, with clients on several source
// addresses.
type throttleApp struct {
	*testApp
	clock *manualClock

	mu    sync.Mutex
	conns map[string]*grpc.ClientConn
	https map[string]*http.Client
}

const (
	throttleFailures = 3
	throttleWindow   = time.Minute
	// throttleRefill is how long an address waits for one more attempt.
	throttleRefill = throttleWindow / throttleFailures
)

func startThrottled(t *testing.T, mutate ...func(*config.Config)) *throttleApp {
	t.Helper()
	clock := &manualClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ta := start(t, func(c *config.Config) {
		c.AuthFailureLimit = throttleFailures
		c.AuthFailureWindow = throttleWindow
		c.TrustedProxies = config.Prefixes{netip.MustParsePrefix(proxyAddr + "/32")}
		c.RateLimit = 0 // the clock stands still between the steps
		for _, m := range mutate {
			m(c)
		}
	}, app.WithNow(clock.Now))
	tp := &throttleApp{testApp: ta, clock: clock, conns: map[string]*grpc.ClientConn{}, https: map[string]*http.Client{}}
	t.Cleanup(func() {
		for _, c := range tp.conns {
			_ = c.Close()
		}
		for _, c := range tp.https {
			c.CloseIdleConnections()
		}
	})
	return tp
}

// dialer connects from source address from.
func dialer(from string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
}

// grpcFrom returns a connection to the gRPC server from source address from.
func (tp *throttleApp) grpcFrom(t *testing.T, from string) *grpc.ClientConn {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if c, ok := tp.conns[from]; ok {
		return c
	}
	c, err := grpc.NewClient(tp.GRPCAddr(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dialer(from).DialContext(ctx, "tcp", addr)
		}))
	require.NoError(t, err)
	tp.conns[from] = c
	return c
}

// httpFrom returns an HTTP client that connects from source address from.
func (tp *throttleApp) httpFrom(from string) *http.Client {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if c, ok := tp.https[from]; ok {
		return c
	}
	c := &http.Client{Transport: &http.Transport{DialContext: dialer(from).DialContext}}
	tp.https[from] = c
	return c
}

// outcome is what a call got: its code, and the retry delay when refused.
type outcome struct {
	code  codes.Code
	retry time.Duration
}

// call is one authenticated call, ListStaff, over one transport from
// source address from with credential key and, when not empty, an
// X-Forwarded-For.
type call func(t *testing.T, tp *throttleApp, from, xff, key string) outcome

func viaGRPC(t *testing.T, tp *throttleApp, from, xff, key string) outcome {
	t.Helper()
	md := metadata.MD{}
	if key != "" {
		md.Set("authorization", bearer(key))
	}
	if xff != "" {
		md.Set("x-forwarded-for", xff)
	}
	ctx := metadata.NewOutgoingContext(context.Background(), md)
	_, err := aftersalesv1.NewStaffServiceClient(tp.grpcFrom(t, from)).ListStaff(ctx, &aftersalesv1.ListStaffRequest{})
	out := outcome{code: status.Code(err)}
	if out.code == codes.ResourceExhausted {
		require.Equal(t, aftersalesv1.ErrorReason_RATE_LIMITED, apierr.Reason(err))
		for _, d := range status.Convert(err).Details() {
			if r, ok := d.(*errdetails.RetryInfo); ok {
				out.retry = r.GetRetryDelay().AsDuration()
			}
		}
		require.NotZero(t, out.retry, "a refusal says when to retry")
	}
	return out
}

// httpCodes maps the HTTP statuses the JSON calls get to gRPC codes.
var httpCodes = map[int]codes.Code{
	http.StatusOK:              codes.OK,
	http.StatusUnauthorized:    codes.Unauthenticated,
	http.StatusTooManyRequests: codes.ResourceExhausted,
}

func viaJSON(t *testing.T, tp *throttleApp, from, xff, key string) outcome {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, tp.baseURL+"/v1/staff", nil)
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", bearer(key))
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := tp.httpFrom(from).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Details []struct {
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	code, ok := httpCodes[resp.StatusCode]
	require.True(t, ok, "unexpected HTTP status %d", resp.StatusCode)
	out := outcome{code: code}
	if code == codes.ResourceExhausted {
		require.NotEmpty(t, resp.Header.Get("Retry-After"))
		for _, d := range body.Details {
			if d.RetryDelay != "" {
				out.retry, err = time.ParseDuration(d.RetryDelay)
				require.NoError(t, err)
			}
		}
		require.NotZero(t, out.retry, "a refusal says when to retry")
	}
	return out
}

var transports = []struct {
	name string
	call call
}{{"grpc", viaGRPC}, {"json", viaJSON}}

// badKey is a well-formed key that does not exist; each n is another.
func badKey(n int) string {
	return fmt.Sprintf("%s%026d_%043d", auth.KeyPrefix, n, n)
}

// exhaust makes the throttle's allowance of failures from from (as seen
// through xff) and checks they were answered UNAUTHENTICATED.
func exhaust(t *testing.T, tp *throttleApp, call call, from, xff string) {
	t.Helper()
	for i := range throttleFailures {
		require.Equal(t, codes.Unauthenticated, call(t, tp, from, xff, badKey(i)).code, "failure %d from %s (%s)", i+1, from, xff)
	}
}

// TestAuthThrottle: failures from one address get that address throttled,
// over gRPC and JSON alike; valid callers are not delayed; the throttle
// lifts a step at a time on the clock.
func TestAuthThrottle(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tp := startThrottled(t)
			call := tr.call
			admin := tp.BootstrapKey()
			// The admin key works, and so becomes a credential seen working.
			require.Equal(t, codes.OK, call(t, tp, otherAddr, "", admin).code)
			// A key that works but has not been used yet.
			fresh, err := aftersalesv1.NewApiKeyServiceClient(tp.conn).CreateApiKey(tp.admin(), &aftersalesv1.CreateApiKeyRequest{
				ApiKey: &aftersalesv1.ApiKey{DisplayName: "fresh", ServiceRole: aftersalesv1.Staff_MANAGER},
			})
			require.NoError(t, err)

			exhaust(t, tp, call, attackerAddr, "")
			got := call(t, tp, attackerAddr, "", badKey(0))
			require.Equal(t, codes.ResourceExhausted, got.code, "throttled")
			require.Equal(t, throttleRefill, got.retry, "one more attempt every window/limit")
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "", badKey(99)).code,
				"a new guess is refused unchecked too: no answer tells a hit from a miss")

			// Valid callers. Elsewhere nothing changed, for a new key too.
			require.Equal(t, codes.OK, call(t, tp, otherAddr, "", admin).code)
			require.Equal(t, codes.Unauthenticated, call(t, tp, otherAddr, "", badKey(0)).code, "another address has its own allowance")
			// From the throttled address (a NAT the attacker shares), a
			// credential seen working passes; one not seen yet waits.
			require.Equal(t, codes.OK, call(t, tp, attackerAddr, "", admin).code)
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "", fresh.GetSecret()).code)
			require.Equal(t, codes.OK, call(t, tp, otherAddr, "", fresh.GetSecret()).code)
			require.Equal(t, codes.OK, call(t, tp, attackerAddr, "", fresh.GetSecret()).code, "seen working now")
			// Calls without credentials fail as always, and health is open.
			require.Equal(t, codes.Unauthenticated, call(t, tp, attackerAddr, "", "").code)
			_, err = healthpb.NewHealthClient(tp.grpcFrom(t, attackerAddr)).Check(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)

			// One more attempt after window/limit, all of them after a
			// window.
			tp.clock.Advance(throttleRefill - time.Millisecond)
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "", badKey(0)).code)
			tp.clock.Advance(time.Millisecond)
			require.Equal(t, codes.Unauthenticated, call(t, tp, attackerAddr, "", badKey(0)).code)
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "", badKey(0)).code)
			tp.clock.Advance(throttleWindow)
			exhaust(t, tp, call, attackerAddr, "")
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "", badKey(0)).code)

			// Counted, and the moments the address got throttled logged
			// as warnings naming it.
			code, metrics := tp.get(t, "/metrics")
			require.Equal(t, http.StatusOK, code)
			require.Contains(t, metrics, fmt.Sprintf("aftersales_auth_failures_total %d", 2*throttleFailures+2))
			require.Contains(t, metrics, "aftersales_auth_throttled_total 6")
			warnings := tp.logLines(t, "authentication failures throttled")
			require.Len(t, warnings, 3)
			for _, w := range warnings {
				require.Equal(t, "WARN", w["level"])
				require.Equal(t, attackerAddr, w["client_addr"])
			}
			require.NotEmpty(t, tp.logLines(t, "authentication failed"), "each failure is logged")
			for _, l := range tp.logLines(t, "authentication failed") {
				require.Contains(t, []any{attackerAddr, otherAddr}, l["client_addr"], "JSON clients are not the gateway's loopback address")
			}
		})
	}
}

// TestAuthThrottleAcrossTransports: an address is one address whichever
// way it calls.
func TestAuthThrottleAcrossTransports(t *testing.T) {
	tp := startThrottled(t)
	exhaust(t, tp, viaJSON, attackerAddr, "")
	require.Equal(t, codes.ResourceExhausted, viaGRPC(t, tp, attackerAddr, "", badKey(0)).code)
	require.Equal(t, codes.Unauthenticated, viaGRPC(t, tp, otherAddr, "", badKey(0)).code)
}

// TestAuthThrottleForwardedFor: X-Forwarded-For names the client only when
// the peer is a trusted proxy.
func TestAuthThrottleForwardedFor(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			tp := startThrottled(t)
			call := tr.call

			// From an untrusted peer the header is ignored: changing it
			// does not make another client.
			for i := range throttleFailures {
				xff := fmt.Sprintf("203.0.113.%d", 10+i)
				require.Equal(t, codes.Unauthenticated, call(t, tp, attackerAddr, xff, badKey(i)).code)
			}
			require.Equal(t, codes.ResourceExhausted, call(t, tp, attackerAddr, "203.0.113.99", badKey(0)).code)

			// Through the trusted proxy each client is its own.
			exhaust(t, tp, call, proxyAddr, "203.0.113.7")
			require.Equal(t, codes.ResourceExhausted, call(t, tp, proxyAddr, "203.0.113.7", badKey(0)).code)
			require.Equal(t, codes.Unauthenticated, call(t, tp, proxyAddr, "203.0.113.8", badKey(0)).code, "another client behind the proxy")
			require.Equal(t, codes.Unauthenticated, call(t, tp, proxyAddr, "", badKey(0)).code, "the proxy itself")
			// What a client writes in front of the proxy's entry does not
			// get it out of the throttle.
			require.Equal(t, codes.ResourceExhausted, call(t, tp, proxyAddr, "198.51.100.1, 203.0.113.7", badKey(0)).code)

			var throttled []any
			for _, w := range tp.logLines(t, "authentication failures throttled") {
				throttled = append(throttled, w["client_addr"])
			}
			require.ElementsMatch(t, []any{attackerAddr, "203.0.113.7"}, throttled)
		})
	}
}

// TestAuthThrottleOff: with --auth-failure-limit=0 failures are counted
// and nothing is refused.
func TestAuthThrottleOff(t *testing.T) {
	tp := startThrottled(t, func(c *config.Config) { c.AuthFailureLimit = 0 })
	for i := range 3 * config.Default().AuthFailureLimit {
		require.Equal(t, codes.Unauthenticated, viaGRPC(t, tp, "127.0.0.1", "", badKey(i)).code)
	}
	_, metrics := tp.get(t, "/metrics")
	require.Contains(t, metrics, fmt.Sprintf("aftersales_auth_failures_total %d", 3*config.Default().AuthFailureLimit))
	require.Contains(t, metrics, "aftersales_auth_throttled_total 0")
}

// logLines returns the log records with message msg.
func (ta *testApp) logLines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(ta.logs.String()), "\n") {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
