package service_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// allActions are every ticket action, in the order the matrix tries them.
var allActions = []ticketflow.Action{
	ticketflow.Assign, ticketflow.Accept, ticketflow.Start, ticketflow.Pause, ticketflow.Resume,
	ticketflow.Resolve, ticketflow.Close, ticketflow.Reopen, ticketflow.Cancel, ticketflow.Escalate,
	ticketflow.Decide, ticketflow.Update,
}

// allStates are every ticket state, in lifecycle order.
var allStates = []aftersalesv1.Ticket_State{
	ticketflow.New, ticketflow.Assigned, ticketflow.Accepted, ticketflow.InProgress, ticketflow.Paused,
	ticketflow.Resolved, ticketflow.Closed, ticketflow.Reopened, ticketflow.Cancelled,
}

// pathTo is how a fresh ticket reaches each state through the API.
var pathTo = map[aftersalesv1.Ticket_State][]ticketflow.Action{
	ticketflow.New:        nil,
	ticketflow.Assigned:   {ticketflow.Assign},
	ticketflow.Accepted:   {ticketflow.Assign, ticketflow.Accept},
	ticketflow.InProgress: {ticketflow.Assign, ticketflow.Accept, ticketflow.Start},
	ticketflow.Paused:     {ticketflow.Assign, ticketflow.Accept, ticketflow.Start, ticketflow.Pause},
	ticketflow.Resolved:   {ticketflow.Assign, ticketflow.Accept, ticketflow.Start, ticketflow.Resolve},
	ticketflow.Closed:     {ticketflow.Assign, ticketflow.Accept, ticketflow.Start, ticketflow.Resolve, ticketflow.Close},
	ticketflow.Reopened:   {ticketflow.Assign, ticketflow.Accept, ticketflow.Start, ticketflow.Resolve, ticketflow.Reopen},
	ticketflow.Cancelled:  {ticketflow.Cancel},
}

// eventOf is the timeline event each successful action appends.
var eventOf = map[ticketflow.Action]aftersalesv1.TicketEvent_Type{
	ticketflow.Assign:   aftersalesv1.TicketEvent_ASSIGNED,
	ticketflow.Accept:   aftersalesv1.TicketEvent_ACCEPTED,
	ticketflow.Start:    aftersalesv1.TicketEvent_STARTED,
	ticketflow.Pause:    aftersalesv1.TicketEvent_PAUSED,
	ticketflow.Resume:   aftersalesv1.TicketEvent_RESUMED,
	ticketflow.Resolve:  aftersalesv1.TicketEvent_RESOLVED,
	ticketflow.Close:    aftersalesv1.TicketEvent_CLOSED,
	ticketflow.Reopen:   aftersalesv1.TicketEvent_REOPENED,
	ticketflow.Cancel:   aftersalesv1.TicketEvent_CANCELLED,
	ticketflow.Escalate: aftersalesv1.TicketEvent_ESCALATED,
	ticketflow.Decide:   aftersalesv1.TicketEvent_FEE_DECIDED,
	ticketflow.Update:   aftersalesv1.TicketEvent_UPDATED,
}

// spotCheck is one transition fixed by API.md §4 (and the TicketService
// comments) independently of the ticketflow table, so that a wrong table
// cannot make the matrix below pass by agreeing with itself.
type spotCheck struct {
	from   aftersalesv1.Ticket_State
	action ticketflow.Action
	legal  bool
	to     aftersalesv1.Ticket_State // checked when legal
}

var spotChecks = []spotCheck{
	// The happy path: NEW → ASSIGNED → ACCEPTED → IN_PROGRESS → RESOLVED → CLOSED.
	{ticketflow.New, ticketflow.Assign, true, ticketflow.Assigned},
	{ticketflow.Assigned, ticketflow.Accept, true, ticketflow.Accepted},
	{ticketflow.Accepted, ticketflow.Start, true, ticketflow.InProgress},
	{ticketflow.InProgress, ticketflow.Resolve, true, ticketflow.Resolved},
	{ticketflow.Resolved, ticketflow.Close, true, ticketflow.Closed},
	// IN_PROGRESS ⇄ PAUSED.
	{ticketflow.InProgress, ticketflow.Pause, true, ticketflow.Paused},
	{ticketflow.Paused, ticketflow.Resume, true, ticketflow.InProgress},
	// RESOLVED → REOPENED → ASSIGNED.
	{ticketflow.Resolved, ticketflow.Reopen, true, ticketflow.Reopened},
	{ticketflow.Reopened, ticketflow.Assign, true, ticketflow.Assigned},
	// CANCELLED from any state before RESOLVED.
	{ticketflow.New, ticketflow.Cancel, true, ticketflow.Cancelled},
	{ticketflow.Assigned, ticketflow.Cancel, true, ticketflow.Cancelled},
	{ticketflow.InProgress, ticketflow.Cancel, true, ticketflow.Cancelled},
	{ticketflow.Paused, ticketflow.Cancel, true, ticketflow.Cancelled},
	// Escalation is a level, not a state.
	{ticketflow.InProgress, ticketflow.Escalate, true, ticketflow.InProgress},
	// Everything else is illegal.
	{ticketflow.Closed, ticketflow.Reopen, false, 0},
	{ticketflow.Paused, ticketflow.Resolve, false, 0},
	{ticketflow.Resolved, ticketflow.Cancel, false, 0},
	{ticketflow.Closed, ticketflow.Cancel, false, 0},
	{ticketflow.Cancelled, ticketflow.Reopen, false, 0},
	{ticketflow.Cancelled, ticketflow.Assign, false, 0},
	{ticketflow.Closed, ticketflow.Assign, false, 0},
	{ticketflow.New, ticketflow.Accept, false, 0},
	{ticketflow.New, ticketflow.Start, false, 0},
	{ticketflow.New, ticketflow.Close, false, 0},
	{ticketflow.New, ticketflow.Resume, false, 0},
	{ticketflow.Assigned, ticketflow.Start, false, 0},
	{ticketflow.Assigned, ticketflow.Pause, false, 0},
	{ticketflow.Accepted, ticketflow.Resolve, false, 0},
	{ticketflow.Resolved, ticketflow.Start, false, 0},
	{ticketflow.Resolved, ticketflow.Resolve, false, 0},
	{ticketflow.InProgress, ticketflow.Start, false, 0},
	// Fees are decided before paid work starts, and again on a quote
	// revised during it; never once the work is done.
	{ticketflow.InProgress, ticketflow.Decide, true, ticketflow.InProgress},
	{ticketflow.Resolved, ticketflow.Decide, false, 0},
	{ticketflow.Closed, ticketflow.Escalate, false, 0},
	{ticketflow.Closed, ticketflow.Update, false, 0},
	{ticketflow.Cancelled, ticketflow.Update, false, 0},
}

// allowedFrom derives from the ticketflow table the states an action is
// allowed from.
func allowedFrom(action ticketflow.Action) []aftersalesv1.Ticket_State {
	var out []aftersalesv1.Ticket_State
	for _, s := range allStates {
		if _, err := ticketflow.Next(s, action); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// tflow drives tickets through the API for the transition tests.
type tflow struct {
	e *env
	f *fixture
}

// create opens an in-warranty ticket (so Start needs no approval) that
// carries a fee quote (so ApproveTicketFee has something to decide).
func (w tflow) create(t *testing.T) *aftersalesv1.Ticket {
	t.Helper()
	tk, err := w.e.tickets.CreateTicket(as(w.f.agent.GetName()), &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
		Customer: w.f.customer.GetName(), Product: w.f.inWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
		Channel: aftersalesv1.Ticket_PHONE, Title: "Washer leaks",
		FeeQuote: &aftersalesv1.FeeQuote{Labor: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 5000}, Description: "extra hose"},
	}})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tk.GetWarrantyStatus())
	return tk
}

// act performs action on tk with a request that is valid apart from the
// state, sending tk's etag. The agent does everything: the desk may call
// every ticket method and sees every ticket (API.md §5), so only the state
// decides.
func (w tflow) act(tk *aftersalesv1.Ticket, action ticketflow.Action) (*aftersalesv1.Ticket, error) {
	ctx := as(w.f.agent.GetName())
	name, etag := tk.GetName(), tk.GetEtag()
	ts := w.e.tickets
	switch action {
	case ticketflow.Assign:
		return ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: name, Etag: etag, Assignee: w.f.technician.GetName()})
	case ticketflow.Accept:
		return ts.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: name, Etag: etag})
	case ticketflow.Start:
		return ts.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: name, Etag: etag})
	case ticketflow.Pause:
		return ts.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: name, Etag: etag, Reason: "waiting for parts"})
	case ticketflow.Resume:
		return ts.ResumeTicket(ctx, &aftersalesv1.ResumeTicketRequest{Name: name, Etag: etag})
	case ticketflow.Resolve:
		return ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: name, Etag: etag, Resolution: &aftersalesv1.Resolution{
			FaultCategory: "PLUMBING", FaultCode: "P1", Summary: "replaced the hose",
		}})
	case ticketflow.Close:
		return ts.CloseTicket(ctx, &aftersalesv1.CloseTicketRequest{Name: name, Etag: etag})
	case ticketflow.Reopen:
		return ts.ReopenTicket(ctx, &aftersalesv1.ReopenTicketRequest{Name: name, Etag: etag, Reason: "leaks again"})
	case ticketflow.Cancel:
		return ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: name, Etag: etag, Reason: "customer withdrew"})
	case ticketflow.Escalate:
		return ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: name, Etag: etag, Reason: "VIP customer"})
	case ticketflow.Decide:
		return ts.ApproveTicketFee(ctx, &aftersalesv1.ApproveTicketFeeRequest{Name: name, Etag: etag, Approved: true})
	case ticketflow.Update:
		return ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{
			Ticket:     &aftersalesv1.Ticket{Name: name, Etag: etag, Title: "Washer leaks badly"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
	}
	panic("unknown action " + action)
}

// into opens a ticket and drives it into state.
func (w tflow) into(t *testing.T, state aftersalesv1.Ticket_State) *aftersalesv1.Ticket {
	t.Helper()
	tk := w.create(t)
	for _, a := range pathTo[state] {
		var err error
		tk, err = w.act(tk, a)
		require.NoError(t, err, "driving to %s: %s", state, a)
	}
	require.Equal(t, state, tk.GetState())
	return tk
}

// snapshot is what must not change when an action is refused.
type snapshot struct {
	etag   string
	events int
}

func (w tflow) snap(t *testing.T, name string) snapshot {
	t.Helper()
	tk, err := w.e.tickets.GetTicket(as(w.f.agent.GetName()), &aftersalesv1.GetTicketRequest{Name: name})
	require.NoError(t, err)
	evs, err := w.e.tickets.ListTicketEvents(as(w.f.agent.GetName()), &aftersalesv1.ListTicketEventsRequest{Parent: name, PageSize: 1000})
	require.NoError(t, err)
	return snapshot{etag: tk.GetEtag(), events: len(evs.GetEvents())}
}

func (w tflow) lastEvent(t *testing.T, name string) *aftersalesv1.TicketEvent {
	t.Helper()
	evs, err := w.e.tickets.ListTicketEvents(as(w.f.agent.GetName()), &aftersalesv1.ListTicketEventsRequest{Parent: name, PageSize: 1000})
	require.NoError(t, err)
	require.NotEmpty(t, evs.GetEvents())
	return evs.GetEvents()[len(evs.GetEvents())-1]
}

// requireIllegal asserts err is the refusal of action from state: the
// code and reason, and a PreconditionFailure whose subject is the state
// and whose description names every state the action is allowed from.
func requireIllegal(t *testing.T, err error, state aftersalesv1.Ticket_State, action ticketflow.Action) {
	t.Helper()
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
	vs := apierr.PreconditionViolations(err)
	require.Len(t, vs, 1, "error: %v", err)
	require.Equal(t, "STATE", vs[0].GetType())
	require.Equal(t, state.String(), vs[0].GetSubject())
	for _, s := range allowedFrom(action) {
		require.Contains(t, vs[0].GetDescription(), s.String(), "the description names the allowed states")
	}
}

// TestTicketStateMachine drives a ticket into every state through the
// API and tries every action there: what the rule table allows succeeds
// and lands where the table says; everything else is FAILED_PRECONDITION
// INVALID_STATE_TRANSITION and changes nothing.
func TestTicketStateMachine(t *testing.T) {
	// The test's lists must cover the API's states, or a new state would
	// silently go untested.
	for n, name := range aftersalesv1.Ticket_State_name {
		if n != 0 {
			require.Contains(t, allStates, aftersalesv1.Ticket_State(n), "state %s is not tested", name)
			require.Contains(t, pathTo, aftersalesv1.Ticket_State(n), "no path to state %s", name)
		}
	}
	for _, a := range allActions {
		_, err := ticketflow.Next(ticketflow.New, a)
		var te *ticketflow.TransitionError
		require.True(t, err == nil || errors.As(err, &te), "ticketflow does not know action %q: %v", a, err)
	}

	t.Run("spot checks of the rule table against API.md", func(t *testing.T) {
		for _, sc := range spotChecks {
			to, err := ticketflow.Next(sc.from, sc.action)
			if sc.legal {
				require.NoError(t, err, "%s from %s must be legal", sc.action, sc.from)
				require.Equal(t, sc.to, to, "%s from %s", sc.action, sc.from)
			} else {
				require.Error(t, err, "%s from %s must be illegal", sc.action, sc.from)
			}
		}
	})

	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			w := tflow{e: e, f: e.seed()}
			// observed[state][action] records what the API did, for the
			// spot checks at the end.
			observed := map[aftersalesv1.Ticket_State]map[ticketflow.Action]bool{}

			for _, state := range allStates {
				observed[state] = map[ticketflow.Action]bool{}
				t.Run(state.String(), func(t *testing.T) {
					// One ticket takes every refused action in turn; it
					// must come out of each unchanged.
					probe := w.into(t, state)
					before := w.snap(t, probe.GetName())
					for _, action := range allActions {
						want, ruleErr := ticketflow.Next(state, action)
						t.Run(string(action), func(t *testing.T) {
							if ruleErr != nil {
								_, err := w.act(probe, action)
								requireIllegal(t, err, state, action)
								require.Equal(t, before, w.snap(t, probe.GetName()), "a refused %s changed the ticket", action)
								return
							}
							observed[state][action] = true
							tk := w.into(t, state)
							prev := w.snap(t, tk.GetName())
							got, err := w.act(tk, action)
							require.NoError(t, err)
							require.Equal(t, want, got.GetState())
							require.NotEqual(t, prev.etag, got.GetEtag(), "a change makes a new etag")
							after := w.snap(t, tk.GetName())
							require.Equal(t, got.GetEtag(), after.etag)
							require.Equal(t, prev.events+1, after.events, "one timeline event per action")
							ev := w.lastEvent(t, tk.GetName())
							require.Equal(t, eventOf[action], ev.GetType())
							if want != state {
								require.Equal(t, state, ev.GetFromState())
								require.Equal(t, want, ev.GetToState())
							}
						})
					}
				})
			}

			t.Run("API agrees with the spot checks", func(t *testing.T) {
				for _, sc := range spotChecks {
					require.Equal(t, sc.legal, observed[sc.from][sc.action], "%s from %s over the API", sc.action, sc.from)
				}
			})

			t.Run("fee approval without a quote is refused for the quote, not the state", func(t *testing.T) {
				tk := e.newTicket(w.f, w.f.inWarranty)
				_, err := e.tickets.ApproveTicketFee(as(w.f.agent.GetName()), &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED)
			})

			t.Run("out-of-warranty start needs an approved quote", func(t *testing.T) {
				tk := e.newTicket(w.f, w.f.outOfWarranty)
				tk, err := w.act(tk, ticketflow.Assign)
				require.NoError(t, err)
				tk, err = w.act(tk, ticketflow.Accept)
				require.NoError(t, err)
				before := w.snap(t, tk.GetName())
				_, err = w.act(tk, ticketflow.Start)
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED)
				require.Equal(t, before, w.snap(t, tk.GetName()))
			})

			t.Run("JSON", func(t *testing.T) {
				agent := w.f.agent.GetName()
				newT := w.into(t, ticketflow.New)
				paused := w.into(t, ticketflow.Paused)
				resolved := w.into(t, ticketflow.Resolved)
				closed := w.into(t, ticketflow.Closed)
				cancelled := w.into(t, ticketflow.Cancelled)
				cases := []struct {
					name   string
					tk     *aftersalesv1.Ticket
					method string
					verb   string // custom method, or "" for PATCH
					body   any
					state  aftersalesv1.Ticket_State
					action ticketflow.Action
				}{
					{"close NEW", newT, http.MethodPost, "close", map[string]any{}, ticketflow.New, ticketflow.Close},
					{"start NEW", newT, http.MethodPost, "start", map[string]any{}, ticketflow.New, ticketflow.Start},
					{"resolve PAUSED", paused, http.MethodPost, "resolve", map[string]any{"resolution": map[string]any{"faultCategory": "PLUMBING", "faultCode": "P1", "summary": "fixed"}}, ticketflow.Paused, ticketflow.Resolve},
					{"cancel RESOLVED", resolved, http.MethodPost, "cancel", map[string]any{"reason": "no longer needed"}, ticketflow.Resolved, ticketflow.Cancel},
					{"reopen CLOSED", closed, http.MethodPost, "reopen", map[string]any{"reason": "leaks again"}, ticketflow.Closed, ticketflow.Reopen},
					{"escalate CANCELLED", cancelled, http.MethodPost, "escalate", map[string]any{"reason": "angry"}, ticketflow.Cancelled, ticketflow.Escalate},
					{"update CLOSED", closed, http.MethodPatch, "", map[string]any{"title": "new title"}, ticketflow.Closed, ticketflow.Update},
				}
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) {
						before := w.snap(t, c.tk.GetName())
						path := "/v1/" + c.tk.GetName()
						if c.verb != "" {
							path += ":" + c.verb
						} else {
							path += "?updateMask=title"
						}
						r := e.do(c.method, path, agent, c.body)
						requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
						require.EqualValues(t, 9, r.body["code"])
						pf := jsonDetail(r, "google.rpc.PreconditionFailure")
						require.NotNil(t, pf, string(r.raw))
						vs, _ := pf["violations"].([]any)
						require.Len(t, vs, 1, string(r.raw))
						v := vs[0].(map[string]any)
						require.Equal(t, c.state.String(), v["subject"])
						for _, s := range allowedFrom(c.action) {
							require.Contains(t, v["description"], s.String())
						}
						require.Equal(t, before, w.snap(t, c.tk.GetName()))
					})
				}
				t.Run("cancel NEW is allowed", func(t *testing.T) {
					r := e.do(http.MethodPost, "/v1/"+newT.GetName()+":cancel", agent, map[string]any{"reason": "duplicate", "etag": newT.GetEtag()})
					require.Equal(t, http.StatusOK, r.status, string(r.raw))
					require.Equal(t, "CANCELLED", r.body["state"])
				})
			})
		})
	}
}

// jsonDetail returns the details entry of a JSON google.rpc.Status body
// whose @type is type.googleapis.com/<typ>, or nil.
func jsonDetail(r httpResult, typ string) map[string]any {
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/"+typ {
			return m
		}
	}
	return nil
}

// jsonFieldViolations returns the fields of the BadRequest detail of a
// JSON error body.
func jsonFieldViolations(r httpResult) []string {
	br := jsonDetail(r, "google.rpc.BadRequest")
	vs, _ := br["fieldViolations"].([]any)
	var out []string
	for _, v := range vs {
		m, _ := v.(map[string]any)
		out = append(out, fmt.Sprint(m["field"]))
	}
	return out
}

// fieldsOf returns the fields of err's BadRequest violations.
func fieldsOf(err error) []string {
	var out []string
	for _, v := range apierr.FieldViolations(err) {
		out = append(out, v.Field)
	}
	return out
}
