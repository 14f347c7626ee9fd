// Package complaintflow holds the complaint's business rules as pure
// functions (API.md §4, ISO 10002 shape): which actions are allowed in
// which state, where each leads, and when a complaint is overdue.
// Handlers consult it; it knows nothing of transport or storage.
package complaintflow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// State is a complaint state.
type State = aftersalesv1.Complaint_State

// The complaint states, short names for readability of the tables below.
const (
	Received      = aftersalesv1.Complaint_RECEIVED
	Acknowledged  = aftersalesv1.Complaint_ACKNOWLEDGED
	Investigating = aftersalesv1.Complaint_INVESTIGATING
	Resolved      = aftersalesv1.Complaint_RESOLVED
	Closed        = aftersalesv1.Complaint_CLOSED
	Reopened      = aftersalesv1.Complaint_REOPENED
)

// Action is something a caller asks to do to a complaint.
type Action string

// The actions; each is one ComplaintService method.
const (
	Acknowledge Action = "acknowledge"
	Assign      Action = "assign"
	Escalate    Action = "escalate"
	Resolve     Action = "resolve"
	Close       Action = "close"
	Reopen      Action = "reopen"
	Update      Action = "update"
)

// rule says from which states an action is allowed and where it leads.
// A zero `to` means the state does not change.
type rule struct {
	from []State
	to   State
}

// notClosed are the states in which a complaint may still change: a
// closed one only takes comments, or a reopen.
var notClosed = []State{Received, Acknowledged, Investigating, Resolved, Reopened}

var rules = map[Action]rule{
	Acknowledge: {from: []State{Received}, to: Acknowledged},
	// A complaint is acknowledged to the complainant before anyone
	// investigates it; within INVESTIGATING, Assign hands it over.
	Assign:   {from: []State{Acknowledged, Investigating, Reopened}, to: Investigating},
	Resolve:  {from: []State{Investigating}, to: Resolved},
	Close:    {from: []State{Resolved}, to: Closed},
	Reopen:   {from: []State{Resolved, Closed}, to: Reopened},
	Escalate: {from: notClosed},
	Update:   {from: notClosed},
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
	return fmt.Sprintf("cannot %s a complaint in state %s; allowed from %s", e.Action, e.Current, strings.Join(names, ", "))
}

// Next returns the state after action on a complaint in state from. The
// state is unchanged for actions that do not move the complaint. It
// returns a *TransitionError when the action is not allowed in from.
func Next(from State, action Action) (State, error) {
	r, ok := rules[action]
	if !ok {
		return from, fmt.Errorf("complaintflow: unknown action %q", action)
	}
	if !slices.Contains(r.from, from) {
		return from, &TransitionError{Action: action, Current: from, Allowed: r.from}
	}
	if r.to == aftersalesv1.Complaint_STATE_UNSPECIFIED {
		return from, nil
	}
	return r.to, nil
}

// IsOpen reports whether a complaint in state s still waits for a
// response, so its deadlines run.
func IsOpen(s State) bool { return s != Resolved && s != Closed }

// Overdue reports which deadlines a complaint in state s has missed at
// now: acknowledgement while it is still RECEIVED, resolution while it is
// open at all.
func Overdue(s State, acknowledgeDue, resolveDue, now time.Time) (acknowledge, resolve bool) {
	if !IsOpen(s) {
		return false, false
	}
	return s == Received && now.After(acknowledgeDue), now.After(resolveDue)
}

// DeskMember is a member of the complaints desk, the escalation target
// of last resort: a staff member (their id, or any key that orders the
// same way), with how many open complaints are escalated to them.
type DeskMember struct {
	Staff string
	Open  int
}

// FromDesk chooses who on the desk takes a complaint escalated there from
// below (the staff member it would have gone above, "" for none): the
// member with the fewest open complaints, ties to the lowest key, so the
// choice is deterministic and spreads as loads rise. A complaint is not
// escalated to the person it is escalated from while anyone else is on
// the desk. "" when the desk is empty.
//
// below and the members' Staff are the same kind of key.
func FromDesk(members []DeskMember, below string) string {
	best := DeskMember{}
	for _, m := range members {
		if m.Staff == below && len(members) > 1 {
			continue
		}
		if best.Staff == "" || m.Open < best.Open || m.Open == best.Open && m.Staff < best.Staff {
			best = m
		}
	}
	return best.Staff
}
