package limiter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/aftersales/aftersales/server/internal/limiter"
	"github.com/aftersales/aftersales/server/internal/limiter/limitertest"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// The tests' buckets hold three tokens and refill one an hour, so that
// no token comes back while a test runs, on Redis's clock as on a frozen
// one.
const (
	burst    = 3
	interval = time.Hour
)

var perHour = rate.Every(interval)

// frozen is a clock that never moves.
func frozen() time.Time { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }

// logs is a JSON log the tests read back.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// messages returns the message of each record at level.
func (l *logs) messages(t *testing.T, level string) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["level"] == level {
			out = append(out, m["msg"].(string))
		}
	}
	return out
}

// newRedis returns a Redis at url under prefix, logging to the returned
// logs, closed when the test ends.
func newRedis(t *testing.T, url, prefix string, mutate ...func(*limiter.RedisOptions)) (*limiter.Redis, *logs) {
	t.Helper()
	l := &logs{}
	o := limiter.RedisOptions{URL: url, Prefix: prefix, Logger: slog.New(slog.NewJSONHandler(l, nil))}
	for _, m := range mutate {
		m(&o)
	}
	r, err := limiter.NewRedis(o)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	return r, l
}

// requireWait checks that wait is one interval, less the little time
// that passed on Redis's clock since the bucket was emptied.
func requireWait(t *testing.T, wait time.Duration, msgAndArgs ...any) {
	t.Helper()
	require.LessOrEqual(t, wait, interval, msgAndArgs...)
	require.Greater(t, wait, interval-time.Minute, msgAndArgs...)
}

// requireBucketSemantics runs one sequence of Takes on b and checks what
// every implementation of Buckets must answer.
func requireBucketSemantics(t *testing.T, b limiter.Buckets) {
	t.Helper()
	ctx := context.Background()
	ok, wait := b.Take(ctx, "k", 0)
	require.True(t, ok)
	require.Zero(t, wait, "a key never seen has a full bucket")
	for i := range burst - 1 {
		ok, wait = b.Take(ctx, "k", 1)
		require.True(t, ok, "token %d", i+1)
		require.Zero(t, wait, "token %d: tokens are left", i+1)
	}
	ok, wait = b.Take(ctx, "k", 1)
	require.True(t, ok, "the last token")
	requireWait(t, wait, "the last token empties the bucket")

	ok, wait = b.Take(ctx, "k", 1)
	require.False(t, ok, "empty")
	requireWait(t, wait)
	ok, wait = b.Take(ctx, "k", 0)
	require.True(t, ok, "looking always succeeds")
	requireWait(t, wait, "and says the bucket is empty")

	ok, wait = b.Take(ctx, "other", 1)
	require.True(t, ok)
	require.Zero(t, wait, "another key has its own bucket")
}

// TestBucketsAgree: the per-process and the Redis buckets answer a
// sequence of Takes alike, so either serves the rate limit and the
// throttle.
func TestBucketsAgree(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		local := limiter.NewLocal(perHour, burst, 0, frozen)
		requireBucketSemantics(t, local)
		require.Equal(t, 2, local.Len(), "looking at a key creates no bucket")
	})
	t.Run("redis", func(t *testing.T) {
		url := limitertest.RedisURL(t)
		r, logs := newRedis(t, url, limitertest.Prefix(t, url))
		local := limiter.NewLocal(perHour, burst, 0, frozen)
		requireBucketSemantics(t, r.Buckets("calls", local))
		require.Zero(t, local.Len(), "the fallback was never used")
		require.Zero(t, testutil.ToFloat64(r), "no fallbacks")
		require.Empty(t, logs.messages(t, "WARN"))
	})
	t.Run("nil redis", func(t *testing.T) {
		local := limiter.NewLocal(perHour, burst, 0, frozen)
		var r *limiter.Redis
		require.Same(t, local, r.Buckets("calls", local), "without Redis, the local buckets")
	})
}

// TestRedisShared: two Redis clients with the same prefix, as two
// replicas, share each bucket; another prefix, or another set of
// buckets, has its own.
func TestRedisShared(t *testing.T) {
	url := limitertest.RedisURL(t)
	prefix := limitertest.Prefix(t, url)
	r1, _ := newRedis(t, url, prefix)
	r2, _ := newRedis(t, url, prefix)
	b1 := r1.Buckets("calls", limiter.NewLocal(perHour, burst, 0, frozen))
	b2 := r2.Buckets("calls", limiter.NewLocal(perHour, burst, 0, frozen))
	ctx := context.Background()

	for i, b := range []limiter.Buckets{b1, b2, b1} {
		ok, _ := b.Take(ctx, "staff/a", 1)
		require.True(t, ok, "call %d of the burst", i+1)
	}
	for i, b := range []limiter.Buckets{b2, b1} {
		ok, wait := b.Take(ctx, "staff/a", 1)
		require.False(t, ok, "replica %d: the burst is spent across both", 2-i)
		requireWait(t, wait)
	}

	other, _ := newRedis(t, url, limitertest.Prefix(t, url))
	for name, b := range map[string]limiter.Buckets{
		"another prefix":         other.Buckets("calls", limiter.NewLocal(perHour, burst, 0, frozen)),
		"another set of buckets": r1.Buckets("auth_failures", limiter.NewLocal(perHour, burst, 0, frozen)),
	} {
		ok, _ := b.Take(ctx, "staff/a", 1)
		require.True(t, ok, name)
	}
}

// TestRedisDown: with nothing listening at the URL every Take is answered
// by the local buckets, as without Redis; each is counted, and one
// warning says so.
func TestRedisDown(t *testing.T) {
	r, logs := newRedis(t, limitertest.ClosedURL(t), "test:")
	require.Error(t, r.Check(context.Background()))
	local := limiter.NewLocal(perHour, burst, 0, frozen)
	requireBucketSemantics(t, r.Buckets("calls", local))
	require.Equal(t, 2, local.Len(), "the local buckets answered")
	require.Equal(t, float64(burst+4), testutil.ToFloat64(r), "every Take fell back")
	require.Equal(t, []string{"Redis unavailable: rate limits are per process until it answers"}, logs.messages(t, "WARN"),
		"one warning for the whole outage, not one per call")
}

// TestRedisSlow: a Redis that accepts connections and never answers
// costs each Take the timeout, then the local buckets answer.
func TestRedisSlow(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	r, logs := newRedis(t, "redis://"+ln.Addr().String()+"/0", "test:", func(o *limiter.RedisOptions) {
		o.Timeout = 20 * time.Millisecond
		o.Backoff = -1 // every Take asks Redis, and waits
	})
	local := limiter.NewLocal(perHour, burst, 0, frozen)
	requireBucketSemantics(t, r.Buckets("calls", local))
	require.Equal(t, float64(burst+4), testutil.ToFloat64(r), "every Take fell back")
	warnings := logs.messages(t, "WARN")
	require.Len(t, warnings, 1)
}

// TestRedisOutageAndRecovery: Redis goes away (a proxy in front of it
// stops) and comes back. Meanwhile the local buckets answer, starting
// full; afterwards Redis does again, with the bucket as it left it.
func TestRedisOutageAndRecovery(t *testing.T) {
	url := limitertest.RedisURL(t)
	prefix := limitertest.Prefix(t, url)
	target := strings.TrimSuffix(strings.TrimPrefix(url, "redis://"), "/0")
	if _, _, err := net.SplitHostPort(target); err != nil {
		t.Skipf("%s is not redis://host:port/0; the proxy needs host:port", url)
	}
	proxy := storetest.NewTCPProxy(t, target)
	r, logs := newRedis(t, "redis://"+proxy.Addr()+"/0", prefix, func(o *limiter.RedisOptions) { o.Backoff = -1 })
	local := limiter.NewLocal(perHour, burst, 0, frozen)
	b := r.Buckets("calls", local)
	ctx := context.Background()

	ok, _ := b.Take(ctx, "staff/a", 1)
	require.True(t, ok)
	ok, _ = b.Take(ctx, "staff/a", 1)
	require.True(t, ok, "two of three tokens taken in Redis")

	proxy.Stop()
	for i := range burst {
		ok, _ = b.Take(ctx, "staff/a", 1)
		require.True(t, ok, "during the outage, the local bucket: token %d of %d", i+1, burst)
	}
	ok, _ = b.Take(ctx, "staff/a", 1)
	require.False(t, ok, "the local bucket is spent too")
	require.Equal(t, float64(burst+1), testutil.ToFloat64(r))

	proxy.Start()
	ok, wait := b.Take(ctx, "staff/a", 1)
	require.True(t, ok, "Redis again: its last token")
	requireWait(t, wait)
	ok, _ = b.Take(ctx, "staff/a", 1)
	require.False(t, ok)
	require.Equal(t, float64(burst+1), testutil.ToFloat64(r), "no more fallbacks")

	require.Equal(t, []string{"Redis unavailable: rate limits are per process until it answers"}, logs.messages(t, "WARN"))
	require.Equal(t, []string{"Redis answers again: rate limits are shared by the replicas"}, logs.messages(t, "INFO"))
}

// TestRedisURLInvalid: a malformed URL is an error that does not repeat
// the URL, which may hold a password.
func TestRedisURLInvalid(t *testing.T) {
	for _, url := range []string{"http://user:s3cret@host:6379", "redis://user:s3cret@host:port/0", "redis://:s3cret@host:6379/x"} {
		_, err := limiter.NewRedis(limiter.RedisOptions{URL: url, Logger: slog.Default()})
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "s3cret", url)
	}
}
