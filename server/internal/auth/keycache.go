package auth

import (
	"sync"
	"time"
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
