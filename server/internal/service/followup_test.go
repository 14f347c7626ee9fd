package service_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// newStaff registers a staff member (with a key) through the public API.
func (e *env) newStaff(st *aftersalesv1.Staff) *aftersalesv1.Staff {
	e.t.Helper()
	out, err := e.staff.CreateStaff(e.admin(), &aftersalesv1.CreateStaffRequest{Staff: st})
	require.NoError(e.t, err)
	id, _ := resname.ID(out.GetName(), resname.Staff)
	e.issueKey(auth.KeySpec{DisplayName: out.GetDisplayName(), StaffID: id}, out.GetName())
	return out
}

// partnerResolved has the partner shop's technician work and the shop
// resolve a new ticket.
func (e *env) partnerResolved(f *fixture) *aftersalesv1.Ticket {
	t := e.t
	t.Helper()
	tk := e.newTicket(f, f.inWarranty)
	shop := as(f.partner.GetName())
	_, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.partnerTech.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.AcceptTicket(shop, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.StartTicket(shop, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	tk, err = e.tickets.ResolveTicket(shop, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: validResolution()})
	require.NoError(t, err)
	return tk
}

// TestFollowUpIndependence: nobody who took part in the work follows it
// up. Assigning such a person, or such a caller recording an attempt or
// the answers, is FAILED_PRECONDITION NOT_INDEPENDENT and changes nothing.
func TestFollowUpIndependence(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			ownTicket, ownFU := e.resolved(f)
			shopTicket := e.partnerResolved(f)
			shopFU := e.followUpOf(shopTicket)
			colleague := e.newStaff(&aftersalesv1.Staff{DisplayName: "Sam Shop", Role: aftersalesv1.Staff_TECHNICIAN, Partner: f.partner.GetName()})
			other := e.seedOther()
			stranger := e.newStaff(&aftersalesv1.Staff{DisplayName: "Olga Other", Role: aftersalesv1.Staff_TECHNICIAN, Partner: other.partner.GetName()})
			agent2 := e.newStaff(&aftersalesv1.Staff{DisplayName: "Bo Agent", Role: aftersalesv1.Staff_AGENT, Team: "west"})
			gone := e.newStaff(&aftersalesv1.Staff{DisplayName: "Gil Gone", Role: aftersalesv1.Staff_AGENT})
			_, err := e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: gone.GetName(), Active: false}, UpdateMask: mask("active")})
			require.NoError(t, err)

			// A resolved ticket worked by the technician and resolved by
			// the manager: both are out.
			byManager := e.newTicket(f, f.inWarranty)
			tech := as(f.technician.GetName())
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: byManager.GetName(), Assignee: f.technician.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: byManager.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: byManager.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.ResolveTicket(as(f.manager.GetName()), &aftersalesv1.ResolveTicketRequest{Name: byManager.GetName(), Resolution: validResolution()})
			require.NoError(t, err)
			managerFU := e.followUpOf(byManager)

			create := func(tk *aftersalesv1.Ticket, assignee string) error {
				_, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Ticket: tk.GetName(), Assignee: assignee}})
				return err
			}
			assign := func(fu *aftersalesv1.FollowUp, assignee string) error {
				_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: fu.GetName(), Assignee: assignee}, UpdateMask: mask("assignee")})
				return err
			}
			for _, tc := range []struct {
				name   string
				call   func() error
				code   codes.Code
				reason aftersalesv1.ErrorReason
			}{
				{"create: the resolving technician", func() error { return create(ownTicket, f.technician.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: the resolving technician", func() error { return assign(ownFU, f.technician.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: the shop's technician", func() error { return assign(shopFU, f.partnerTech.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: a colleague at the shop", func() error { return assign(shopFU, colleague.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: the resolving manager", func() error { return assign(managerFU, f.manager.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: the ticket's assignee", func() error { return assign(managerFU, f.technician.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"assign: another shop's technician", func() error { return assign(ownFU, stranger.GetName()) }, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"assign: an inactive agent", func() error { return assign(ownFU, gone.GetName()) }, codes.FailedPrecondition, aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE},
				{"assign: nobody", func() error { return assign(ownFU, "staff/"+ids.New()) }, codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND},
				{"perform: the resolving manager records an attempt", func() error {
					_, err := e.followUps.RecordFollowUpAttempt(as(f.manager.GetName()), &aftersalesv1.RecordFollowUpAttemptRequest{Name: managerFU.GetName(), Outcome: aftersalesv1.FollowUpAttempt_UNREACHABLE})
					return err
				}, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
				{"perform: the resolving manager completes", func() error {
					_, err := e.followUps.CompleteFollowUp(as(f.manager.GetName()), &aftersalesv1.CompleteFollowUpRequest{Name: managerFU.GetName(), Survey: survey(5, true)})
					return err
				}, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT},
			} {
				t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code, tc.reason) })
			}

			// Over JSON, the same answer.
			r := e.do(http.MethodPost, "/v1/"+managerFU.GetName()+":complete", f.manager.GetName(), map[string]any{"survey": map[string]any{"satisfaction": 5, "issueResolved": true}})
			requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT)
			r = e.do(http.MethodPatch, "/v1/"+shopFU.GetName()+"?updateMask=assignee", f.agent.GetName(), map[string]any{"assignee": f.partnerTech.GetName()})
			requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT)

			// Nothing changed; independent staff may take them.
			for _, fu := range []*aftersalesv1.FollowUp{ownFU, shopFU, managerFU} {
				got, err := e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: fu.GetName()})
				require.NoError(t, err)
				require.True(t, proto.Equal(fu, got), "%s unchanged", fu.GetName())
				require.NoError(t, assign(fu, agent2.GetName()))
			}
			require.NoError(t, create(ownTicket, f.manager.GetName()), "the manager had no part in this one")
			got, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: managerFU.GetName(), Survey: survey(5, true)})
			require.NoError(t, err, "the agent is independent of the work")
			require.Equal(t, f.agent.GetName(), got.GetPerformedBy())
		})
	}
}

// TestSurveyValues: answers out of range, or without issue_resolved, are
// INVALID_ARGUMENT FIELD_VIOLATION over gRPC and JSON, and change nothing;
// the range's ends are accepted.
func TestSurveyValues(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, fu := e.resolved(f)
			with := func(change func(*aftersalesv1.Survey)) *aftersalesv1.Survey {
				s := survey(4, true)
				change(s)
				return s
			}
			for _, tc := range []struct {
				name   string
				survey *aftersalesv1.Survey
				json   map[string]any
			}{
				{"satisfaction 0", with(func(s *aftersalesv1.Survey) { s.Satisfaction = 0 }), map[string]any{"satisfaction": 0, "issueResolved": true}},
				{"satisfaction 6", with(func(s *aftersalesv1.Survey) { s.Satisfaction = 6 }), map[string]any{"satisfaction": 6, "issueResolved": true}},
				{"nps -1", with(func(s *aftersalesv1.Survey) { s.Nps = proto.Int32(-1) }), map[string]any{"satisfaction": 4, "nps": -1, "issueResolved": true}},
				{"nps 11", with(func(s *aftersalesv1.Survey) { s.Nps = proto.Int32(11) }), map[string]any{"satisfaction": 4, "nps": 11, "issueResolved": true}},
				{"issue_resolved missing", with(func(s *aftersalesv1.Survey) { s.IssueResolved = nil }), map[string]any{"satisfaction": 4}},
				{"survey missing", nil, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: fu.GetName(), Survey: tc.survey})
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
					_, err = e.followUps.SubmitSurvey(as(f.customer.GetName()), &aftersalesv1.SubmitSurveyRequest{Ticket: tk.GetName(), Survey: tc.survey})
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
					body := map[string]any{}
					if tc.json != nil {
						body["survey"] = tc.json
					}
					r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":submitSurvey", f.customer.GetName(), body)
					requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				})
			}
			got, err := e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: fu.GetName()})
			require.NoError(t, err)
			require.True(t, proto.Equal(fu, got), "refused answers change nothing")

			// The ends of the ranges are answers like any other.
			for _, s := range []*aftersalesv1.Survey{
				{Satisfaction: 1, Nps: proto.Int32(0), IssueResolved: proto.Bool(true)},
				{Satisfaction: 5, Nps: proto.Int32(10), IssueResolved: proto.Bool(true)},
			} {
				manual, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Ticket: tk.GetName()}})
				require.NoError(t, err)
				done, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: manual.GetName(), Survey: s})
				require.NoError(t, err)
				require.Equal(t, s.GetSatisfaction(), done.GetSurvey().GetSatisfaction())
				require.Equal(t, s.GetNps(), done.GetSurvey().GetNps())
			}
		})
	}
}

// TestSurveySubmission: a customer rates only their own RESOLVED or
// CLOSED ticket, once; another customer's ticket is NOT_FOUND exactly
// like a missing one.
func TestSurveySubmission(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			me := as(f.customer.GetName())
			tk, fu := e.resolved(f)
			other, err := e.customers.CreateCustomer(e.admin(), &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Wang Fang", ExternalId: "login-" + ids.New()}})
			require.NoError(t, err)
			e.login(other)
			missing := "tickets/" + ids.New()
			submit := func(ctx context.Context, ticket string, s *aftersalesv1.Survey) (*aftersalesv1.FollowUp, error) {
				return e.followUps.SubmitSurvey(ctx, &aftersalesv1.SubmitSurveyRequest{Ticket: ticket, Survey: s})
			}

			// Out of scope looks exactly like missing, over gRPC and JSON.
			_, errOther := submit(as(other.GetName()), tk.GetName(), survey(5, true))
			_, errMissing := submit(as(other.GetName()), missing, survey(5, true))
			requireHidden(t, errOther, tk.GetName(), errMissing, missing)
			body := map[string]any{"survey": map[string]any{"satisfaction": 5, "issueResolved": true}}
			requireHiddenHTTP(t, e.do(http.MethodPost, "/v1/"+tk.GetName()+":submitSurvey", other.GetName(), body), tk.GetName(),
				e.do(http.MethodPost, "/v1/"+missing+":submitSurvey", other.GetName(), body), missing)

			// Not yet resolved: nothing to rate.
			open := e.newTicket(f, f.inWarranty)
			_, err = submit(me, open.GetName(), survey(5, true))
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			require.Contains(t, err.Error(), "NEW")

			// The answer reopens the ticket; a repeat still returns it and
			// writes nothing: the ticket's etag stays.
			first, err := submit(me, tk.GetName(), survey(3, false))
			require.NoError(t, err)
			require.Equal(t, fu.GetName(), first.GetName())
			answered, err := e.tickets.GetTicket(me, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			again, err := submit(me, tk.GetName(), survey(3, false))
			require.NoError(t, err)
			require.True(t, proto.Equal(first, again), "the same answers return the first result")
			for _, s := range []*aftersalesv1.Survey{survey(4, false), survey(3, true), {Satisfaction: 3, IssueResolved: proto.Bool(false)}} {
				_, err = submit(me, tk.GetName(), s)
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_SURVEY_ALREADY_SUBMITTED)
			}
			got, err := e.tickets.GetTicket(me, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_REOPENED, got.GetState())
			require.Equal(t, answered.GetEtag(), got.GetEtag(), "a repeated or refused survey changed the ticket")

			// A ticket whose follow-up the desk already did is rated on a
			// follow-up of the customer's own.
			tk2, fu2 := e.resolved(f)
			_, err = e.followUps.CompleteFollowUp(as(f.agent.GetName()), &aftersalesv1.CompleteFollowUpRequest{Name: fu2.GetName(), Survey: survey(5, true)})
			require.NoError(t, err)
			own, err := submit(me, tk2.GetName(), survey(4, true))
			require.NoError(t, err)
			require.NotEqual(t, fu2.GetName(), own.GetName())
			require.Equal(t, aftersalesv1.FollowUp_CUSTOMER, own.GetOrigin())
			require.Equal(t, aftersalesv1.FollowUp_APP, own.GetMethod())
			require.Equal(t, aftersalesv1.FollowUp_COMPLETED, own.GetState())
		})
	}
}

// TestFollowUpQueue: the filters and orderings that make the call
// center's work queue, paged by keyset.
func TestFollowUpQueue(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			now := e.clock.Now()
			tk, auto := e.resolved(f) // due in 72 h
			mk := func(due time.Duration, method aftersalesv1.FollowUp_Method, assignee string) *aftersalesv1.FollowUp {
				fu, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{
					Ticket: tk.GetName(), Method: method, Assignee: assignee, DueTime: timestamp(now.Add(due)),
				}})
				require.NoError(t, err)
				return fu
			}
			in3 := mk(3*time.Hour, aftersalesv1.FollowUp_PHONE, "")
			in1 := mk(1*time.Hour, aftersalesv1.FollowUp_SMS, f.agent.GetName())
			in2 := mk(2*time.Hour, aftersalesv1.FollowUp_PHONE, f.agent.GetName())
			_, err := e.followUps.CancelFollowUp(agent, &aftersalesv1.CancelFollowUpRequest{Name: in3.GetName(), Reason: "customer asked not to be called"})
			require.NoError(t, err)
			e.clock.Advance(90 * time.Minute) // in1 is overdue now

			names := func(req *aftersalesv1.ListFollowUpsRequest) []string {
				t.Helper()
				var out []string
				for {
					resp, err := e.followUps.ListFollowUps(agent, req)
					require.NoError(t, err)
					for _, fu := range resp.GetFollowUps() {
						out = append(out, fu.GetName())
					}
					if resp.GetNextPageToken() == "" {
						return out
					}
					req.PageToken = resp.GetNextPageToken()
				}
			}
			for _, tc := range []struct {
				filter, orderBy string
				want            []*aftersalesv1.FollowUp
			}{
				{"", "due_time", []*aftersalesv1.FollowUp{in1, in2, in3, auto}},
				{"", "due_time desc", []*aftersalesv1.FollowUp{auto, in3, in2, in1}},
				{"", "", []*aftersalesv1.FollowUp{auto, in3, in1, in2}},
				{"state = SCHEDULED", "due_time", []*aftersalesv1.FollowUp{in1, in2, auto}},
				{"state = CANCELLED", "", []*aftersalesv1.FollowUp{in3}},
				{"method = SMS", "", []*aftersalesv1.FollowUp{in1}},
				{"origin = AUTOMATIC", "", []*aftersalesv1.FollowUp{auto}},
				// The automatic one went to the agent, the only one eligible.
				{`assignee = "` + f.agent.GetName() + `"`, "due_time", []*aftersalesv1.FollowUp{in1, in2, auto}},
				{`assignee = ""`, "due_time", []*aftersalesv1.FollowUp{in3}},
				{"overdue = true", "", []*aftersalesv1.FollowUp{in1}},
				{"overdue = false", "due_time", []*aftersalesv1.FollowUp{in2, in3, auto}},
				{"overdue != true", "due_time", []*aftersalesv1.FollowUp{in2, in3, auto}},
				{`state = SCHEDULED AND due_time < "` + now.Add(24*time.Hour).Format(time.RFC3339) + `"`, "due_time", []*aftersalesv1.FollowUp{in1, in2}},
				{`due_time > "` + now.Add(2*time.Hour).Format(time.RFC3339) + `"`, "due_time", []*aftersalesv1.FollowUp{in3, auto}},
				{`customer = "` + f.customer.GetName() + `" AND ticket = "` + tk.GetName() + `"`, "due_time", []*aftersalesv1.FollowUp{in1, in2, in3, auto}},
			} {
				t.Run(tc.filter+" by "+tc.orderBy, func(t *testing.T) {
					var want []string
					for _, fu := range tc.want {
						want = append(want, fu.GetName())
					}
					require.Equal(t, want, names(&aftersalesv1.ListFollowUpsRequest{Filter: tc.filter, OrderBy: tc.orderBy, PageSize: 1}))
				})
			}
			resp, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{Filter: "overdue = true"})
			require.NoError(t, err)
			require.True(t, resp.GetFollowUps()[0].GetOverdue())

			// The queue over JSON.
			r := e.do(http.MethodGet, "/v1/followUps?filter="+strings.ReplaceAll("state = SCHEDULED", " ", "%20")+"&orderBy=due_time", f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Len(t, r.body["followUps"], 3)
			require.Equal(t, in1.GetName(), r.body["followUps"].([]any)[0].(map[string]any)["name"])
			require.Equal(t, true, r.body["followUps"].([]any)[0].(map[string]any)["overdue"])

			// Refused queries.
			page, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{OrderBy: "due_time", PageSize: 1})
			require.NoError(t, err)
			for _, tc := range []struct {
				req    *aftersalesv1.ListFollowUpsRequest
				reason aftersalesv1.ErrorReason
			}{
				{&aftersalesv1.ListFollowUpsRequest{OrderBy: "note"}, aftersalesv1.ErrorReason_INVALID_ORDER_BY},
				{&aftersalesv1.ListFollowUpsRequest{OrderBy: "due_time, create_time"}, aftersalesv1.ErrorReason_INVALID_ORDER_BY},
				{&aftersalesv1.ListFollowUpsRequest{Filter: "overdue = maybe"}, aftersalesv1.ErrorReason_INVALID_FILTER},
				{&aftersalesv1.ListFollowUpsRequest{Filter: "note = x"}, aftersalesv1.ErrorReason_INVALID_FILTER},
				{&aftersalesv1.ListFollowUpsRequest{Filter: `ticket = "customers/x"`}, aftersalesv1.ErrorReason_INVALID_FILTER},
				{&aftersalesv1.ListFollowUpsRequest{PageToken: page.GetNextPageToken()}, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN},
			} {
				_, err := e.followUps.ListFollowUps(agent, tc.req)
				requireCode(t, err, codes.InvalidArgument, tc.reason)
			}
		})
	}
}

// TestFollowUpErrors: the other refusals of FollowUpService, each
// changing nothing.
func TestFollowUpErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk, fu := e.resolved(f)
			missing := "followUps/" + ids.New()
			now := e.clock.Now()

			declined, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Ticket: tk.GetName(), Note: "courtesy call"}})
			require.NoError(t, err)
			require.Equal(t, now.Add(48*time.Hour), declined.GetDueTime().AsTime(), "default window from now")
			declined, err = e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{Name: declined.GetName(), Outcome: aftersalesv1.FollowUpAttempt_DECLINED, Method: aftersalesv1.FollowUp_SMS})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FollowUp_DECLINED, declined.GetState())
			require.Equal(t, aftersalesv1.FollowUp_SMS, declined.GetAttempts()[0].GetMethod())

			for _, tc := range []struct {
				name   string
				call   func() error
				code   codes.Code
				reason aftersalesv1.ErrorReason
			}{
				{"create: no ticket", func() error {
					_, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{}})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"create: unknown ticket", func() error {
					_, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Ticket: "tickets/" + ids.New()}})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND},
				{"create: due before it may start", func() error {
					_, err := e.followUps.CreateFollowUp(agent, &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{
						Ticket: tk.GetName(), ScheduledTime: timestamp(now.Add(time.Hour)), DueTime: timestamp(now),
					}})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"get: missing", func() error {
					_, err := e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: missing})
					return err
				}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND},
				{"get: malformed", func() error {
					_, err := e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: tk.GetName()})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"update: output-only field", func() error {
					_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: fu.GetName()}, UpdateMask: mask("state")})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK},
				{"update: method required", func() error {
					_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: fu.GetName()}, UpdateMask: mask("method")})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"update: due before it may start", func() error {
					_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: fu.GetName(), DueTime: timestamp(now)}, UpdateMask: mask("due_time")})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"update: stale etag", func() error {
					_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: fu.GetName(), Note: "x", Etag: declined.GetEtag()}, UpdateMask: mask("note")})
					return err
				}, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH},
				{"update: ended", func() error {
					_, err := e.followUps.UpdateFollowUp(agent, &aftersalesv1.UpdateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{Name: declined.GetName(), Note: "x"}, UpdateMask: mask("note")})
					return err
				}, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION},
				{"attempt: no outcome", func() error {
					_, err := e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{Name: fu.GetName()})
					return err
				}, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION},
				{"attempt: stale etag", func() error {
					_, err := e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{Name: fu.GetName(), Outcome: aftersalesv1.FollowUpAttempt_UNREACHABLE, Etag: declined.GetEtag()})
					return err
				}, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH},
				{"attempt: missing", func() error {
					_, err := e.followUps.RecordFollowUpAttempt(agent, &aftersalesv1.RecordFollowUpAttemptRequest{Name: missing, Outcome: aftersalesv1.FollowUpAttempt_UNREACHABLE})
					return err
				}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND},
				{"complete: declined", func() error {
					_, err := e.followUps.CompleteFollowUp(agent, &aftersalesv1.CompleteFollowUpRequest{Name: declined.GetName(), Survey: survey(5, true)})
					return err
				}, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION},
				{"cancel: declined", func() error {
					_, err := e.followUps.CancelFollowUp(agent, &aftersalesv1.CancelFollowUpRequest{Name: declined.GetName()})
					return err
				}, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION},
			} {
				t.Run(tc.name, func(t *testing.T) { requireCode(t, tc.call(), tc.code, tc.reason) })
			}
			got, err := e.followUps.GetFollowUp(agent, &aftersalesv1.GetFollowUpRequest{Name: fu.GetName()})
			require.NoError(t, err)
			require.True(t, proto.Equal(fu, got), "refused calls change nothing")
			list, err := e.followUps.ListFollowUps(agent, &aftersalesv1.ListFollowUpsRequest{})
			require.NoError(t, err)
			require.Len(t, list.GetFollowUps(), 2, "refused creates create nothing")
		})
	}
}
