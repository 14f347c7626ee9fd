package ticketflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	tf "github.com/aftersales/aftersales/server/internal/ticketflow"
)

// TestNext checks the transition table against API.md §4, written out
// here independently of the table in the code.
func TestNext(t *testing.T) {
	allowed := map[tf.Action]map[tf.State]tf.State{
		tf.Assign:   {tf.New: tf.Assigned, tf.Assigned: tf.Assigned, tf.Accepted: tf.Assigned, tf.InProgress: tf.Assigned, tf.Reopened: tf.Assigned},
		tf.Accept:   {tf.Assigned: tf.Accepted},
		tf.Start:    {tf.Accepted: tf.InProgress},
		tf.Pause:    {tf.InProgress: tf.Paused},
		tf.Resume:   {tf.Paused: tf.InProgress},
		tf.Resolve:  {tf.InProgress: tf.Resolved},
		tf.Close:    {tf.Resolved: tf.Closed},
		tf.Reopen:   {tf.Resolved: tf.Reopened},
		tf.Cancel:   {tf.New: tf.Cancelled, tf.Assigned: tf.Cancelled, tf.Accepted: tf.Cancelled, tf.InProgress: tf.Cancelled, tf.Paused: tf.Cancelled, tf.Reopened: tf.Cancelled},
		tf.Escalate: {tf.New: tf.New, tf.Assigned: tf.Assigned, tf.Accepted: tf.Accepted, tf.InProgress: tf.InProgress, tf.Paused: tf.Paused, tf.Reopened: tf.Reopened},
		tf.Update:   {tf.New: tf.New, tf.Assigned: tf.Assigned, tf.Accepted: tf.Accepted, tf.InProgress: tf.InProgress, tf.Paused: tf.Paused, tf.Reopened: tf.Reopened},
		tf.Decide:   {tf.New: tf.New, tf.Assigned: tf.Assigned, tf.Accepted: tf.Accepted, tf.InProgress: tf.InProgress, tf.Paused: tf.Paused, tf.Reopened: tf.Reopened},
		tf.Quote:    {tf.New: tf.New, tf.Assigned: tf.Assigned, tf.Accepted: tf.Accepted, tf.InProgress: tf.InProgress, tf.Paused: tf.Paused, tf.Reopened: tf.Reopened},
	}
	states := []tf.State{tf.New, tf.Assigned, tf.Accepted, tf.InProgress, tf.Paused, tf.Resolved, tf.Closed, tf.Reopened, tf.Cancelled}
	for action, from := range allowed {
		for _, s := range states {
			got, err := tf.Next(s, action)
			want, ok := from[s]
			if ok {
				require.NoError(t, err, "%s from %s", action, s)
				require.Equal(t, want, got, "%s from %s", action, s)
				continue
			}
			var te *tf.TransitionError
			require.True(t, errors.As(err, &te), "%s from %s must fail", action, s)
			require.Equal(t, s, te.Current)
			require.Contains(t, te.Error(), s.String())
			require.Equal(t, s, got, "state unchanged on failure")
		}
	}
	_, err := tf.Next(tf.New, "fly")
	require.Error(t, err)
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	c := tf.Plan(t0, time.Hour, 8*time.Hour, true)
	require.Equal(t, t0.Add(time.Hour), c.ResponseDue)

	r, s := c.Breaches(t0.Add(59 * time.Minute))
	require.False(t, r)
	require.False(t, s)
	r, _ = c.Breaches(t0.Add(61 * time.Minute))
	require.True(t, r, "no response after the target")

	// A pause before responding moves both due times; judged at the pause.
	p := c.Pause(t0.Add(30 * time.Minute))
	r, s = p.Breaches(t0.Add(20 * time.Hour))
	require.False(t, r, "paused clocks stop")
	require.False(t, s)
	p = p.Resume(t0.Add(2*time.Hour + 30*time.Minute))
	require.Equal(t, 2*time.Hour, p.PausedTotal)
	require.Equal(t, t0.Add(3*time.Hour), p.ResponseDue)
	require.Equal(t, t0.Add(10*time.Hour), p.ResolveDue)

	// After the first response only the resolution due time moves.
	q := c.Respond(t0.Add(10 * time.Minute)).Respond(t0.Add(20 * time.Minute))
	require.Equal(t, t0.Add(10*time.Minute), q.FirstResponse, "first response is kept")
	q = q.Pause(t0.Add(time.Hour)).Resume(t0.Add(2 * time.Hour))
	require.Equal(t, t0.Add(time.Hour), q.ResponseDue)
	require.Equal(t, t0.Add(9*time.Hour), q.ResolveDue)
	r, _ = q.Breaches(t0.Add(5 * time.Hour))
	require.False(t, r, "responded in time")

	// A policy that does not stop the clock ignores pauses.
	n := tf.Plan(t0, time.Hour, 8*time.Hour, false).Pause(t0).Resume(t0.Add(3 * time.Hour))
	require.Equal(t, t0.Add(8*time.Hour), n.ResolveDue)
	_, s = tf.Plan(t0, time.Hour, 8*time.Hour, false).Pause(t0).Breaches(t0.Add(9 * time.Hour))
	require.True(t, s, "clock runs while paused")

	// Replanning keeps paused time out of the count.
	rp := p.Replan(t0, 4*time.Hour, 24*time.Hour, true)
	require.Equal(t, t0.Add(26*time.Hour), rp.ResolveDue)
}

func TestWarranty(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN, tf.Warranty(time.Time{}, now))
	require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tf.Warranty(now.Add(time.Second), now))
	require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_OUT_OF_WARRANTY, tf.Warranty(now, now))
}

func BenchmarkNext(b *testing.B) {
	for b.Loop() {
		_, _ = tf.Next(tf.InProgress, tf.Resolve)
		_, _ = tf.Next(tf.Closed, tf.Reopen)
	}
}

func BenchmarkClock(b *testing.B) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	for b.Loop() {
		c := tf.Plan(t0, time.Hour, 8*time.Hour, true).Pause(t0.Add(time.Hour)).Resume(t0.Add(2 * time.Hour))
		_, _ = c.Breaches(t0.Add(3 * time.Hour))
	}
}
