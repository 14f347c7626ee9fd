package service_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// newComplaint files a complaint for the fixture's customer as the agent.
func (e *env) newComplaint(f *fixture, severity aftersalesv1.Complaint_Severity) *aftersalesv1.Complaint {
	e.t.Helper()
	c, err := e.complaints.CreateComplaint(as(f.agent.GetName()), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
		Customer: f.customer.GetName(), Category: aftersalesv1.Complaint_SERVICE_ATTITUDE, Severity: severity,
		Title: "The technician was rude", ResponsibleStaff: f.technician.GetName(),
	}})
	require.NoError(e.t, err)
	return c
}

// TestComplaintReceipt checks what receipt sets: deadlines per severity,
// the receiving agent, and the immediate escalation of a safety complaint
// to the agent's manager.
func TestComplaintReceipt(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			now := e.clock.Now()

			c := e.newComplaint(f, aftersalesv1.Complaint_SEVERITY_UNSPECIFIED)
			require.Equal(t, aftersalesv1.Complaint_RECEIVED, c.GetState())
			require.Equal(t, aftersalesv1.Complaint_MEDIUM, c.GetSeverity())
			require.Equal(t, aftersalesv1.Ticket_PHONE, c.GetChannel())
			require.Equal(t, f.agent.GetName(), c.GetReceivedBy())
			require.Equal(t, now.Add(24*time.Hour), c.GetAcknowledgeDue().AsTime())
			require.Equal(t, now.Add(7*24*time.Hour), c.GetResolveDue().AsTime())
			require.Zero(t, c.GetEscalationLevel())

			crit := e.newComplaint(f, aftersalesv1.Complaint_CRITICAL)
			require.Equal(t, now.Add(time.Hour), crit.GetAcknowledgeDue().AsTime())
			require.Equal(t, now.Add(24*time.Hour), crit.GetResolveDue().AsTime())
			require.EqualValues(t, 1, crit.GetEscalationLevel(), "safety complaints are escalated on receipt")
			require.Equal(t, f.manager.GetName(), crit.GetEscalatedTo())

			events, err := e.complaints.ListComplaintEvents(as(f.agent.GetName()), &aftersalesv1.ListComplaintEventsRequest{Parent: crit.GetName()})
			require.NoError(t, err)
			var types []aftersalesv1.ComplaintEvent_Type
			for _, ev := range events.GetEvents() {
				types = append(types, ev.GetType())
			}
			require.Equal(t, []aftersalesv1.ComplaintEvent_Type{aftersalesv1.ComplaintEvent_CREATED, aftersalesv1.ComplaintEvent_ESCALATED}, types)
			require.Equal(t, []string{f.manager.GetName()}, events.GetEvents()[1].GetNotify())
		})
	}
}

// complaintActions are every complaint action, in the order the matrix
// tries them.
var complaintActions = []complaintflow.Action{
	complaintflow.Acknowledge, complaintflow.Assign, complaintflow.Resolve, complaintflow.Close,
	complaintflow.Reopen, complaintflow.Escalate, complaintflow.Update,
}

// complaintPathTo is how a fresh complaint reaches each state.
var complaintPathTo = map[aftersalesv1.Complaint_State][]complaintflow.Action{
	complaintflow.Received:      nil,
	complaintflow.Acknowledged:  {complaintflow.Acknowledge},
	complaintflow.Investigating: {complaintflow.Acknowledge, complaintflow.Assign},
	complaintflow.Resolved:      {complaintflow.Acknowledge, complaintflow.Assign, complaintflow.Resolve},
	complaintflow.Closed:        {complaintflow.Acknowledge, complaintflow.Assign, complaintflow.Resolve, complaintflow.Close},
	complaintflow.Reopened:      {complaintflow.Acknowledge, complaintflow.Assign, complaintflow.Resolve, complaintflow.Reopen},
}

// complaintCall performs action on the complaint over gRPC as the manager.
func (e *env) complaintCall(f *fixture, name string, action complaintflow.Action) error {
	ctx := as(f.manager.GetName())
	cs := e.complaints
	switch action {
	case complaintflow.Acknowledge:
		return errOf(cs.AcknowledgeComplaint(ctx, &aftersalesv1.AcknowledgeComplaintRequest{Name: name}))
	case complaintflow.Assign:
		return errOf(cs.AssignComplaint(ctx, &aftersalesv1.AssignComplaintRequest{Name: name, Handler: f.agent.GetName()}))
	case complaintflow.Resolve:
		return errOf(cs.ResolveComplaint(ctx, &aftersalesv1.ResolveComplaintRequest{Name: name, Resolution: &aftersalesv1.ComplaintResolution{
			Outcome: aftersalesv1.Complaint_NOT_UPHELD, GrantedRemedy: aftersalesv1.Complaint_EXPLANATION, Summary: "explained",
		}}))
	case complaintflow.Close:
		return errOf(cs.CloseComplaint(ctx, &aftersalesv1.CloseComplaintRequest{Name: name, Accepted: true}))
	case complaintflow.Reopen:
		return errOf(cs.ReopenComplaint(ctx, &aftersalesv1.ReopenComplaintRequest{Name: name, Reason: "not satisfied"}))
	case complaintflow.Escalate:
		return errOf(cs.EscalateComplaint(ctx, &aftersalesv1.EscalateComplaintRequest{Name: name, Reason: "urgent"}))
	case complaintflow.Update:
		return errOf(cs.UpdateComplaint(ctx, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: name, Title: "New title"}, UpdateMask: mask("title")}))
	}
	panic("unknown action " + action)
}

// complaintJSON is the same call over the JSON gateway.
func complaintJSON(f *fixture, name string, action complaintflow.Action) (method, path string, body any) {
	switch action {
	case complaintflow.Assign:
		return http.MethodPost, "/v1/" + name + ":assign", map[string]any{"handler": f.agent.GetName()}
	case complaintflow.Resolve:
		return http.MethodPost, "/v1/" + name + ":resolve", map[string]any{"resolution": map[string]any{
			"outcome": "NOT_UPHELD", "grantedRemedy": "EXPLANATION", "summary": "explained"}}
	case complaintflow.Close:
		return http.MethodPost, "/v1/" + name + ":close", map[string]any{"accepted": true}
	case complaintflow.Reopen, complaintflow.Escalate:
		return http.MethodPost, "/v1/" + name + ":" + string(action), map[string]any{"reason": "why"}
	case complaintflow.Update:
		return http.MethodPatch, "/v1/" + name + "?updateMask=title", map[string]any{"title": "New title"}
	}
	return http.MethodPost, "/v1/" + name + ":" + string(action), map[string]any{}
}

// TestComplaintStateMachine tries every action in every state over gRPC
// and JSON: the allowed ones succeed, every other one is
// FAILED_PRECONDITION / INVALID_STATE_TRANSITION naming the current state
// and what is allowed, and changes nothing.
func TestComplaintStateMachine(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			for state, path := range complaintPathTo {
				c := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM)
				for _, a := range path {
					require.NoError(t, e.complaintCall(f, c.GetName(), a), "%s on the way to %s", a, state)
				}
				before, err := e.complaints.GetComplaint(as(f.agent.GetName()), &aftersalesv1.GetComplaintRequest{Name: c.GetName()})
				require.NoError(t, err)
				require.Equal(t, state, before.GetState())
				for _, a := range complaintActions {
					if _, err := complaintflow.Next(state, a); err == nil {
						continue
					}
					t.Run(fmt.Sprintf("%s from %s/gRPC", a, state), func(t *testing.T) {
						err := e.complaintCall(f, c.GetName(), a)
						requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
						pv := apierr.PreconditionViolations(err)
						require.Len(t, pv, 1)
						require.Equal(t, state.String(), pv[0].GetSubject())
						require.Contains(t, pv[0].GetDescription(), "allowed from")
					})
					t.Run(fmt.Sprintf("%s from %s/JSON", a, state), func(t *testing.T) {
						method, path, body := complaintJSON(f, c.GetName(), a)
						r := e.do(method, path, f.manager.GetName(), body)
						requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
						require.Contains(t, r.body["message"], state.String())
					})
				}
				after, err := e.complaints.GetComplaint(as(f.agent.GetName()), &aftersalesv1.GetComplaintRequest{Name: c.GetName()})
				require.NoError(t, err)
				require.Equal(t, before.GetEtag(), after.GetEtag(), "refused calls change nothing")
			}
		})
	}
}

// TestComplaintValidation covers every input rule of ComplaintService
// over gRPC and JSON, asserting code, reason and field.
func TestComplaintValidation(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			o := e.seedOther()
			agent, manager := as(f.agent.GetName()), as(f.manager.GetName())
			cust := f.customer.GetName()
			cs := e.complaints
			otherTicket, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
				Customer: o.customer.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE, Title: "other",
			}})
			require.NoError(t, err)
			received := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM).GetName()
			investigating := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM).GetName()
			for _, a := range complaintPathTo[complaintflow.Investigating] {
				require.NoError(t, e.complaintCall(f, investigating, a))
			}
			resolved := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM).GetName()
			for _, a := range complaintPathTo[complaintflow.Resolved] {
				require.NoError(t, e.complaintCall(f, resolved, a))
			}
			others, err := cs.CreateComplaint(agent, &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
				Customer: o.customer.GetName(), Category: aftersalesv1.Complaint_FEES, Title: "Too expensive",
			}})
			require.NoError(t, err)

			const (
				inv, fv, ref = codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND
				denied, ad   = codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED
				pre          = codes.FailedPrecondition
			)
			valid := func(mod func(c *aftersalesv1.Complaint)) *aftersalesv1.CreateComplaintRequest {
				c := &aftersalesv1.Complaint{Customer: cust, Category: aftersalesv1.Complaint_OTHER, Title: "Bad"}
				mod(c)
				return &aftersalesv1.CreateComplaintRequest{Complaint: c}
			}
			resolution := func(mod func(r *aftersalesv1.ComplaintResolution)) *aftersalesv1.ComplaintResolution {
				r := &aftersalesv1.ComplaintResolution{Outcome: aftersalesv1.Complaint_UPHELD, GrantedRemedy: aftersalesv1.Complaint_APOLOGY, Summary: "sorry"}
				mod(r)
				return r
			}

			t.Run("gRPC", func(t *testing.T) {
				runErrCases(t, []errCase{
					{"create category required", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Category = 0 })))
					}, inv, fv, "complaint.category"},
					{"create title required", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Title = " " })))
					}, inv, fv, "complaint.title"},
					{"create customer required for staff", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Customer = "" })))
					}, inv, fv, "complaint.customer"},
					{"create unknown customer", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Customer = "customers/nope" })))
					}, inv, ref, "complaint.customer"},
					{"create unknown ticket", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Ticket = "tickets/nope" })))
					}, inv, ref, "complaint.ticket"},
					{"create another customer's ticket", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Ticket = otherTicket.GetName() })))
					}, inv, ref, "complaint.ticket"},
					{"create malformed ticket", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Ticket = "nope" })))
					}, inv, fv, "complaint.ticket"},
					{"create unknown product", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Product = cust + "/products/nope" })))
					}, inv, ref, "complaint.product"},
					{"create another customer's product", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Product = o.product.GetName() })))
					}, inv, ref, "complaint.product"},
					{"create malformed product", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.Product = "products/x" })))
					}, inv, fv, "complaint.product"},
					{"create unknown responsible staff", func() error {
						return errOf(cs.CreateComplaint(agent, valid(func(c *aftersalesv1.Complaint) { c.ResponsibleStaff = "staff/nope" })))
					}, inv, ref, "complaint.responsible_staff"},
					{"customer files for someone else", func() error {
						return errOf(cs.CreateComplaint(as(cust), valid(func(c *aftersalesv1.Complaint) { c.Customer = o.customer.GetName() })))
					}, denied, ad, ""},
					{"customer names the responsible staff", func() error {
						return errOf(cs.CreateComplaint(as(cust), valid(func(c *aftersalesv1.Complaint) { c.ResponsibleStaff = f.technician.GetName() })))
					}, denied, ad, ""},
					{"update title blank", func() error {
						return errOf(cs.UpdateComplaint(agent, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: received}, UpdateMask: mask("title")}))
					}, inv, fv, "complaint.title"},
					{"update severity unset", func() error {
						return errOf(cs.UpdateComplaint(agent, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: received}, UpdateMask: mask("severity")}))
					}, inv, fv, "complaint.severity"},
					{"update output-only field", func() error {
						return errOf(cs.UpdateComplaint(agent, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: received, Customer: o.customer.GetName()}, UpdateMask: mask("customer")}))
					}, inv, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK, "update_mask"},
					{"update unknown ticket", func() error {
						return errOf(cs.UpdateComplaint(agent, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: received, Ticket: "tickets/nope"}, UpdateMask: mask("ticket")}))
					}, inv, ref, "complaint.ticket"},
					{"update stale etag", func() error {
						return errOf(cs.UpdateComplaint(agent, &aftersalesv1.UpdateComplaintRequest{Complaint: &aftersalesv1.Complaint{Name: received, Title: "x", Etag: `W/"stale"`}, UpdateMask: mask("title")}))
					}, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH, ""},
					{"assign handler required", func() error {
						return errOf(cs.AssignComplaint(manager, &aftersalesv1.AssignComplaintRequest{Name: investigating}))
					}, inv, fv, "handler"},
					{"assign unknown handler", func() error {
						return errOf(cs.AssignComplaint(manager, &aftersalesv1.AssignComplaintRequest{Name: investigating, Handler: "staff/nope"}))
					}, inv, ref, "handler"},
					{"assign a partner's technician", func() error {
						return errOf(cs.AssignComplaint(manager, &aftersalesv1.AssignComplaintRequest{Name: investigating, Handler: f.partnerTech.GetName()}))
					}, inv, fv, "handler"},
					{"resolve outcome required", func() error {
						return errOf(cs.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{Name: investigating, Resolution: resolution(func(r *aftersalesv1.ComplaintResolution) { r.Outcome = 0 })}))
					}, inv, fv, "resolution.outcome"},
					{"resolve summary required", func() error {
						return errOf(cs.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{Name: investigating, Resolution: resolution(func(r *aftersalesv1.ComplaintResolution) { r.Summary = "" })}))
					}, inv, fv, "resolution.summary"},
					{"resolve compensation without currency", func() error {
						return errOf(cs.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{Name: investigating, Resolution: resolution(func(r *aftersalesv1.ComplaintResolution) {
							r.Compensation = &aftersalesv1.Money{MinorUnits: 100}
						})}))
					}, inv, fv, "resolution.compensation.currency_code"},
					{"resolve unknown responsible staff", func() error {
						return errOf(cs.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{Name: investigating, ResponsibleStaff: "staff/nope", Resolution: resolution(func(*aftersalesv1.ComplaintResolution) {})}))
					}, inv, ref, "responsible_staff"},
					{"resolve without remedy", func() error {
						err := errOf(cs.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{Name: investigating, Resolution: resolution(func(r *aftersalesv1.ComplaintResolution) { r.GrantedRemedy = 0 })}))
						if pv := apierr.PreconditionViolations(err); len(pv) != 1 || pv[0].GetSubject() != "INVESTIGATING" {
							return fmt.Errorf("precondition does not name the state: %v", err)
						}
						return err
					}, pre, aftersalesv1.ErrorReason_REMEDY_REQUIRED, ""},
					{"close before resolution", func() error {
						return errOf(cs.CloseComplaint(agent, &aftersalesv1.CloseComplaintRequest{Name: investigating, Accepted: true}))
					}, pre, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, ""},
					{"customer closes without accepting", func() error {
						return errOf(cs.CloseComplaint(as(cust), &aftersalesv1.CloseComplaintRequest{Name: resolved}))
					}, inv, fv, "accepted"},
					{"reopen reason required", func() error {
						return errOf(cs.ReopenComplaint(as(cust), &aftersalesv1.ReopenComplaintRequest{Name: resolved}))
					}, inv, fv, "reason"},
					{"customer writes an internal note", func() error {
						return errOf(cs.AddComplaintComment(as(cust), &aftersalesv1.AddComplaintCommentRequest{Parent: received, Message: "psst", Internal: true}))
					}, denied, ad, ""},
					{"customer reads another's complaint", func() error {
						return errOf(cs.GetComplaint(as(cust), &aftersalesv1.GetComplaintRequest{Name: others.GetName()}))
					}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, ""},
					{"customer comments on another's complaint", func() error {
						return errOf(cs.AddComplaintComment(as(cust), &aftersalesv1.AddComplaintCommentRequest{Parent: others.GetName(), Message: "hi"}))
					}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, ""},
					{"customer reopens another's complaint", func() error {
						return errOf(cs.ReopenComplaint(as(cust), &aftersalesv1.ReopenComplaintRequest{Name: others.GetName(), Reason: "x"}))
					}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, ""},
					{"bad complaint name", func() error {
						return errOf(cs.GetComplaint(agent, &aftersalesv1.GetComplaintRequest{Name: "tickets/x"}))
					}, inv, fv, "name"},
					{"request id reused for another request", func() error {
						req := valid(func(c *aftersalesv1.Complaint) {})
						req.RequestId = "complaint-dup"
						if _, err := cs.CreateComplaint(agent, req); err != nil {
							return err
						}
						req.Complaint.Title = "Different"
						return errOf(cs.CreateComplaint(agent, req))
					}, inv, aftersalesv1.ErrorReason_REQUEST_ID_REUSED, "request_id"},
					{"list bad filter", func() error {
						return errOf(cs.ListComplaints(agent, &aftersalesv1.ListComplaintsRequest{Filter: "title = x"}))
					}, inv, aftersalesv1.ErrorReason_INVALID_FILTER, "filter"},
					{"customer filters on a hidden field", func() error {
						return errOf(cs.ListComplaints(as(cust), &aftersalesv1.ListComplaintsRequest{Filter: `responsible_staff = "` + f.technician.GetName() + `"`}))
					}, inv, aftersalesv1.ErrorReason_INVALID_FILTER, "filter"},
					{"accountability bad parent", func() error {
						return errOf(e.training.ListAccountabilityRecords(manager, &aftersalesv1.ListAccountabilityRecordsRequest{Parent: "customers/x"}))
					}, inv, fv, "parent"},
					{"accountability of a staff member out of scope", func() error {
						return errOf(e.training.ListAccountabilityRecords(as(f.partner.GetName()), &aftersalesv1.ListAccountabilityRecordsRequest{Parent: f.technician.GetName()}))
					}, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, ""},
				})
			})

			t.Run("JSON", func(t *testing.T) {
				const bad = http.StatusBadRequest
				runJSONCases(t, e, f.agent.GetName(), []jsonCase{
					{"create category required", http.MethodPost, "/v1/complaints", map[string]any{"customer": cust, "title": "x"}, bad, inv, fv, "complaint.category"},
					{"create title required", http.MethodPost, "/v1/complaints", map[string]any{"customer": cust, "category": "FEES"}, bad, inv, fv, "complaint.title"},
					{"create unknown ticket", http.MethodPost, "/v1/complaints", map[string]any{"customer": cust, "category": "FEES", "title": "x", "ticket": "tickets/nope"}, bad, inv, ref, "complaint.ticket"},
					{"create another customer's ticket", http.MethodPost, "/v1/complaints", map[string]any{"customer": cust, "category": "FEES", "title": "x", "ticket": otherTicket.GetName()}, bad, inv, ref, "complaint.ticket"},
					{"create another customer's product", http.MethodPost, "/v1/complaints", map[string]any{"customer": cust, "category": "FEES", "title": "x", "product": o.product.GetName()}, bad, inv, ref, "complaint.product"},
					{"update unknown product", http.MethodPatch, "/v1/" + received + "?updateMask=product", map[string]any{"product": cust + "/products/nope"}, bad, inv, ref, "complaint.product"},
					{"resolve outcome required", http.MethodPost, "/v1/" + investigating + ":resolve", map[string]any{"resolution": map[string]any{"grantedRemedy": "APOLOGY", "summary": "x"}}, bad, inv, fv, "resolution.outcome"},
					{"resolve without remedy", http.MethodPost, "/v1/" + investigating + ":resolve", map[string]any{"resolution": map[string]any{"outcome": "UPHELD", "summary": "x"}}, bad, pre, aftersalesv1.ErrorReason_REMEDY_REQUIRED, ""},
					{"close before resolution", http.MethodPost, "/v1/" + investigating + ":close", map[string]any{"accepted": true}, bad, pre, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, ""},
					{"reopen reason required", http.MethodPost, "/v1/" + resolved + ":reopen", map[string]any{}, bad, inv, fv, "reason"},
				})
				runJSONCases(t, e, f.manager.GetName(), []jsonCase{
					{"assign before acknowledgement", http.MethodPost, "/v1/" + received + ":assign", map[string]any{"handler": f.agent.GetName()}, bad, pre, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, ""},
					{"assign unknown handler", http.MethodPost, "/v1/" + investigating + ":assign", map[string]any{"handler": "staff/nope"}, bad, inv, ref, "handler"},
				})
				runJSONCases(t, e, cust, []jsonCase{
					{"customer files for someone else", http.MethodPost, "/v1/complaints", map[string]any{"customer": o.customer.GetName(), "category": "FEES", "title": "x"}, http.StatusForbidden, denied, ad, ""},
					{"customer closes without accepting", http.MethodPost, "/v1/" + resolved + ":close", map[string]any{"accepted": false}, bad, inv, fv, "accepted"},
					{"customer writes an internal note", http.MethodPost, "/v1/" + received + "/events", map[string]any{"message": "psst", "internal": true}, http.StatusForbidden, denied, ad, ""},
					{"customer reads another's complaint", http.MethodGet, "/v1/" + others.GetName(), nil, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND, ""},
					{"customer acknowledges", http.MethodPost, "/v1/" + received + ":acknowledge", map[string]any{}, http.StatusForbidden, denied, ad, ""},
				})
				// Partners see no complaints at all.
				runJSONCases(t, e, f.partner.GetName(), []jsonCase{
					{"partner lists complaints", http.MethodGet, "/v1/complaints", nil, http.StatusForbidden, denied, ad, ""},
				})
			})

			// Customers list only their own complaints.
			mine, err := cs.ListComplaints(as(cust), &aftersalesv1.ListComplaintsRequest{})
			require.NoError(t, err)
			require.NotEmpty(t, mine.GetComplaints())
			for _, c := range mine.GetComplaints() {
				require.Equal(t, cust, c.GetCustomer())
				require.Empty(t, c.GetResponsibleStaff(), "hidden from customers")
			}
		})
	}
}
