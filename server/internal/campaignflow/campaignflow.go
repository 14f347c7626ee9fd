// Package campaignflow holds a campaign's business rules as pure
// functions: which actions each state allows and where they lead, what a
// campaign's type implies for its tickets, and what a change of a
// campaign ticket or an outreach result does to its target.
package campaignflow

import (
	"fmt"
	"slices"
	"strings"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// State is a campaign state.
type State = aftersalesv1.Campaign_State

// The campaign states.
const (
	Draft     = aftersalesv1.Campaign_DRAFT
	Launching = aftersalesv1.Campaign_LAUNCHING
	Paused    = aftersalesv1.Campaign_PAUSED
	Active    = aftersalesv1.Campaign_ACTIVE
	Completed = aftersalesv1.Campaign_COMPLETED
	Cancelled = aftersalesv1.Campaign_CANCELLED
)

// Action is something done to a campaign.
type Action string

// The actions: the API's methods, and the launch worker's and the
// targets' own moves (Launched, Complete).
const (
	Update    Action = "update"
	EditDraft Action = "update a draft's target, type, owner, priority or flags"
	Launch    Action = "launch"
	Pause     Action = "pause"
	Cancel    Action = "cancel"
	Launched  Action = "finish launching"
	Complete  Action = "complete"
)

type rule struct {
	from []State
	to   State
}

var rules = map[Action]rule{
	Update:    {from: []State{Draft, Launching, Paused, Active}},
	EditDraft: {from: []State{Draft}},
	Launch:    {from: []State{Draft, Paused}, to: Launching},
	Pause:     {from: []State{Launching}, to: Paused},
	Cancel:    {from: []State{Draft, Launching, Paused, Active}, to: Cancelled},
	Launched:  {from: []State{Launching}, to: Active},
	Complete:  {from: []State{Active}, to: Completed},
}

// TransitionError reports an action the campaign's state does not allow.
type TransitionError struct {
	Current State
	Action  Action
	Allowed []State
}

func (e *TransitionError) Error() string {
	names := make([]string, len(e.Allowed))
	for i, s := range e.Allowed {
		names[i] = s.String()
	}
	return fmt.Sprintf("cannot %s a campaign in state %s; allowed in: %s", e.Action, e.Current, strings.Join(names, ", "))
}

// Next returns the state after action from state from (from itself when
// the action does not move it), or a *TransitionError.
func Next(from State, a Action) (State, error) {
	r, ok := rules[a]
	if !ok || !slices.Contains(r.from, from) {
		return from, &TransitionError{Current: from, Action: a, Allowed: r.from}
	}
	if r.to == 0 {
		return from, nil
	}
	return r.to, nil
}

// TicketType is the type of the tickets a campaign of type t opens.
func TicketType(t aftersalesv1.Campaign_Type) aftersalesv1.Ticket_Type {
	switch t {
	case aftersalesv1.Campaign_RECALL:
		return aftersalesv1.Ticket_RECALL
	case aftersalesv1.Campaign_INSPECTION:
		return aftersalesv1.Ticket_INSPECTION
	case aftersalesv1.Campaign_FIRMWARE_UPDATE:
		return aftersalesv1.Ticket_MAINTENANCE
	}
	return aftersalesv1.Ticket_TYPE_UNSPECIFIED
}

// Flags applies what a campaign's type implies to the flags asked for: a
// recall is always free of charge and never notice-only, a safety notice
// always notice-only, an inspection never notice-only. It returns the
// flags to store, or a description of why noticeOnly cannot be had.
func Flags(t aftersalesv1.Campaign_Type, free, noticeOnly bool) (bool, bool, string) {
	switch t {
	case aftersalesv1.Campaign_RECALL:
		if noticeOnly {
			return false, false, "a RECALL opens a ticket per product; it cannot be notice-only"
		}
		return true, false, ""
	case aftersalesv1.Campaign_SAFETY_NOTICE:
		return free, true, ""
	case aftersalesv1.Campaign_INSPECTION:
		if noticeOnly {
			return false, false, "an INSPECTION opens a ticket per product; it cannot be notice-only"
		}
	}
	return free, noticeOnly, ""
}

// TargetState is a campaign target's outcome.
type TargetState = aftersalesv1.CampaignTarget_State

// The target states.
const (
	Notified     = aftersalesv1.CampaignTarget_NOTIFIED
	TicketOpened = aftersalesv1.CampaignTarget_TICKET_OPENED
	Done         = aftersalesv1.CampaignTarget_COMPLETED
	Declined     = aftersalesv1.CampaignTarget_DECLINED
	Unreachable  = aftersalesv1.CampaignTarget_UNREACHABLE
	Withdrawn    = aftersalesv1.CampaignTarget_CANCELLED
)

// OpenTargets are the target states that have not ended.
var OpenTargets = []TargetState{Notified, TicketOpened}

// Ended reports whether a target in state s has ended.
func Ended(s TargetState) bool { return !slices.Contains(OpenTargets, s) }

// AfterTicket returns the state of a target in state s whose ticket is
// now in state ticket, and whether it changed. A resolved or closed
// ticket completes the target, a cancelled one cancels it, and a
// reopened ticket takes a completed target back to TICKET_OPENED. A
// target that ended otherwise (declined, unreachable, cancelled) stays.
func AfterTicket(s TargetState, ticket aftersalesv1.Ticket_State) (TargetState, bool) {
	switch {
	case s == TicketOpened && (ticket == aftersalesv1.Ticket_RESOLVED || ticket == aftersalesv1.Ticket_CLOSED):
		return Done, true
	case s == TicketOpened && ticket == aftersalesv1.Ticket_CANCELLED:
		return Withdrawn, true
	case s == Done && ticket == aftersalesv1.Ticket_REOPENED:
		return TicketOpened, true
	}
	return s, false
}

// OutreachError reports an outreach outcome the target's state does not
// allow.
type OutreachError struct {
	Current TargetState
	Outcome aftersalesv1.RecordCampaignOutreachRequest_Outcome
}

func (e *OutreachError) Error() string {
	if e.Outcome == aftersalesv1.RecordCampaignOutreachRequest_ACKNOWLEDGED && e.Current == TicketOpened {
		return "ACKNOWLEDGED completes a notice-only target; this target has a ticket, which completes it when resolved"
	}
	return fmt.Sprintf("the target is %s and has ended; outreach can be recorded on NOTIFIED or TICKET_OPENED targets", e.Current)
}

// AfterOutreach returns the state of a target in state s after an
// outreach outcome: ACKNOWLEDGED completes a notified target; DECLINED
// and UNREACHABLE end any open target.
func AfterOutreach(s TargetState, o aftersalesv1.RecordCampaignOutreachRequest_Outcome) (TargetState, error) {
	if Ended(s) {
		return s, &OutreachError{Current: s, Outcome: o}
	}
	switch o {
	case aftersalesv1.RecordCampaignOutreachRequest_ACKNOWLEDGED:
		if s != Notified {
			return s, &OutreachError{Current: s, Outcome: o}
		}
		return Done, nil
	case aftersalesv1.RecordCampaignOutreachRequest_DECLINED:
		return Declined, nil
	case aftersalesv1.RecordCampaignOutreachRequest_UNREACHABLE:
		return Unreachable, nil
	}
	return s, &OutreachError{Current: s, Outcome: o}
}
