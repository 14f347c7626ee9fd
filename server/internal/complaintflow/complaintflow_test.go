package complaintflow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	cf "github.com/aftersales/aftersales/server/internal/complaintflow"
)

// TestNext checks the transition table against API.md §4, written out
// here independently of the table in the code.
func TestNext(t *testing.T) {
	same := func(states ...cf.State) map[cf.State]cf.State {
		m := map[cf.State]cf.State{}
		for _, s := range states {
			m[s] = s
		}
		return m
	}
	allowed := map[cf.Action]map[cf.State]cf.State{
		cf.Acknowledge: {cf.Received: cf.Acknowledged},
		cf.Assign:      {cf.Acknowledged: cf.Investigating, cf.Investigating: cf.Investigating, cf.Reopened: cf.Investigating},
		cf.Resolve:     {cf.Investigating: cf.Resolved},
		cf.Close:       {cf.Resolved: cf.Closed},
		cf.Reopen:      {cf.Resolved: cf.Reopened, cf.Closed: cf.Reopened},
		cf.Escalate:    same(cf.Received, cf.Acknowledged, cf.Investigating, cf.Resolved, cf.Reopened),
		cf.Update:      same(cf.Received, cf.Acknowledged, cf.Investigating, cf.Resolved, cf.Reopened),
	}
	states := []cf.State{cf.Received, cf.Acknowledged, cf.Investigating, cf.Resolved, cf.Closed, cf.Reopened}
	for action, from := range allowed {
		for _, s := range states {
			got, err := cf.Next(s, action)
			want, ok := from[s]
			if ok {
				require.NoError(t, err, "%s from %s", action, s)
				require.Equal(t, want, got, "%s from %s", action, s)
				continue
			}
			var te *cf.TransitionError
			require.True(t, errors.As(err, &te), "%s from %s must fail", action, s)
			require.Equal(t, s, te.Current)
			require.Contains(t, te.Error(), s.String())
			require.Equal(t, s, got, "state unchanged on failure")
		}
	}
	_, err := cf.Next(cf.Received, "fly")
	require.Error(t, err)
}

func TestOverdue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	ack, res := t0.Add(time.Hour), t0.Add(24*time.Hour)
	for _, tc := range []struct {
		state    cf.State
		at       time.Time
		ack, res bool
	}{
		{cf.Received, t0.Add(time.Hour), false, false},
		{cf.Received, t0.Add(61 * time.Minute), true, false},
		{cf.Received, t0.Add(25 * time.Hour), true, true},
		{cf.Acknowledged, t0.Add(2 * time.Hour), false, false},
		{cf.Investigating, t0.Add(25 * time.Hour), false, true},
		{cf.Reopened, t0.Add(25 * time.Hour), false, true},
		{cf.Resolved, t0.Add(25 * time.Hour), false, false},
		{cf.Closed, t0.Add(25 * time.Hour), false, false},
	} {
		a, r := cf.Overdue(tc.state, ack, res, tc.at)
		require.Equal(t, tc.ack, a, "%s at %s: acknowledgement", tc.state, tc.at)
		require.Equal(t, tc.res, r, "%s at %s: resolution", tc.state, tc.at)
	}
}

func TestFromDesk(t *testing.T) {
	m := func(staff string, open int) cf.DeskMember { return cf.DeskMember{Staff: staff, Open: open} }
	for _, tc := range []struct {
		name    string
		members []cf.DeskMember
		below   string
		want    string
	}{
		{"an empty desk: nobody", nil, "staff/x", ""},
		{"one member", []cf.DeskMember{m("staff/a", 7)}, "", "staff/a"},
		{"the least busy", []cf.DeskMember{m("staff/a", 3), m("staff/b", 1), m("staff/c", 2)}, "", "staff/b"},
		{"ties to the lowest name", []cf.DeskMember{m("staff/c", 1), m("staff/b", 1), m("staff/d", 4)}, "", "staff/b"},
		{"not the one it comes from", []cf.DeskMember{m("staff/a", 0), m("staff/b", 9)}, "staff/a", "staff/b"},
		{"unless they are the whole desk", []cf.DeskMember{m("staff/a", 0)}, "staff/a", "staff/a"},
		{"someone below who is not on the desk changes nothing", []cf.DeskMember{m("staff/a", 1), m("staff/b", 0)}, "staff/z", "staff/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, cf.FromDesk(tc.members, tc.below))
		})
	}
}
