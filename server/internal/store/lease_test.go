package store_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// fakeClock is a manually advanced clock shared by simulated replicas.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// openReplicas opens n independent handles (own pools) on one database,
// like n server replicas.
func openReplicas(t *testing.T, dialect string, n int, now func() time.Time) []*store.DB {
	url := storetest.URL(t, dialect)
	dbs := make([]*store.DB, n)
	for i := range dbs {
		dbs[i] = storetest.OpenOptions(t, store.Options{URL: url, Now: now})
	}
	return dbs
}

func TestLeaseLifecycle(t *testing.T) {
	const ttl = 10 * time.Second
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := newFakeClock()
			dbs := openReplicas(t, dialect, 2, clock.Now)
			a, b := dbs[0], dbs[1]
			ctx := t.Context()
			acquire := func(db *store.DB, holder string) bool {
				t.Helper()
				ok, err := db.AcquireLease(ctx, "leader", holder, ttl)
				require.NoError(t, err)
				return ok
			}

			require.True(t, acquire(a, "a"), "free lease")
			require.False(t, acquire(b, "b"), "held by a")
			require.True(t, acquire(a, "a"), "renewal at the same instant")

			clock.Advance(ttl - time.Microsecond)
			require.False(t, acquire(b, "b"), "not yet expired")
			require.True(t, acquire(a, "a"), "renewal extends the lease")

			clock.Advance(ttl)
			require.True(t, acquire(b, "b"), "expired lease is taken over")
			require.False(t, acquire(a, "a"), "old holder lost it")

			require.NoError(t, a.ReleaseLease(ctx, "leader", "a"), "releasing someone else's lease is a no-op")
			require.False(t, acquire(a, "a"))
			require.NoError(t, b.ReleaseLease(ctx, "leader", "b"))
			require.True(t, acquire(a, "a"), "released lease is free at once")

			ok, err := b.AcquireLease(ctx, "other", "b", ttl)
			require.NoError(t, err)
			require.True(t, ok, "leases are independent")

			_, err = a.AcquireLease(ctx, "leader", "a", 0)
			require.ErrorIs(t, err, store.ErrInternal)
		})
	}
}

// TestLeaseRoundsOneWinner lets all replicas race at the same instant of
// a shared fake clock: each round has exactly one winner, renewal rounds
// keep the holder, and rounds after expiry elect one new holder.
func TestLeaseRoundsOneWinner(t *testing.T) {
	const (
		replicas = 8
		rounds   = 20
		ttl      = time.Minute
	)
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := newFakeClock()
			dbs := openReplicas(t, dialect, replicas, clock.Now)
			ctx := t.Context()
			prev := ""
			for round := range rounds {
				expired := round%2 == 0
				if expired {
					clock.Advance(ttl)
				}
				var (
					wg      sync.WaitGroup
					mu      sync.Mutex
					winners []string
				)
				for i, db := range dbs {
					holder := fmt.Sprintf("replica-%d", i)
					wg.Go(func() {
						ok, err := db.AcquireLease(ctx, "leader", holder, ttl)
						assert.NoError(t, err)
						if ok {
							mu.Lock()
							winners = append(winners, holder)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				require.Len(t, winners, 1, "round %d", round)
				if !expired {
					require.Equal(t, prev, winners[0], "round %d: holder renews", round)
				}
				prev = winners[0]
			}
		})
	}
}

// TestLeaseNeverOverlaps runs replicas in real time: each tries to acquire
// the lease in a loop and, after holding it a few times, pauses longer
// than the TTL (like a stalled process) so others take over. From every
// successful call it derives the interval in which that replica believes
// it is leader, [return time, call start + ttl), and checks that no two
// replicas' intervals overlap.
func TestLeaseNeverOverlaps(t *testing.T) {
	if testing.Short() {
		t.Skip("real-time test")
	}
	const (
		replicas = 6
		ttl      = 60 * time.Millisecond
		duration = 1500 * time.Millisecond
	)
	type tenure struct {
		holder     int
		start, end time.Time
	}
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			// All replicas share the real clock; fakeClock would make the
			// test depend on scheduling instead of time.
			dbs := openReplicas(t, dialect, replicas, nil)
			ctx := t.Context()
			deadline := time.Now().Add(duration)
			var (
				mu       sync.Mutex
				tenures  []tenure
				failures atomic.Int64
				wg       sync.WaitGroup
			)
			for i, db := range dbs {
				wg.Go(func() {
					held := 0
					for time.Now().Before(deadline) {
						// Wall-clock readings truncated like the store's
						// clock, so they compare exactly with what the
						// database compared.
						callStart := time.Now().Truncate(time.Microsecond)
						ok, err := db.AcquireLease(ctx, "leader", fmt.Sprint(i), ttl)
						returned := time.Now().Round(0)
						if err != nil {
							failures.Add(1)
							t.Errorf("replica %d: %v", i, err)
							return
						}
						if ok {
							mu.Lock()
							tenures = append(tenures, tenure{i, returned, callStart.Add(ttl)})
							mu.Unlock()
							held++
							if held%4 == 0 {
								time.Sleep(2 * ttl) // stall: lose the lease
								continue
							}
						}
						time.Sleep(time.Duration(5+rand.IntN(10)) * time.Millisecond)
					}
				})
			}
			wg.Wait()
			require.Zero(t, failures.Load())

			holders := map[int]bool{}
			for _, a := range tenures {
				holders[a.holder] = true
				for _, b := range tenures {
					if a.holder != b.holder && a.start.Before(b.end) && b.start.Before(a.end) {
						t.Fatalf("replicas %d and %d both held the lease: %v-%v and %v-%v",
							a.holder, b.holder, a.start, a.end, b.start, b.end)
					}
				}
			}
			require.Greater(t, len(holders), 1, "the lease changed hands after stalls")
			t.Logf("%d tenures by %d replicas", len(tenures), len(holders))
		})
	}
}
