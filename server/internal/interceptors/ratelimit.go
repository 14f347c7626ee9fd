package interceptors

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/limiter"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// DefaultRateLimitMaxKeys is the number of principals a RateLimiter tracks
// when RateLimit.MaxKeys is zero.
const DefaultRateLimitMaxKeys = limiter.DefaultMaxKeys

// healthPrefix is the method prefix of the gRPC health service, which load
// balancers and orchestrators poll and must never be turned away.
const healthPrefix = "/grpc.health.v1.Health/"

// RateLimit configures per-principal rate limiting.
type RateLimit struct {
	// PerSecond is the sustained number of calls per second each principal
	// may make. Zero or less disables rate limiting.
	PerSecond float64
	// Burst is how many calls a principal may make at once after being
	// idle. Less than 1 counts as 1, since a token bucket that holds no
	// token would reject every call.
	Burst int
	// MaxKeys bounds the number of principals tracked at once in this
	// process; 0 uses DefaultRateLimitMaxKeys.
	MaxKeys int
	// ClientAddr, when set, finds an anonymous caller's address (the HTTP
	// client's behind the JSON gateway, X-Forwarded-For from trusted
	// proxies: clientaddr.Resolver.FromContext); nil uses the TCP peer.
	ClientAddr func(context.Context) netip.Addr
	// Redis, when set, keeps the buckets there, shared by every replica
	// using it, falling back to this process's buckets while it fails;
	// nil keeps them in this process only.
	Redis *limiter.Redis
}

// rateLimitBuckets names the rate limit's buckets in Redis and in the
// fallback metric.
const rateLimitBuckets = "calls"

// RateLimiter limits how often each principal may call, with one token
// bucket per principal. It is safe for concurrent use.
//
// Buckets are keyed by the principal's resource name ("staff/abc",
// "apiKeys/k1"). Anonymous callers (the public price list) are keyed by
// their client address, so that one anonymous client cannot exhaust the
// budget of all others; with RateLimit.ClientAddr that is the HTTP
// client's address for calls through the JSON gateway, which otherwise
// all come from loopback.
//
// The buckets are a limiter.Buckets: in this process (a limiter.Local,
// whose memory is bounded by MaxKeys buckets), or with RateLimit.Redis
// shared by the replicas, so that N replicas allow a principal what one
// would rather than N times as much.
type RateLimiter struct {
	limit      rate.Limit
	local      *limiter.Local
	buckets    limiter.Buckets
	clientAddr func(context.Context) netip.Addr
}

// NewRateLimiter returns a RateLimiter for cfg that reads the time from
// now; nil uses time.Now. Tests pass a fake clock so that refills need no
// sleeping. Buckets in Redis go by Redis's clock instead, which all
// replicas share.
func NewRateLimiter(cfg RateLimit, now func() time.Time) *RateLimiter {
	local := limiter.NewLocal(rate.Limit(cfg.PerSecond), cfg.Burst, cfg.MaxKeys, now)
	l := &RateLimiter{
		limit:      rate.Limit(cfg.PerSecond),
		local:      local,
		buckets:    local,
		clientAddr: cfg.ClientAddr,
	}
	if l.Enabled() {
		l.buckets = cfg.Redis.Buckets(rateLimitBuckets, local)
	}
	return l
}

// Enabled reports whether the limiter limits anything.
func (l *RateLimiter) Enabled() bool { return l.limit > 0 }

// Len returns the number of principals currently tracked in this
// process.
func (l *RateLimiter) Len() int { return l.local.Len() }

// Allow takes a token from key's bucket. When the bucket is empty it takes
// nothing and returns ok false with how long until a token is available.
func (l *RateLimiter) Allow(ctx context.Context, key string) (retryAfter time.Duration, ok bool) {
	if !l.Enabled() {
		return 0, true
	}
	if ok, wait := l.buckets.Take(ctx, key, 1); !ok {
		return wait, false
	}
	return 0, true
}

// check returns RESOURCE_EXHAUSTED (RATE_LIMITED) with a RetryInfo when
// the caller in ctx is over its limit.
func (l *RateLimiter) check(ctx context.Context, method string) error {
	if !l.Enabled() || strings.HasPrefix(method, healthPrefix) {
		return nil
	}
	wait, ok := l.Allow(ctx, l.key(ctx))
	if ok {
		return nil
	}
	return apierr.New(codes.ResourceExhausted, aftersalesv1.ErrorReason_RATE_LIMITED,
		"rate limit exceeded; retry after "+wait.String(),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
}

// key returns the bucket key of the caller in ctx: its resource name,
// or for an anonymous caller "anonymous@" and its address. Resource names
// contain no "@", so the two kinds of key cannot collide.
func (l *RateLimiter) key(ctx context.Context) string {
	p := principal.FromContext(ctx)
	if p.Kind != principal.Anonymous {
		return p.String()
	}
	if l.clientAddr != nil {
		if a := l.clientAddr(ctx); a.IsValid() {
			return p.String() + "@" + a.String()
		}
	}
	pr, ok := peer.FromContext(ctx)
	if !ok || pr.Addr == nil {
		return p.String()
	}
	host, _, err := net.SplitHostPort(pr.Addr.String())
	if err != nil {
		// Not host:port, for example a Unix socket: the address as is.
		host = pr.Addr.String()
	}
	return p.String() + "@" + host
}

// UnaryServerInterceptor returns an interceptor that rejects calls over the
// caller's limit. It must run after the principal interceptor, which puts
// the caller into the context, and is best placed before validation so
// that a rejected call costs as little as possible.
func (l *RateLimiter) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := l.check(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams. Opening a
// stream costs one token; messages on it cost nothing, since the limit is
// on calls.
func (l *RateLimiter) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := l.check(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
