package webhook_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/webhook"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration // the result is in [min, max)
	}{
		{attempt: 1, min: 2500 * time.Millisecond, max: 5 * time.Second},
		{attempt: 2, min: 5 * time.Second, max: 10 * time.Second},
		{attempt: 3, min: 10 * time.Second, max: 20 * time.Second},
		{attempt: 10, min: 1280 * time.Second, max: 2560 * time.Second},
		{attempt: 11, min: 30 * time.Minute, max: time.Hour}, // 5s·2^10 is past the cap
		{attempt: 12, min: 30 * time.Minute, max: time.Hour},
		{attempt: 40, min: 30 * time.Minute, max: time.Hour},
		{attempt: 64, min: 30 * time.Minute, max: time.Hour}, // would overflow a shift
		{attempt: math.MaxInt, min: 30 * time.Minute, max: time.Hour},
		{attempt: 0, min: 2500 * time.Millisecond, max: 5 * time.Second}, // treated as 1
		{attempt: -5, min: 2500 * time.Millisecond, max: 5 * time.Second},
	}
	// rnd values around [0, 1), and a few it should not return.
	rnds := []float64{0, 0.25, 0.5, math.Nextafter(1, 0), 1, -1, 7, math.NaN()}
	for _, tc := range tests {
		for _, r := range rnds {
			got := webhook.Backoff(tc.attempt, func() float64 { return r })
			require.GreaterOrEqual(t, got, tc.min, "attempt %d, rnd %v", tc.attempt, r)
			require.LessOrEqual(t, got, tc.max, "attempt %d, rnd %v", tc.attempt, r)
			if r >= 0 && r < 1 {
				require.Less(t, got, tc.max, "attempt %d, rnd %v", tc.attempt, r)
			}
		}
		got := webhook.Backoff(tc.attempt, nil)
		require.GreaterOrEqual(t, got, tc.min, "attempt %d, rand", tc.attempt)
		require.Less(t, got, tc.max, "attempt %d, rand", tc.attempt)
	}

	// For a given rnd, delays never shrink from one attempt to the next.
	for _, r := range rnds[:4] {
		prev := time.Duration(0)
		for attempt := 1; attempt <= 100; attempt++ {
			got := webhook.Backoff(attempt, func() float64 { return r })
			require.GreaterOrEqual(t, got, prev, "attempt %d, rnd %v", attempt, r)
			prev = got
		}
	}
	require.Equal(t, 2500*time.Millisecond, webhook.Backoff(1, func() float64 { return 0 }))
	require.Equal(t, 30*time.Minute, webhook.Backoff(20, func() float64 { return 0 }))
}

func TestBackoffRetryWindow(t *testing.T) {
	// The documented count of retries in 24 hours.
	retries := func(r float64) int {
		var total time.Duration
		n := 0
		for {
			total += webhook.Backoff(n+1, func() float64 { return r })
			if total > 24*time.Hour {
				return n
			}
			n++
		}
	}
	require.Equal(t, 56, retries(0))
	require.Equal(t, 40, retries(0.5))
	require.Equal(t, 32, retries(math.Nextafter(1, 0)))
}
