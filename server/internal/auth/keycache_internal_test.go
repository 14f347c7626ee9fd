package auth

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestKeyCacheSharesReads: callers that miss one key at the same time
// share one read (no stampede on the database when a busy key expires),
// and the row it read is kept for the TTL and then read again.
func TestKeyCacheSharesReads(t *testing.T) {
	c := newKeyCache(2 * time.Second)
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	var reads atomic.Int32
	release := make(chan struct{})
	read := func(context.Context, string) (*boundKey, error) {
		reads.Add(1)
		<-release // every caller arrives while the read is under way
		return &boundKey{}, nil
	}
	var wg sync.WaitGroup
	rows := make([]*boundKey, 50)
	for i := range rows {
		wg.Go(func() {
			row, err := c.load(context.Background(), "k1", now, read)
			require.NoError(t, err)
			rows[i] = row
		})
	}
	require.Eventually(t, func() bool { return reads.Load() == 1 }, time.Second, time.Millisecond)
	time.Sleep(20 * time.Millisecond) // let the others queue on the read
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, reads.Load(), "one read for all")
	for _, r := range rows {
		require.Same(t, rows[0], r)
	}

	_, err := c.load(context.Background(), "k1", now.Add(time.Second), read)
	require.NoError(t, err)
	require.EqualValues(t, 1, reads.Load(), "kept within the TTL")
	_, err = c.load(context.Background(), "k1", now.Add(2*time.Second), read)
	require.NoError(t, err)
	require.EqualValues(t, 2, reads.Load(), "read again past it")
}
