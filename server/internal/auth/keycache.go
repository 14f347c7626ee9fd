package auth

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// keyCache keeps the API keys read in the last ttl, with the state of the
// staff member or partner each is bound to, so that a caller's every call
// does not read them again: one query and its round trip fewer per call.
// Every check is still made on each call (the secret against the stored
// hash, revocation, expiry, the identity's active flag and role) but on
// the row as it was read, up to ttl ago. So a revocation, a deactivation
// or a role change made through another replica takes effect here within
// ttl; one made through this replica takes effect at once (Forget, called
// when such a change commits). Only keys found are kept: unknown ids
// cannot fill the cache.
type keyCache struct {
	ttl time.Duration
	// reads makes the callers that miss one key at once share one read:
	// when a busy key expires, hundreds of calls miss it together, and
	// under load their reads would queue for the pool's connections.
	reads singleflight.Group

	mu   sync.Mutex
	keys map[string]cachedKey
	// gen counts forgets: a row read before one (it may predate the
	// change) is not kept after it.
	gen uint64
}

type cachedKey struct {
	row     *boundKey
	expires time.Time
}

// keyReadTimeout bounds a read shared by the callers missing one key.
const keyReadTimeout = 5 * time.Second

// maxCachedKeys bounds the cache's memory: past it, the cache starts
// over. Deployments have hundreds of keys, not thousands.
const maxCachedKeys = 10000

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, keys: map[string]cachedKey{}}
}

// get returns the row of key id read less than ttl before now, or the
// generation to pass to put after reading it.
func (c *keyCache) get(id string, now time.Time) (*boundKey, uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.keys[id]
	if !ok || !now.Before(k.expires) {
		return nil, c.gen
	}
	return k.row, c.gen
}

// put keeps row, read at now, unless the cache was told to forget since
// get returned gen.
func (c *keyCache) put(id string, row *boundKey, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.keys) >= maxCachedKeys {
		clear(c.keys)
	}
	c.keys[id] = cachedKey{row: row, expires: now.Add(c.ttl)}
}

// forget drops every key.
func (c *keyCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.keys)
	c.gen++
}

// load returns the row of key id: cached, or read by read (once for all
// the callers missing it at the same time) and kept.
func (c *keyCache) load(ctx context.Context, id string, now time.Time, read func(context.Context, string) (*boundKey, error)) (*boundKey, error) {
	row, gen := c.get(id, now)
	if row != nil {
		return row, nil
	}
	v, err, _ := c.reads.Do(id, func() (any, error) {
		// Not the first caller's context: its cancellation must not fail
		// the others waiting on this read. Bounded all the same.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyReadTimeout)
		defer cancel()
		row, err := read(ctx, id)
		if err == nil {
			c.put(id, row, now, gen)
		}
		return row, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*boundKey), nil
}
