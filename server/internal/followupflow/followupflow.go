// Package followupflow holds the follow-up's business rules as pure
// functions (API.md §4 "Follow-up"): which actions each state allows,
// where an attempt leads, what a survey's answers do to the ticket, and
// who is offered an automatic follow-up.
// Handlers consult it; it knows nothing of transport or storage.
package followupflow

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// State is a follow-up state.
type State = aftersalesv1.FollowUp_State

// The follow-up states.
const (
	Scheduled   = aftersalesv1.FollowUp_SCHEDULED
	Completed   = aftersalesv1.FollowUp_COMPLETED
	Unreachable = aftersalesv1.FollowUp_UNREACHABLE
	Declined    = aftersalesv1.FollowUp_DECLINED
	Cancelled   = aftersalesv1.FollowUp_CANCELLED
)

// MaxAttempts is how many unreachable attempts end a follow-up.
const MaxAttempts = 3

// Action is something a caller asks to do to a follow-up.
type Action string

// The actions; each is one FollowUpService method.
const (
	Update   Action = "update"
	Attempt  Action = "record an attempt on"
	Complete Action = "complete"
	Cancel   Action = "cancel"
)

// TransitionError reports an action on a follow-up that has ended: every
// action needs a SCHEDULED follow-up.
type TransitionError struct {
	Action  Action
	Current State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a follow-up in state %s; allowed from %s", e.Action, e.Current, Scheduled)
}

// Check returns a *TransitionError unless action is allowed in state s.
func Check(s State, action Action) error {
	if s != Scheduled {
		return &TransitionError{Action: action, Current: s}
	}
	return nil
}

// AfterAttempt returns the state after one more attempt with outcome,
// given the number of unreachable attempts before it: a refusal ends the
// follow-up at once; the MaxAttempts-th unreachable attempt ends it too.
func AfterAttempt(unreachableBefore int32, outcome aftersalesv1.FollowUpAttempt_Outcome) State {
	switch {
	case outcome == aftersalesv1.FollowUpAttempt_DECLINED:
		return Declined
	case unreachableBefore+1 >= MaxAttempts:
		return Unreachable
	}
	return Scheduled
}

// Thresholds are the configurable satisfaction levels that decide a
// survey's consequences.
type Thresholds struct {
	// ComplaintAtOrBelow opens a complaint; 0 never does.
	ComplaintAtOrBelow int32
	// CloseAtOrAbove closes a RESOLVED ticket whose issue is resolved.
	CloseAtOrAbove int32
}

// Outcome is what a survey does to its ticket.
type Outcome struct {
	// Reopen: the problem persists and the ticket is RESOLVED.
	Reopen bool
	// Close: the customer is satisfied and the ticket is RESOLVED.
	Close bool
	// Complaint: a manager must look at it, because the customer is
	// unhappy, or because the problem persists on a ticket that can no
	// longer be reopened (CLOSED).
	Complaint bool
}

// Consequences decides what a survey with satisfaction and issueResolved
// does to a ticket in state ticket.
func Consequences(satisfaction int32, issueResolved bool, ticket aftersalesv1.Ticket_State, t Thresholds) Outcome {
	var o Outcome
	resolved := ticket == aftersalesv1.Ticket_RESOLVED
	switch {
	case !issueResolved && resolved:
		o.Reopen = true
	case !issueResolved && ticket == aftersalesv1.Ticket_CLOSED:
		o.Complaint = true
	case issueResolved && resolved && satisfaction >= t.CloseAtOrAbove:
		o.Close = true
	}
	if t.ComplaintAtOrBelow > 0 && satisfaction <= t.ComplaintAtOrBelow {
		o.Complaint = true
	}
	return o
}

// Work is who did the work on a ticket, by resource name: none of them
// may follow it up.
type Work struct {
	// Resolver is the actor who resolved the ticket: "staff/…" or
	// "partners/…"; ResolverPartner the resolving staff member's shop.
	Resolver, ResolverPartner string
	// Assignee and Partner are the ticket's.
	Assignee, Partner string
}

// Independent reports whether staff member staff (a "staff/…" name), a
// technician of partner shop partner ("" for the company's own staff),
// is independent of the work; if not, it says why.
func Independent(staff, partner string, w Work) (bool, string) {
	switch {
	case staff == w.Resolver:
		return false, staff + " resolved the ticket"
	case staff == w.Assignee:
		return false, staff + " is the ticket's assignee"
	case partner != "" && (partner == w.Partner || partner == w.Resolver || partner == w.ResolverPartner):
		return false, staff + " is a technician of " + partner + ", which did the work"
	}
	return true, ""
}

// Candidate is a staff member who could be given an automatic follow-up:
// a qualified agent, by resource name, with their shop ("" for the
// company's own staff) and how many SCHEDULED follow-ups they have.
type Candidate struct {
	Staff, Partner string
	Open           int
}

// Assignees returns the candidates who may perform the follow-up of work
// w (Independent), in the order they should be offered it: fewest open
// follow-ups first, then by name. Least-loaded keeps the queues level
// even when people join or return from leave with empty queues, which
// round-robin would not; the name breaks ties so that the choice is
// deterministic, and every equally loaded agent gets a turn because each
// assignment raises the chosen one's load. Empty when nobody qualifies.
func Assignees(cands []Candidate, w Work) []string {
	ok := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if independent, _ := Independent(c.Staff, c.Partner, w); independent {
			ok = append(ok, c)
		}
	}
	slices.SortFunc(ok, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(a.Open, b.Open), strings.Compare(a.Staff, b.Staff))
	})
	out := make([]string, len(ok))
	for i, c := range ok {
		out[i] = c.Staff
	}
	return out
}
