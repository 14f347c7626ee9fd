// Package ticketflow holds the ticket's business rules as pure functions:
// which actions are allowed in which state (API.md §4), where each action
// leads, and the SLA clock arithmetic. Handlers consult it; it knows
// nothing of transport or storage.
package ticketflow

import (
	"fmt"
	"strings"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// State is a ticket state.
type State = aftersalesv1.Ticket_State

// The ticket states, short names for readability of the tables below.
const (
	New        = aftersalesv1.Ticket_NEW
	Assigned   = aftersalesv1.Ticket_ASSIGNED
	Accepted   = aftersalesv1.Ticket_ACCEPTED
	InProgress = aftersalesv1.Ticket_IN_PROGRESS
	Paused     = aftersalesv1.Ticket_PAUSED
	Resolved   = aftersalesv1.Ticket_RESOLVED
	Closed     = aftersalesv1.Ticket_CLOSED
	Reopened   = aftersalesv1.Ticket_REOPENED
	Cancelled  = aftersalesv1.Ticket_CANCELLED
)

// Action is something a caller asks to do to a ticket.
type Action string

// The actions; each is one TicketService method.
const (
	Assign   Action = "assign"
	Accept   Action = "accept"
	Start    Action = "start"
	Pause    Action = "pause"
	Resume   Action = "resume"
	Resolve  Action = "resolve"
	Close    Action = "close"
	Reopen   Action = "reopen"
	Cancel   Action = "cancel"
	Escalate Action = "escalate"
	Update   Action = "update"
	Decide   Action = "approveFee"
	Quote    Action = "quote"
)

// rule says from which states an action is allowed and where it leads.
// A zero `to` means the state does not change.
type rule struct {
	from []State
	to   State
}

// open are the states in which work is still to be done.
var open = []State{New, Assigned, Accepted, InProgress, Paused, Reopened}

var rules = map[Action]rule{
	// Reassigning work under way is allowed (a technician falls ill); a
	// paused ticket must be resumed first so the clock stays consistent.
	Assign:  {from: []State{New, Assigned, Accepted, InProgress, Reopened}, to: Assigned},
	Accept:  {from: []State{Assigned}, to: Accepted},
	Start:   {from: []State{Accepted}, to: InProgress},
	Pause:   {from: []State{InProgress}, to: Paused},
	Resume:  {from: []State{Paused}, to: InProgress},
	Resolve: {from: []State{InProgress}, to: Resolved},
	Close:   {from: []State{Resolved}, to: Closed},
	Reopen:  {from: []State{Resolved}, to: Reopened},
	// "CANCELLED from any state before RESOLVED": a reopened ticket is back
	// before resolution, so it may be withdrawn too.
	Cancel:   {from: open, to: Cancelled},
	Escalate: {from: open},
	Update:   {from: open},
	// A fee decision is taken before the paid work starts, and again on
	// a quote revised while it goes on (a part found worn mid-repair).
	Decide: {from: []State{New, Assigned, Accepted, InProgress, Paused, Reopened}},
	// A quote (and a manager's approval of it) may change while the work
	// is open; the customer's decision is still bound by Decide.
	Quote: {from: open},
}

// TransitionError reports an action that the current state does not allow.
type TransitionError struct {
	Action  Action
	Current State
	Allowed []State
}

func (e *TransitionError) Error() string {
	names := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		names[i] = s.String()
	}
	return fmt.Sprintf("cannot %s a ticket in state %s; allowed from %s", e.Action, e.Current, strings.Join(names, ", "))
}

// Next returns the state after action on a ticket in state from. The
// state is unchanged for actions that do not move the ticket. It returns a
// *TransitionError when the action is not allowed in from.
func Next(from State, action Action) (State, error) {
	r, ok := rules[action]
	if !ok {
		return from, fmt.Errorf("ticketflow: unknown action %q", action)
	}
	for _, s := range r.from {
		if s == from {
			if r.to == aftersalesv1.Ticket_STATE_UNSPECIFIED {
				return from, nil
			}
			return r.to, nil
		}
	}
	return from, &TransitionError{Action: action, Current: from, Allowed: r.from}
}

// IsOpen reports whether work on a ticket in state s is still to be done,
// so its SLA clock may run.
func IsOpen(s State) bool {
	for _, o := range open {
		if o == s {
			return true
		}
	}
	return false
}

// OpenStates returns the states in which a ticket's SLA clock may run.
func OpenStates() []State { return append([]State(nil), open...) }
