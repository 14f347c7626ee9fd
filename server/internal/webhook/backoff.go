package webhook

import (
	"math/rand/v2"
	"time"
)

// Bounds of Backoff.
const (
	// BackoffBase is the delay before the first retry, before jitter.
	BackoffBase = 5 * time.Second
	// BackoffCap is the longest delay between two attempts, before
	// jitter.
	BackoffCap = time.Hour
)

// Backoff returns the delay before retry number attempt (1 for the first
// retry, after the first delivery failed): BackoffBase doubled on every
// retry up to BackoffCap, with "equal jitter" (half of it fixed and the
// other half random, rnd() times it). rnd returns values in [0, 1); nil
// means math/rand/v2. The result for attempt 1 is thus in [2.5s, 5s), and
// from attempt 11 on in [30m, 1h).
//
// The jitter spreads out the retries of deliveries that failed together,
// as when a receiver was down, so that they do not all arrive together
// when it comes back; the fixed half keeps the delays growing.
//
// The delays add up to about 64 minutes over the first 10 retries and
// 45 minutes a retry after that, so a 24-hour retry window allows about
// 40 retries (at least 32, at most 56, depending on the jitter).
func Backoff(attempt int, rnd func() float64) time.Duration {
	if rnd == nil {
		rnd = rand.Float64
	}
	d := BackoffCap
	// Past 2^20 the doubling would be long past the cap; stopping there
	// also keeps the shift from overflowing.
	if attempt < 20 {
		d = min(BackoffBase<<max(attempt-1, 0), BackoffCap)
	}
	half := d / 2
	// Clamp rnd's value, so that a misbehaving rnd cannot make the delay
	// negative or huge; !(r > 0) also catches NaN.
	r := rnd()
	switch {
	case !(r > 0):
		r = 0
	case r > 1:
		r = 1
	}
	return half + time.Duration(r*float64(half))
}
