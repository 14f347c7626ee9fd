// Package limiter keeps token buckets, one per key: in this process, in
// bounded memory (Local, on golang.org/x/time/rate), or in Redis, shared
// by every replica, with a fallback to Local when Redis fails (Redis).
// The per-caller rate limit and the throttle of failed authentications
// per address both build on Buckets, so either works for both.
package limiter

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Buckets is a token bucket per key, all of one size (the burst) and one
// refill rate. It is safe for concurrent use. Local keeps them in this
// process; Redis.Buckets shares them between replicas.
type Buckets interface {
	// Take takes n tokens, 0 or 1, from key's bucket, a full one if key
	// has none yet, when the bucket holds them; otherwise it takes
	// nothing and ok is false. wait is how long until the bucket holds a
	// whole token afterwards, rounded as Delay rounds, and 0 when it
	// holds one now. With n = 0 Take only looks: ok is always true, and
	// wait > 0 says the bucket is empty.
	//
	// Take does not fail: an implementation that can (Redis) answers
	// from a fallback instead, so a limit never takes the API down.
	Take(ctx context.Context, key string, n int) (ok bool, wait time.Duration)
}

// Local is Buckets in this process's memory, kept by a Keyed. Take is a
// map lookup under a mutex and never waits.
type Local struct {
	keyed *Keyed[string]
	now   func() time.Time
}

// NewLocal returns a Local of buckets holding burst tokens (at least 1)
// refilled at limit tokens a second, tracking at most maxKeys keys (0
// uses DefaultMaxKeys), on the clock now (nil uses time.Now).
func NewLocal(limit rate.Limit, burst, maxKeys int, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{keyed: NewKeyed[string](limit, burst, maxKeys), now: now}
}

// Limit returns the refill rate, in tokens a second.
func (l *Local) Limit() rate.Limit { return l.keyed.limit }

// Burst returns the size of each bucket.
func (l *Local) Burst() int { return l.keyed.Burst() }

// Len returns the number of keys currently tracked.
func (l *Local) Len() int { return l.keyed.Len() }

// Take implements Buckets.
func (l *Local) Take(_ context.Context, key string, n int) (ok bool, wait time.Duration) {
	now := l.now()
	if n <= 0 {
		// Looking must not create a bucket: an address that never
		// failed would otherwise fill the map.
		b := l.keyed.Lookup(key)
		if b == nil || b.TokensAt(now) >= 1 {
			return true, 0
		}
		return true, Delay(b, now)
	}
	b := l.keyed.Get(key, now)
	// AllowN leaves the bucket untouched when it refuses, unlike
	// Reserve+Cancel, whose cancellation cannot restore the token when
	// another call reserved in between: under a flood, refused calls
	// would push the bucket into debt and lock the caller out for longer
	// than the rate says.
	if !b.AllowN(now, n) {
		return false, Delay(b, now)
	}
	if b.TokensAt(now) >= 1 {
		return true, 0
	}
	return true, Delay(b, now)
}

// DefaultMaxKeys is the number of keys a Keyed tracks when maxKeys is
// zero. A bucket costs a few hundred bytes, so the default bounds one
// Keyed to a few megabytes.
const DefaultMaxKeys = 10_000

// Keyed holds a token bucket per key. It is safe for concurrent use.
//
// Memory is bounded by maxKeys buckets. A bucket that has refilled to its
// burst is indistinguishable from a new one, so when the map is full
// Keyed first drops every full bucket, which loses nothing. If that frees
// less than a quarter of the map, it drops arbitrary buckets until a
// quarter is free; those keys start again with a full burst. Freeing a
// quarter at a time keeps the cost of a sweep amortised over the many
// insertions that follow it.
type Keyed[K comparable] struct {
	limit   rate.Limit
	burst   int
	maxKeys int

	mu      sync.Mutex
	buckets map[K]*rate.Limiter
}

// NewKeyed returns a Keyed whose buckets hold burst tokens (at least 1)
// and refill at limit tokens a second, tracking at most maxKeys keys (0
// uses DefaultMaxKeys).
func NewKeyed[K comparable](limit rate.Limit, burst, maxKeys int) *Keyed[K] {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Keyed[K]{
		limit: limit,
		// A bucket that holds no token would refuse everything.
		burst:   max(burst, 1),
		maxKeys: maxKeys,
		buckets: make(map[K]*rate.Limiter),
	}
}

// Burst returns the size of each bucket.
func (k *Keyed[K]) Burst() int { return k.burst }

// Len returns the number of keys currently tracked.
func (k *Keyed[K]) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}

// Get returns key's bucket, creating a full one at now if needed.
//
// The bucket is used after the lock is released. A sweep may drop it
// meanwhile; a token spent from it then goes unseen, which at worst gives
// that key one extra token, a price worth keeping the critical section to
// one map lookup.
func (k *Keyed[K]) Get(key K, now time.Time) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.buckets[key]; ok {
		return b
	}
	if len(k.buckets) >= k.maxKeys {
		k.sweep(now)
	}
	b := rate.NewLimiter(k.limit, k.burst)
	k.buckets[key] = b
	return b
}

// Lookup returns key's bucket, or nil when key has none, which means the
// same as a full one.
func (k *Keyed[K]) Lookup(key K) *rate.Limiter {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.buckets[key]
}

// sweep frees at least a quarter of the map; see Keyed. k.mu must be held.
func (k *Keyed[K]) sweep(now time.Time) {
	for key, b := range k.buckets {
		if b.TokensAt(now) >= float64(k.burst) {
			delete(k.buckets, key)
		}
	}
	target := k.maxKeys - max(k.maxKeys/4, 1)
	// Map iteration order is unspecified, so this drops arbitrary buckets
	// rather than always the same ones.
	for key := range k.buckets {
		if len(k.buckets) <= target {
			break
		}
		delete(k.buckets, key)
	}
}

// Delay returns how long until b holds a whole token, for a RetryInfo.
// It is rounded up to whole milliseconds so that a client retrying after
// it finds a token rather than arriving a hair early, and is at least a
// millisecond: a concurrent call that read the clock later may have
// refilled the bucket since the caller found it empty.
func Delay(b *rate.Limiter, now time.Time) time.Duration {
	return roundDelay(time.Duration((1 - b.TokensAt(now)) / float64(b.Limit()) * float64(time.Second)))
}

// roundDelay rounds a wait up to whole milliseconds, and to at least one;
// see Delay.
func roundDelay(wait time.Duration) time.Duration {
	return max((wait + time.Millisecond - 1).Truncate(time.Millisecond), time.Millisecond)
}
