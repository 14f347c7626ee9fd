package interceptors

import (
	"context"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// DefaultRateLimitMaxKeys is the number of principals a RateLimiter tracks
// when RateLimit.MaxKeys is zero. A bucket costs a few hundred bytes, so
// the default bounds the limiter to a few megabytes.
const DefaultRateLimitMaxKeys = 10_000

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
	// MaxKeys bounds the number of principals tracked at once; 0 uses
	// DefaultRateLimitMaxKeys.
	MaxKeys int
}

// RateLimiter limits how often each principal may call, with one token
// bucket per principal. It is safe for concurrent use.
//
// Buckets are keyed by the principal's resource name ("staff/abc",
// "apiKeys/k1"). Anonymous callers are keyed by their peer IP address, so
// that one anonymous client cannot exhaust the budget of all others.
// Calls through the JSON gateway all reach the server from loopback,
// however, so anonymous JSON callers share a single bucket; authenticated
// principals are the case this is built for.
//
// Memory is bounded by MaxKeys buckets. A bucket that has refilled to its
// burst is indistinguishable from a new one, so when the map is full the
// limiter first drops every full bucket, which loses nothing. If that frees
// less than a quarter of the map, it drops arbitrary buckets until a
// quarter is free; those principals start again with a full burst. Freeing
// a quarter at a time keeps the cost of a sweep amortised over the many
// insertions that follow it.
type RateLimiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewRateLimiter returns a RateLimiter for cfg that reads the time from
// now; nil uses time.Now. Tests pass a fake clock so that refills need no
// sleeping.
func NewRateLimiter(cfg RateLimit, now func() time.Time) *RateLimiter {
	if now == nil {
		now = time.Now
	}
	l := &RateLimiter{
		limit:   rate.Limit(cfg.PerSecond),
		burst:   max(cfg.Burst, 1),
		maxKeys: cfg.MaxKeys,
		now:     now,
		buckets: make(map[string]*rate.Limiter),
	}
	if l.maxKeys <= 0 {
		l.maxKeys = DefaultRateLimitMaxKeys
	}
	return l
}

// Enabled reports whether the limiter limits anything.
func (l *RateLimiter) Enabled() bool { return l.limit > 0 }

// Len returns the number of principals currently tracked.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// Allow takes a token from key's bucket. When the bucket is empty it takes
// nothing and returns ok false with how long until a token is available.
func (l *RateLimiter) Allow(key string) (retryAfter time.Duration, ok bool) {
	if !l.Enabled() {
		return 0, true
	}
	now := l.now()
	b := l.bucket(key, now)
	// AllowN leaves the bucket untouched when it refuses, unlike
	// Reserve+Cancel, whose cancellation cannot restore the token when
	// another call reserved in between: under a flood, rejected calls
	// would push the bucket into debt and lock the caller out for longer
	// than the rate says.
	if b.AllowN(now, 1) {
		return 0, true
	}
	wait := time.Duration((1 - b.TokensAt(now)) / float64(l.limit) * float64(time.Second))
	// Round up to whole milliseconds so that a client retrying after the
	// hint finds a token rather than arriving a hair early. The floor
	// keeps the hint positive when a concurrent call that read the clock
	// later refilled the bucket between AllowN and TokensAt.
	return max((wait + time.Millisecond - 1).Truncate(time.Millisecond), time.Millisecond), false
}

// bucket returns key's bucket, creating it at now if needed.
//
// The bucket is used after mu is released. A sweep may drop it meanwhile;
// the call then spends a token from a bucket nobody sees again, which at
// worst gives that principal one extra call, a price worth keeping the
// critical section to one map lookup.
func (l *RateLimiter) bucket(key string, now time.Time) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[key]; ok {
		return b
	}
	if len(l.buckets) >= l.maxKeys {
		l.sweep(now)
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.buckets[key] = b
	return b
}

// sweep frees at least a quarter of the map; see RateLimiter. l.mu must be
// held.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, k)
		}
	}
	target := l.maxKeys - max(l.maxKeys/4, 1)
	// Map iteration order is unspecified, so this drops arbitrary buckets
	// rather than always the same ones.
	for k := range l.buckets {
		if len(l.buckets) <= target {
			break
		}
		delete(l.buckets, k)
	}
}

// check returns RESOURCE_EXHAUSTED (RATE_LIMITED) with a RetryInfo when
// the caller in ctx is over its limit.
func (l *RateLimiter) check(ctx context.Context, method string) error {
	if !l.Enabled() || strings.HasPrefix(method, healthPrefix) {
		return nil
	}
	wait, ok := l.Allow(rateLimitKey(ctx))
	if ok {
		return nil
	}
	return apierr.New(codes.ResourceExhausted, aftersalesv1.ErrorReason_RATE_LIMITED,
		"rate limit exceeded; retry after "+wait.String(),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
}

// rateLimitKey returns the bucket key of the caller in ctx: its resource
// name, or for an anonymous caller "anonymous@" and its IP address.
// Resource names contain no "@", so the two kinds of key cannot collide.
func rateLimitKey(ctx context.Context) string {
	p := principal.FromContext(ctx)
	if p.Kind != principal.Anonymous {
		return p.String()
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
