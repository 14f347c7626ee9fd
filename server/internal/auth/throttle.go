package auth

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/limiter"
)

// Throttling failed authentications.
//
// Each client address has a token bucket of failed authentications: it
// holds Failures tokens and refills at Failures per Window. A failure
// spends a token; an address whose bucket is empty is throttled, and its
// calls that present credentials are refused with RESOURCE_EXHAUSTED
// (RATE_LIMITED) and a RetryInfo, without being checked, until a token is
// back (Window/Failures). Successful authentications spend nothing and are
// never delayed. Calls without credentials are not affected: they fail
// anyway, without touching the database.
//
// A throttled address may be a NAT or a proxy that an attacker shares with
// legitimate callers. So that the attacker cannot lock them out, a
// credential this process has seen authenticate (from any address) is still
// checked at a throttled address, and passes if it is still good; only
// credentials not seen working are refused unchecked, which is what
// guessing sends. Refusing those unchecked matters: were they checked and
// merely answered differently, the answer would tell a guess that hit.
// A legitimate caller whose credential this process has not seen working
// (a new key, or after a restart) waits like the attacker, at most
// Window/Failures.
//
// The buckets are a limiter.Buckets: per process by default, so that
// with N replicas behind a load balancer an address gets up to N times
// the failures; with ThrottleConfig.Redis shared by the replicas, so that
// it gets Failures in all. The credentials seen working are remembered
// per process either way (hashes of secrets stay in memory): a caller
// behind a throttled address whose credential this replica has not seen
// yet waits as above, even if another replica has.
//
// Looking a credential up among those seen working comes before looking
// at the address's bucket, so that a call with a working credential,
// nearly every call, never waits for Redis.
//
// IPv6 addresses count by /64, the block a single host or site usually
// gets: counting each address would let one host make 2^64 times the
// attempts. Memory is bounded: limiter.Keyed keeps at most MaxAddrs
// buckets, and the set of credentials seen working holds at most MaxKnown
// hashes. An attacker spraying from more addresses than MaxAddrs
// (a botnet) evicts buckets and gets fresh ones: per-address throttling
// slows one source, not a botnet.

// ThrottleConfig configures a Throttle.
type ThrottleConfig struct {
	// Failures is how many failed authentications an address may make
	// within Window; 0 refuses nothing (failures are still counted and
	// logged).
	Failures int
	// Window is the window of Failures.
	Window time.Duration
	// MaxAddrs bounds the addresses tracked and MaxKnown the credentials
	// remembered as working; 0 uses limiter.DefaultMaxKeys.
	MaxAddrs, MaxKnown int
	// ClientAddr returns the address a call comes from. Required.
	ClientAddr func(context.Context) netip.Addr
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
	// Logger receives a warning when an address gets throttled. Required.
	Logger *slog.Logger
	// Redis, when set, keeps the failures there, shared by every replica
	// using it, falling back to this process's buckets while it fails;
	// nil keeps them in this process only.
	Redis *limiter.Redis
}

// throttleBuckets names the throttle's buckets in Redis and in the
// fallback metric.
const throttleBuckets = "auth_failures"

// Throttle counts failed authentications per client address and refuses
// credentials from addresses that failed too often; see the comment above.
// It is a prometheus.Collector of its counters. Safe for concurrent use.
type Throttle struct {
	cfg ThrottleConfig
	// failures are the buckets of failures by addrKey; nil when the
	// throttle refuses nothing. local holds them, or their fallback.
	failures limiter.Buckets
	local    *limiter.Local
	known    knownSet

	failed  prometheus.Counter
	refused prometheus.Counter
}

// NewThrottle returns a Throttle for cfg.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Throttle{
		cfg:   cfg,
		known: knownSet{max: cfg.MaxKnown, m: make(map[[sha256.Size]byte]struct{})},
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aftersales_auth_failures_total",
			Help: "Calls whose credentials were checked and found invalid: unknown, revoked or expired keys, bad tokens or client certificates.",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aftersales_auth_throttled_total",
			Help: "Calls refused unchecked (RESOURCE_EXHAUSTED) because their client address failed to authenticate too often.",
		}),
	}
	if t.known.max <= 0 {
		t.known.max = limiter.DefaultMaxKeys
	}
	if cfg.Failures > 0 {
		t.local = limiter.NewLocal(rate.Limit(float64(cfg.Failures)/cfg.Window.Seconds()), cfg.Failures, cfg.MaxAddrs, cfg.Now)
		t.failures = cfg.Redis.Buckets(throttleBuckets, t.local)
	}
	return t
}

// Addrs returns the number of client addresses with failures tracked in
// this process.
func (t *Throttle) Addrs() int {
	if t.local == nil {
		return 0
	}
	return t.local.Len()
}

// Describe implements prometheus.Collector.
func (t *Throttle) Describe(ch chan<- *prometheus.Desc) {
	t.failed.Describe(ch)
	t.refused.Describe(ch)
}

// Collect implements prometheus.Collector.
func (t *Throttle) Collect(ch chan<- prometheus.Metric) {
	t.failed.Collect(ch)
	t.refused.Collect(ch)
}

// attempt is one call's authentication as the throttle follows it. The
// zero attempt, of a call without credentials or without a throttle,
// records nothing.
type attempt struct {
	t    *Throttle
	addr netip.Addr
	cred [sha256.Size]byte
}

// begin starts following the call in ctx. It refuses the call when it
// presents credentials not seen working from a throttled address.
func (t *Throttle) begin(ctx context.Context) (attempt, error) {
	if t == nil {
		return attempt{}, nil
	}
	cred, ok := credential(ctx)
	if !ok {
		return attempt{}, nil
	}
	a := attempt{t: t, addr: t.cfg.ClientAddr(ctx), cred: cred}
	if t.failures == nil || t.known.has(cred) {
		return a, nil
	}
	_, wait := t.failures.Take(ctx, addrKey(a.addr), 0)
	if wait == 0 {
		return a, nil
	}
	t.refused.Inc()
	return attempt{}, apierr.New(codes.ResourceExhausted, aftersalesv1.ErrorReason_RATE_LIMITED,
		"too many failed authentications from this address; retry after "+wait.String(),
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)})
}

// succeeded remembers the credential as working.
func (a attempt) succeeded() {
	if a.t != nil {
		a.t.known.add(a.cred)
	}
}

// failed counts a failure against the address, and warns when it leaves
// the address throttled.
func (a attempt) failed(ctx context.Context) {
	t := a.t
	if t == nil {
		return
	}
	t.failed.Inc()
	if t.failures == nil {
		return
	}
	// A failure when the bucket is already empty (a credential seen
	// working that no longer does, or a race with another failure) spends
	// nothing more: the address is throttled already, and saying so again
	// would only add log lines.
	ok, wait := t.failures.Take(ctx, addrKey(a.addr), 1)
	if !ok || wait == 0 {
		return
	}
	t.cfg.Logger.WarnContext(ctx, "authentication failures throttled",
		slog.String("client_addr", a.addr.String()),
		slog.Int("failures", t.cfg.Failures),
		slog.Duration("window", t.cfg.Window),
		slog.Duration("retry_after", wait))
}

// credential returns a hash of the credentials the call presents: its
// authorization metadata and verified client certificate. ok is false
// when it presents none.
func credential(ctx context.Context) (sum [sha256.Size]byte, ok bool) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	cert := verifiedClientCert(ctx)
	if len(values) == 0 && cert == nil {
		return sum, false
	}
	if len(values) == 1 && cert == nil {
		// The usual call, hashed without a hash.Hash to allocate.
		return sha256.Sum256([]byte(values[0])), true
	}
	h := sha256.New()
	for _, v := range values {
		h.Write([]byte(v))
		h.Write([]byte{0})
	}
	if cert != nil {
		h.Write(cert.Raw)
	}
	h.Sum(sum[:0])
	return sum, true
}

// addrKey is what failures count against: an IPv4 address, or the /64 of
// an IPv6 one, as a CIDR. Calls whose address is unknown share the zero
// Prefix's.
func addrKey(addr netip.Addr) string {
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p.String()
}

// knownSet holds hashes of credentials that authenticated, at most max of
// them: when full, it forgets arbitrary ones until a quarter is free, as
// limiter.Keyed does. Forgetting one costs its owner nothing unless their
// address is throttled at that moment.
type knownSet struct {
	max int
	mu  sync.RWMutex
	m   map[[sha256.Size]byte]struct{}
}

func (k *knownSet) has(h [sha256.Size]byte) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	_, ok := k.m[h]
	return ok
}

func (k *knownSet) add(h [sha256.Size]byte) {
	// Nearly every call is from a credential seen before: a read lock.
	if k.has(h) {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) >= k.max {
		target := k.max - max(k.max/4, 1)
		for old := range k.m {
			if len(k.m) <= target {
				break
			}
			delete(k.m, old)
		}
	}
	k.m[h] = struct{}{}
}
