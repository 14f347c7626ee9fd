package interceptors_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/interceptors"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// manualClock is a clock the test moves by hand. It is locked because the
// gRPC server reads it from its own goroutines.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock {
	return &manualClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// requireAllows checks that key may make exactly n calls now.
func requireAllows(t *testing.T, l *interceptors.RateLimiter, key string, n int) {
	t.Helper()
	for i := range n {
		_, ok := l.Allow(context.Background(), key)
		require.True(t, ok, "%s call %d of %d", key, i+1, n)
	}
	_, ok := l.Allow(context.Background(), key)
	require.False(t, ok, "%s call %d", key, n+1)
}

func TestRateLimiterBurstThenRefill(t *testing.T) {
	clock := newManualClock()
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 2, Burst: 3}, clock.Now)

	requireAllows(t, l, "staff/a", 3)
	wait, ok := l.Allow(context.Background(), "staff/a")
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait, "one token takes 1/rate")

	clock.Advance(499 * time.Millisecond)
	wait, ok = l.Allow(context.Background(), "staff/a")
	require.False(t, ok)
	require.Equal(t, time.Millisecond, wait, "the hint counts down and rounds up")

	clock.Advance(time.Millisecond)
	requireAllows(t, l, "staff/a", 1)

	// A long idle period refills to the burst, not beyond.
	clock.Advance(time.Hour)
	requireAllows(t, l, "staff/a", 3)
}

func TestRateLimiterSeparatePrincipals(t *testing.T) {
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 2}, newManualClock().Now)
	requireAllows(t, l, "staff/a", 2)
	requireAllows(t, l, "partners/p1", 2)
	requireAllows(t, l, "staff/b", 2)
}

func TestRateLimiterBurstAtLeastOne(t *testing.T) {
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1}, newManualClock().Now)
	requireAllows(t, l, "staff/a", 1)
}

func TestRateLimiterDisabled(t *testing.T) {
	for _, perSecond := range []float64{0, -1} {
		l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: perSecond, Burst: 1}, newManualClock().Now)
		require.False(t, l.Enabled())
		for range 1000 {
			_, ok := l.Allow(context.Background(), "staff/a")
			require.True(t, ok)
		}
		require.Zero(t, l.Len(), "a disabled limiter keeps no buckets")
	}
}

func TestRateLimiterEviction(t *testing.T) {
	t.Run("bounded", func(t *testing.T) {
		l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 1, MaxKeys: 8}, newManualClock().Now)
		for i := range 1000 {
			_, ok := l.Allow(context.Background(), fmt.Sprintf("customers/c%d", i))
			require.True(t, ok)
			require.LessOrEqual(t, l.Len(), 8)
		}
	})

	t.Run("full buckets go first", func(t *testing.T) {
		clock := newManualClock()
		l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 2, MaxKeys: 4}, clock.Now)
		requireAllows(t, l, "staff/hot", 2)
		for _, key := range []string{"staff/a", "staff/b", "staff/c"} {
			_, ok := l.Allow(context.Background(), key)
			require.True(t, ok)
		}
		// a, b and c are full again; hot has one of its two tokens.
		clock.Advance(time.Second)
		_, ok := l.Allow(context.Background(), "staff/d")
		require.True(t, ok)
		require.Equal(t, 2, l.Len(), "the sweep dropped the full buckets only")
		requireAllows(t, l, "staff/hot", 1)
	})
}

func TestRateLimiterAnonymousByPeer(t *testing.T) {
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 1}, newManualClock().Now)
	intercept := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/" + rateLimitTestService + "/Echo"}
	handler := func(context.Context, any) (any, error) { return "ok", nil }
	call := func(ip string, port int) error {
		ctx := peer.NewContext(context.Background(), &peer.Peer{Addr: &net.TCPAddr{IP: net.ParseIP(ip), Port: port}})
		_, err := intercept(ctx, nil, info, handler)
		return err
	}

	require.NoError(t, call("192.0.2.1", 1000))
	require.Equal(t, codes.ResourceExhausted, status.Code(call("192.0.2.1", 2000)), "another connection from the same address")
	require.NoError(t, call("192.0.2.2", 1000), "another address")

	_, err := intercept(context.Background(), nil, info, handler)
	require.NoError(t, err, "without a peer all anonymous callers share one bucket")
}

// streamWithContext is a server stream that only has a context.
type streamWithContext struct {
	grpc.ServerStream
	ctx context.Context
}

func (s streamWithContext) Context() context.Context { return s.ctx }

func TestRateLimiterStream(t *testing.T) {
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1, Burst: 1}, newManualClock().Now)
	intercept := l.StreamServerInterceptor()
	ss := streamWithContext{ctx: principal.NewContext(context.Background(), principal.Principal{Kind: principal.Staff, Name: "staff/a"})}
	var opened int
	handler := func(any, grpc.ServerStream) error { opened++; return nil }

	info := &grpc.StreamServerInfo{FullMethod: "/" + rateLimitTestService + "/Watch"}
	require.NoError(t, intercept(nil, ss, info, handler))
	err := intercept(nil, ss, info, handler)
	require.Equal(t, codes.ResourceExhausted, status.Code(err))
	require.Equal(t, 1, opened)

	healthInfo := &grpc.StreamServerInfo{FullMethod: "/grpc.health.v1.Health/Watch"}
	require.NoError(t, intercept(nil, ss, healthInfo, handler), "health checks are exempt")
}

// rateLimitTestService is a gRPC service that exists only in this test,
// with one method that echoes its request.
const rateLimitTestService = "aftersales.test.v1.RateLimitTestService"

// testActorKey is the request metadata key that names the caller in
// TestRateLimitOverGRPC, standing in for real authentication.
const testActorKey = "x-test-actor"

// actorFromTestHeader stands in for the principal interceptor: it names
// the caller from testActorKey.
func actorFromTestHeader(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if v := metadata.ValueFromIncomingContext(ctx, testActorKey); len(v) == 1 {
		p, err := principal.Parse(v[0])
		if err != nil {
			return nil, err
		}
		ctx = principal.NewContext(ctx, p)
	}
	return handler(ctx, req)
}

// echoMethod is the Echo method of rateLimitTestService, written the way
// generated code writes it so that the interceptors see a real call.
var echoMethod = grpc.MethodDesc{
	MethodName: "Echo",
	Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
		req := &wrapperspb.StringValue{}
		if err := dec(req); err != nil {
			return nil, err
		}
		info := &grpc.UnaryServerInfo{FullMethod: "/" + rateLimitTestService + "/Echo"}
		return ic(ctx, req, info, func(_ context.Context, req any) (any, error) { return req, nil })
	},
}

// TestRateLimitOverGRPC checks the error a client receives: its code,
// reason and retry hint must survive the wire.
func TestRateLimitOverGRPC(t *testing.T) {
	clock := newManualClock()
	l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 2, Burst: 2}, clock.Now)

	s := grpc.NewServer(grpc.ChainUnaryInterceptor(actorFromTestHeader, l.UnaryServerInterceptor()))
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: rateLimitTestService,
		HandlerType: (*any)(nil),
		Methods:     []grpc.MethodDesc{echoMethod},
	}, struct{}{})
	healthpb.RegisterHealthServer(s, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })

	call := func(actor string) error {
		ctx := metadata.AppendToOutgoingContext(context.Background(), testActorKey, actor)
		return conn.Invoke(ctx, "/"+rateLimitTestService+"/Echo", wrapperspb.String("hi"), &wrapperspb.StringValue{})
	}

	require.NoError(t, call("staff/a"))
	require.NoError(t, call("staff/a"))
	err = call("staff/a")
	st := status.Convert(err)
	require.Equal(t, codes.ResourceExhausted, st.Code())
	require.Equal(t, aftersalesv1.ErrorReason_RATE_LIMITED, apierr.Reason(err))
	require.Equal(t, "rate limit exceeded; retry after 500ms", st.Message())
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "details: %v", st.Details())
	require.Equal(t, 500*time.Millisecond, retry.GetRetryDelay().AsDuration())

	require.NoError(t, call("staff/b"), "another principal has its own bucket")

	hc := healthpb.NewHealthClient(conn)
	for range 10 {
		_, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		require.NoError(t, err, "health checks are exempt")
	}

	clock.Advance(retry.GetRetryDelay().AsDuration())
	require.NoError(t, call("staff/a"), "retrying after the hint succeeds")
}

// BenchmarkRateLimiterAllow measures the hot path under contention: every
// goroutine calls for principals that already have a bucket.
func BenchmarkRateLimiterAllow(b *testing.B) {
	for _, principals := range []int{1, 1000} {
		b.Run(fmt.Sprintf("principals=%d", principals), func(b *testing.B) {
			// A limit no benchmark reaches, so that every call takes the
			// allow path and none is refused early.
			l := interceptors.NewRateLimiter(interceptors.RateLimit{PerSecond: 1e12, Burst: 1 << 30}, nil)
			keys := make([]string, principals)
			for i := range keys {
				keys[i] = fmt.Sprintf("staff/s%d", i)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(1))
				for pb.Next() {
					l.Allow(context.Background(), keys[i%len(keys)])
					i++
				}
			})
		})
	}
}
