// Package limiter keeps one token bucket (golang.org/x/time/rate) per key
// in bounded memory. The per-caller rate limit and the throttle of failed
// authentications per address both build on it.
package limiter

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

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
	wait := time.Duration((1 - b.TokensAt(now)) / float64(b.Limit()) * float64(time.Second))
	return max((wait + time.Millisecond - 1).Truncate(time.Millisecond), time.Millisecond)
}
