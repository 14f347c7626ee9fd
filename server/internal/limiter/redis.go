package limiter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of RedisOptions.
const (
	// DefaultRedisTimeout bounds one call to Redis. A Redis next to the
	// servers answers in well under a millisecond; 50 ms is long enough
	// for a busy one and short enough that a caller barely notices when
	// Redis does not answer at all.
	DefaultRedisTimeout = 50 * time.Millisecond
	// DefaultRedisBackoff is how long calls skip Redis after it failed,
	// so that an unreachable Redis costs each call nothing rather than a
	// timeout, while one call a second finds out when it is back.
	DefaultRedisBackoff = time.Second
	// DefaultRedisWarnEvery is the least time between two warnings that
	// Redis failed: an outage is one line a minute, not one per call.
	DefaultRedisWarnEvery = time.Minute
)

// RedisOptions configures a Redis.
type RedisOptions struct {
	// URL is the server: redis://[user:password@]host:port/db, rediss://
	// for TLS, or unix:///path/to/socket.
	URL string
	// Prefix starts the name of every bucket's key, so that deployments
	// (or tests) can share one Redis.
	Prefix string
	// Timeout bounds each call, waiting for a connection included; 0 uses
	// DefaultRedisTimeout.
	Timeout time.Duration
	// Backoff is how long calls skip Redis after a failure; 0 uses
	// DefaultRedisBackoff, less than 0 never skips it.
	Backoff time.Duration
	// WarnEvery is the least time between two warnings that Redis
	// failed; 0 uses DefaultRedisWarnEvery.
	WarnEvery time.Duration
	// Logger receives those warnings. Required.
	Logger *slog.Logger
}

// Redis keeps Buckets in one Redis, shared by every replica that uses
// it: a caller's budget is the same whichever replica it calls.
//
// A bucket is one key, read and written atomically by one Lua script
// (GCRA, from github.com/go-redis/redis_rate, by the go-redis
// maintainers) on Redis's clock, so replicas whose clocks differ still
// agree. The key records when the bucket will be full again and expires
// then: Redis holds only the buckets in use, and nothing needs sweeping.
// Keys are named "rate:" (redis_rate's prefix), then RedisOptions.Prefix,
// then the set's name and the bucket's key.
//
// Redis must never take the API down. A call that fails or outlasts the
// timeout is answered by the set's Local buckets instead, per process as
// without Redis, and counted (aftersales_redis_fallbacks_total); the
// first failure in a WarnEvery is logged. After a failure, calls go
// straight to the Local buckets for Backoff. The Local buckets start full
// and are used only while Redis is failing, so during an outage each
// replica allows what it would without Redis.
//
// It is a prometheus.Collector of the fallback counter.
type Redis struct {
	client    *redis.Client
	rate      *redis_rate.Limiter
	addr      string
	prefix    string
	timeout   time.Duration
	backoff   time.Duration
	warnEvery time.Duration
	logger    *slog.Logger
	fallbacks *prometheus.CounterVec

	// skipUntil is when calls try Redis again after a failure, in Unix
	// nanoseconds; 0 when they try it now.
	skipUntil atomic.Int64
	// lastWarn is when the last failure was logged, in Unix nanoseconds.
	lastWarn atomic.Int64
	// warned is set when a failure was logged, until Redis answers and
	// that is logged too: one line each way per WarnEvery at most.
	warned atomic.Bool
}

// NewRedis returns a Redis for o. It does not connect: the first call
// does (see Check). It fails only when the URL is invalid.
func NewRedis(o RedisOptions) (*Redis, error) {
	opt, err := redis.ParseURL(o.URL)
	if err != nil {
		// A *url.Error quotes the URL, password and all: keep it out of
		// the logs.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid Redis URL (want redis://host:port/db, rediss://… or unix:///path): %w", err)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultRedisTimeout
	}
	if o.Backoff == 0 {
		o.Backoff = DefaultRedisBackoff
	}
	if o.WarnEvery <= 0 {
		o.WarnEvery = DefaultRedisWarnEvery
	}
	// Every wait of a call is bounded by its timeout: the context's
	// deadline applies to the socket (ContextTimeoutEnabled) and to
	// waiting for a connection. go-redis dials in the background, so a
	// dial may take longer (a TLS handshake to another zone) and serve
	// the calls after it. One immediate retry replaces a pooled
	// connection that Redis closed (a restart) without failing the call;
	// more would only spend the timeout.
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = max(o.Timeout, time.Second)
	opt.ReadTimeout = o.Timeout
	opt.WriteTimeout = o.Timeout
	opt.PoolTimeout = o.Timeout
	opt.DialerRetries = 1
	opt.MaxRetries = 1
	opt.MinRetryBackoff = -1
	opt.MaxRetryBackoff = -1
	// CLIENT SETINFO (Redis 7.2+) and maintenance notifications (Redis
	// Enterprise) are one more round trip per connection, for nothing
	// this client uses.
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	quietRedisLog.Do(func() { redis.SetLogger(discardLog{}) })
	client := redis.NewClient(opt)
	return &Redis{
		client:    client,
		rate:      redis_rate.NewLimiter(client),
		addr:      opt.Addr,
		prefix:    o.Prefix,
		timeout:   o.Timeout,
		backoff:   o.Backoff,
		warnEvery: o.WarnEvery,
		logger:    o.Logger,
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aftersales_redis_fallbacks_total",
			Help: "Rate-limit decisions made by this process alone because Redis (--redis-url) failed, was slower than --redis-timeout, or failed within the last second; by set of buckets: calls (--rate-limit) or auth_failures (--auth-failure-limit).",
		}, []string{"buckets"}),
	}, nil
}

// quietRedisLog silences go-redis's own log, once per process (it is
// global). go-redis writes a line to stderr for every failed dial, so an
// outage would log one per call; Redis.failed reports failures instead,
// at most once per WarnEvery.
var quietRedisLog sync.Once

// discardLog is a go-redis logger that drops everything.
type discardLog struct{}

func (discardLog) Printf(context.Context, string, ...any) {}

// Addr returns the address of the server, without credentials, for logs.
func (r *Redis) Addr() string { return r.addr }

// Check pings Redis within ctx, counting a failure like a failed call
// (it is logged, and calls skip Redis for the backoff).
func (r *Redis) Check(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		r.failed(ctx, "", err)
		return err
	}
	return nil
}

// Close closes the connections to Redis. Buckets used afterwards answer
// from their Local buckets.
func (r *Redis) Close() { _ = r.client.Close() }

// Describe implements prometheus.Collector.
func (r *Redis) Describe(ch chan<- *prometheus.Desc) { r.fallbacks.Describe(ch) }

// Collect implements prometheus.Collector.
func (r *Redis) Collect(ch chan<- prometheus.Metric) { r.fallbacks.Collect(ch) }

// Buckets returns the set of buckets named name (its keys' namespace and
// its label in the fallback metric), of local's size and rate, shared
// through Redis and falling back to local. On a nil Redis it returns
// local itself: without Redis, limits are per process.
func (r *Redis) Buckets(name string, local *Local) Buckets {
	if r == nil {
		return local
	}
	period := time.Duration(float64(time.Second) / float64(local.Limit()))
	return &shared{
		r:     r,
		name:  name,
		local: local,
		// redis_rate counts Rate tokens per Period in whole numbers; one
		// token per period expresses any rate.
		limit:     redis_rate.Limit{Rate: 1, Burst: local.Burst(), Period: max(period, time.Nanosecond)},
		prefix:    r.prefix + name + ":",
		fallbacks: r.fallbacks.WithLabelValues(name),
	}
}

// shared is the Buckets of Redis.Buckets.
type shared struct {
	r         *Redis
	name      string
	local     *Local
	limit     redis_rate.Limit
	prefix    string
	fallbacks prometheus.Counter
}

// Take implements Buckets.
func (s *shared) Take(ctx context.Context, key string, n int) (ok bool, wait time.Duration) {
	if !s.r.skipping() {
		ok, wait, err := s.take(ctx, key, n)
		if err == nil {
			s.r.answered(ctx)
			return ok, wait
		}
		// A caller that went away is not Redis failing.
		if ctx.Err() == nil {
			s.r.failed(ctx, s.name, err)
		}
	}
	s.fallbacks.Inc()
	return s.local.Take(ctx, key, n)
}

// take runs the script for Take, within the timeout.
func (s *shared) take(ctx context.Context, key string, n int) (ok bool, wait time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, s.r.timeout)
	defer cancel()
	res, err := s.r.rate.AllowN(ctx, s.prefix+key, s.limit, n)
	if err != nil {
		return false, 0, err
	}
	if n > 0 && res.Allowed == 0 {
		// RetryAfter is when n tokens are back: one, here.
		return false, roundDelay(res.RetryAfter), nil
	}
	// Remaining is the whole tokens left. When none is, the bucket is
	// full again after ResetAfter, so it holds one token Burst-1
	// emission intervals before that.
	if res.Remaining >= 1 {
		return true, 0, nil
	}
	return true, roundDelay(res.ResetAfter - time.Duration(s.limit.Burst-1)*s.limit.Period), nil
}

// skipping reports whether calls skip Redis, after a recent failure.
func (r *Redis) skipping() bool {
	until := r.skipUntil.Load()
	return until != 0 && time.Now().UnixNano() < until
}

// failed starts the backoff and logs err, at most once per warnEvery.
// buckets names the set whose call failed ("" for Check).
func (r *Redis) failed(ctx context.Context, buckets string, err error) {
	now := time.Now().UnixNano()
	if r.backoff > 0 {
		r.skipUntil.Store(now + int64(r.backoff))
	}
	last := r.lastWarn.Load()
	if last != 0 && now-last < int64(r.warnEvery) {
		return
	}
	if !r.lastWarn.CompareAndSwap(last, now) {
		return // another call is warning
	}
	r.warned.Store(true)
	attrs := []any{slog.String("redis_addr", r.addr), slog.Any("error", err), slog.Duration("next_warning_after", r.warnEvery)}
	if buckets != "" {
		attrs = append(attrs, slog.String("buckets", buckets))
	}
	r.logger.WarnContext(ctx, "Redis unavailable: rate limits are per process until it answers", attrs...)
}

// answered notes that Redis answered, and logs it when its failure was.
func (r *Redis) answered(ctx context.Context) {
	if r.warned.Load() && r.warned.CompareAndSwap(true, false) {
		r.logger.InfoContext(ctx, "Redis answers again: rate limits are shared by the replicas", slog.String("redis_addr", r.addr))
	}
}

// Interface checks.
var (
	_ Buckets              = (*Local)(nil)
	_ Buckets              = (*shared)(nil)
	_ prometheus.Collector = (*Redis)(nil)
)
