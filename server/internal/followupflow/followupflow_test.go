package followupflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/followupflow"
)

func TestCheck(t *testing.T) {
	for _, a := range []followupflow.Action{followupflow.Update, followupflow.Attempt, followupflow.Complete, followupflow.Cancel} {
		require.NoError(t, followupflow.Check(followupflow.Scheduled, a))
		for _, s := range []followupflow.State{followupflow.Completed, followupflow.Unreachable, followupflow.Declined, followupflow.Cancelled} {
			err := followupflow.Check(s, a)
			var te *followupflow.TransitionError
			require.ErrorAs(t, err, &te, "%s from %s", a, s)
			require.Equal(t, s, te.Current)
			require.Contains(t, err.Error(), s.String())
		}
	}
}

func TestAfterAttempt(t *testing.T) {
	const (
		unreachable = aftersalesv1.FollowUpAttempt_UNREACHABLE
		declined    = aftersalesv1.FollowUpAttempt_DECLINED
	)
	for _, tc := range []struct {
		before  int32
		outcome aftersalesv1.FollowUpAttempt_Outcome
		want    followupflow.State
	}{
		{0, unreachable, followupflow.Scheduled},
		{1, unreachable, followupflow.Scheduled},
		{2, unreachable, followupflow.Unreachable},
		{0, declined, followupflow.Declined},
		{2, declined, followupflow.Declined},
	} {
		require.Equal(t, tc.want, followupflow.AfterAttempt(tc.before, tc.outcome), "%d then %s", tc.before, tc.outcome)
	}
}

func TestConsequences(t *testing.T) {
	const (
		resolved   = aftersalesv1.Ticket_RESOLVED
		closed     = aftersalesv1.Ticket_CLOSED
		inProgress = aftersalesv1.Ticket_IN_PROGRESS
	)
	def := followupflow.Thresholds{ComplaintAtOrBelow: 2, CloseAtOrAbove: 3}
	for _, tc := range []struct {
		name         string
		satisfaction int32
		fixed        bool
		ticket       aftersalesv1.Ticket_State
		th           followupflow.Thresholds
		want         followupflow.Outcome
	}{
		{"satisfied closes", 5, true, resolved, def, followupflow.Outcome{Close: true}},
		{"at the close threshold closes", 3, true, resolved, def, followupflow.Outcome{Close: true}},
		{"unhappy but fixed opens a complaint and does not close", 2, true, resolved, def, followupflow.Outcome{Complaint: true}},
		{"not fixed reopens", 4, false, resolved, def, followupflow.Outcome{Reopen: true}},
		{"not fixed and unhappy reopens and complains", 1, false, resolved, def, followupflow.Outcome{Reopen: true, Complaint: true}},
		{"not fixed on a closed ticket complains", 5, false, closed, def, followupflow.Outcome{Complaint: true}},
		{"satisfied on a closed ticket changes nothing", 5, true, closed, def, followupflow.Outcome{}},
		{"work still open: nothing to reopen or close", 4, false, inProgress, def, followupflow.Outcome{}},
		{"complaints switched off", 1, true, resolved, followupflow.Thresholds{CloseAtOrAbove: 2}, followupflow.Outcome{}},
		{"below a raised close threshold stays resolved", 4, true, resolved, followupflow.Thresholds{ComplaintAtOrBelow: 2, CloseAtOrAbove: 5}, followupflow.Outcome{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, followupflow.Consequences(tc.satisfaction, tc.fixed, tc.ticket, tc.th))
		})
	}
}

func TestIndependent(t *testing.T) {
	w := followupflow.Work{Resolver: "staff/res", Assignee: "staff/asg", Partner: "partners/shop"}
	byShop := followupflow.Work{Resolver: "partners/other", Partner: "partners/shop"}
	byShopTech := followupflow.Work{Resolver: "staff/pt", ResolverPartner: "partners/third"}
	for _, tc := range []struct {
		name, staff, partner string
		work                 followupflow.Work
		want                 bool
	}{
		{"someone else", "staff/agent", "", w, true},
		{"the resolver", "staff/res", "", w, false},
		{"the assignee", "staff/asg", "", w, false},
		{"a technician of the ticket's shop", "staff/pt2", "partners/shop", w, false},
		{"a technician of the resolving shop", "staff/pt2", "partners/other", byShop, false},
		{"a colleague of the resolving technician", "staff/pt3", "partners/third", byShopTech, false},
		{"a technician of an unrelated shop", "staff/pt4", "partners/unrelated", w, true},
		{"no work recorded", "staff/agent", "", followupflow.Work{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := followupflow.Independent(tc.staff, tc.partner, tc.work)
			require.Equal(t, tc.want, ok, why)
			require.Equal(t, ok, why == "")
		})
	}
}

func TestAssignees(t *testing.T) {
	w := followupflow.Work{Resolver: "staff/res", Assignee: "staff/asg", Partner: "partners/shop"}
	c := func(staff string, open int) followupflow.Candidate {
		return followupflow.Candidate{Staff: staff, Open: open}
	}
	for _, tc := range []struct {
		name  string
		cands []followupflow.Candidate
		work  followupflow.Work
		want  []string
	}{
		{"nobody", nil, w, []string{}},
		{"least loaded first", []followupflow.Candidate{c("staff/a", 3), c("staff/b", 1), c("staff/c", 2)}, w, []string{"staff/b", "staff/c", "staff/a"}},
		{"ties broken by name", []followupflow.Candidate{c("staff/c", 1), c("staff/a", 1), c("staff/b", 0)}, w, []string{"staff/b", "staff/a", "staff/c"}},
		{"the resolver is never offered, however idle", []followupflow.Candidate{c("staff/res", 0), c("staff/a", 5)}, w, []string{"staff/a"}},
		{"nor the assignee", []followupflow.Candidate{c("staff/asg", 0), c("staff/res", 0)}, w, []string{}},
		{"nor a technician of the shop that did the work", []followupflow.Candidate{
			{Staff: "staff/pt", Partner: "partners/shop"}, {Staff: "staff/other", Partner: "partners/other", Open: 1},
		}, w, []string{"staff/other"}},
		{"no work recorded: everyone", []followupflow.Candidate{c("staff/res", 2), c("staff/asg", 1)}, followupflow.Work{}, []string{"staff/asg", "staff/res"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, followupflow.Assignees(tc.cands, tc.work))
		})
	}
	t.Run("the order of the input does not matter", func(t *testing.T) {
		in := []followupflow.Candidate{c("staff/a", 1), c("staff/b", 0), c("staff/c", 1)}
		want := followupflow.Assignees(in, w)
		rev := []followupflow.Candidate{in[2], in[1], in[0]}
		require.Equal(t, want, followupflow.Assignees(rev, w))
	})
}
