package service_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestTicketLifecycle drives one out-of-warranty repair from the first
// call to closure: the call center opens it over gRPC, the mobile app
// follows it over JSON, and the partner shop works it through client/.
func TestTicketLifecycle(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			opened := e.clock.Now()

			// Call center: open the ticket over gRPC.
			tk, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{
				RequestId: "call-0001",
				Ticket: &aftersalesv1.Ticket{
					Customer: f.customer.GetName(), Product: f.outOfWarranty.GetName(),
					Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE,
					Priority: aftersalesv1.Ticket_HIGH, Title: "Drum does not spin",
				},
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_NEW, tk.GetState())
			require.Equal(t, f.agent.GetName(), tk.GetFirstContact())
			require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_OUT_OF_WARRANTY, tk.GetWarrantyStatus())
			require.Equal(t, "slaPolicies/high", tk.GetSla().GetPolicy())
			require.Equal(t, opened.Add(4*time.Hour), tk.GetSla().GetResponseDueTime().AsTime())
			require.Equal(t, opened.Add(24*time.Hour), tk.GetSla().GetResolveDueTime().AsTime())

			// Mobile app: the customer follows the same ticket over JSON.
			r := e.do(http.MethodGet, "/v1/"+tk.GetName(), f.customer.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "NEW", r.body["state"])
			require.Equal(t, "Drum does not spin", r.body["title"])

			// Dispatch to the partner shop's technician.
			e.clock.Advance(10 * time.Minute)
			tk, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.partnerTech.GetName(), Etag: tk.GetEtag()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_ASSIGNED, tk.GetState())
			require.Equal(t, f.partner.GetName(), tk.GetPartner(), "a partner technician brings the shop along")

			// Partner shop, through the Go client: find the work, accept it.
			shop, err := client.New(context.Background(), e.app.GRPCAddr(), client.WithInsecure(), client.WithBearerToken(bearer(f.partner.GetName())))
			require.NoError(t, err)
			defer shop.Close()
			ctx := context.Background()
			var mine []*aftersalesv1.Ticket
			for t2, err := range shop.AllTickets(ctx, &aftersalesv1.ListTicketsRequest{Filter: `partner = "` + f.partner.GetName() + `" AND state = ASSIGNED`}) {
				require.NoError(t, err)
				mine = append(mine, t2)
			}
			require.Len(t, mine, 1)
			require.Equal(t, tk.GetName(), mine[0].GetName())

			e.clock.Advance(20 * time.Minute)
			tk, err = shop.Tickets.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_ACCEPTED, tk.GetState())
			require.Equal(t, opened.Add(30*time.Minute), tk.GetSla().GetFirstResponseTime().AsTime())

			// Out of warranty: no work before the customer approves a quote.
			_, err = shop.Tickets.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED)

			tk, err = e.tickets.UpdateTicket(agent, &aftersalesv1.UpdateTicketRequest{
				Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Etag: tk.GetEtag(), FeeQuote: &aftersalesv1.FeeQuote{
					Labor: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 15000},
					Parts: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 8000}, Description: "motor brushes",
				}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"fee_quote"}},
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FeeQuote_PENDING, tk.GetFeeQuote().GetApprovalState())
			require.EqualValues(t, 23000, tk.GetFeeQuote().GetTotal().GetMinorUnits())

			tk, err = e.tickets.ApproveTicketFee(agent, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, Etag: tk.GetEtag(), Note: "approved on the phone"})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.FeeQuote_APPROVED, tk.GetFeeQuote().GetApprovalState())

			tk, err = shop.Tickets.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, tk.GetState())

			// Waiting two hours for parts stops the clock.
			tk, err = shop.Tickets.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: tk.GetName(), Reason: "waiting for parts"})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_PAUSED, tk.GetState())
			e.clock.Advance(2 * time.Hour)
			tk, err = shop.Tickets.ResumeTicket(ctx, &aftersalesv1.ResumeTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, 2*time.Hour, tk.GetSla().GetPausedDuration().AsDuration())
			require.Equal(t, opened.Add(26*time.Hour), tk.GetSla().GetResolveDueTime().AsTime(), "resolution due moves by the pause")
			require.Equal(t, opened.Add(4*time.Hour), tk.GetSla().GetResponseDueTime().AsTime(), "already responded: response due stays")

			tk, err = shop.Tickets.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: &aftersalesv1.Resolution{
				FaultCategory: "MOTOR", FaultCode: "M12", Summary: "replaced motor brushes",
				Parts:      []*aftersalesv1.PartUsage{{PartNumber: "BR-200", Quantity: 2}},
				FeeCharged: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 23000},
			}})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_RESOLVED, tk.GetState())
			require.Equal(t, "M12", tk.GetResolution().GetFaultCode())
			require.Len(t, tk.GetResolution().GetParts(), 1)
			require.False(t, tk.GetSla().GetResolveBreached())

			// The app sees the resolution over JSON; the agent closes.
			r = e.do(http.MethodGet, "/v1/"+tk.GetName(), f.customer.GetName(), nil)
			require.Equal(t, "RESOLVED", r.body["state"])
			tk, err = e.tickets.CloseTicket(agent, &aftersalesv1.CloseTicketRequest{Name: tk.GetName(), Etag: tk.GetEtag()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_CLOSED, tk.GetState())
			require.NotNil(t, tk.GetCloseTime())

			// The timeline records every step, who did it, and tells the
			// first-contact owner of every state change.
			events, err := e.tickets.ListTicketEvents(agent, &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName()})
			require.NoError(t, err)
			var types []aftersalesv1.TicketEvent_Type
			for _, ev := range events.GetEvents() {
				types = append(types, ev.GetType())
				if ev.GetToState() != aftersalesv1.Ticket_STATE_UNSPECIFIED && ev.GetType() != aftersalesv1.TicketEvent_CREATED {
					require.Contains(t, ev.GetNotify(), f.agent.GetName(), "first contact told of %s", ev.GetType())
				}
			}
			require.Equal(t, []aftersalesv1.TicketEvent_Type{
				aftersalesv1.TicketEvent_CREATED, aftersalesv1.TicketEvent_ASSIGNED, aftersalesv1.TicketEvent_ACCEPTED,
				aftersalesv1.TicketEvent_UPDATED, aftersalesv1.TicketEvent_FEE_DECIDED, aftersalesv1.TicketEvent_STARTED,
				aftersalesv1.TicketEvent_PAUSED, aftersalesv1.TicketEvent_RESUMED, aftersalesv1.TicketEvent_RESOLVED,
				aftersalesv1.TicketEvent_CLOSED,
			}, types)
			require.Equal(t, f.agent.GetName(), events.GetEvents()[0].GetActor())
			require.Equal(t, f.partner.GetName(), events.GetEvents()[2].GetActor())

			// The JSON timeline matches.
			r = e.do(http.MethodGet, "/v1/"+tk.GetName()+"/events", f.agent.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status)
			require.Len(t, r.body["events"], len(types))

			// The audit trail has one record per change, each with the
			// principal that made it; the refused StartTicket left none.
			audit, err := e.audits.ListAuditRecords(as(f.manager.GetName()), &aftersalesv1.ListAuditRecordsRequest{Filter: `resource = "` + tk.GetName() + `"`})
			require.NoError(t, err)
			type step struct{ method, principal string }
			var got []step
			for _, rec := range audit.GetAuditRecords() {
				got = append(got, step{strings.TrimPrefix(rec.GetMethod(), "/aftersales.v1.TicketService/"), rec.GetPrincipal()})
				require.NotEmpty(t, rec.GetChanges(), rec.GetMethod())
			}
			agentName, shopName := f.agent.GetName(), f.partner.GetName()
			require.Equal(t, []step{
				{"CreateTicket", agentName}, {"AssignTicket", agentName}, {"AcceptTicket", shopName},
				{"UpdateTicket", agentName}, {"ApproveTicketFee", agentName}, {"StartTicket", shopName},
				{"PauseTicket", shopName}, {"ResumeTicket", shopName}, {"ResolveTicket", shopName},
				{"CloseTicket", agentName},
			}, got)
			// The creation's record is the new ticket, every field new,
			// as Get rendered it then.
			created := map[string]string{}
			for _, c := range audit.GetAuditRecords()[0].GetChanges() {
				require.Empty(t, c.GetOldValue(), c.GetField())
				created[c.GetField()] = c.GetNewValue()
			}
			require.Equal(t, `"`+tk.GetTitle()+`"`, created["title"])
			require.Equal(t, `"NEW"`, created["state"])
			require.Equal(t, `"`+tk.GetName()+`"`, created["name"])
			require.NotContains(t, created, "etag")
			require.NotContains(t, created, "updateTime")
			var stateChange *aftersalesv1.FieldChange
			for _, c := range audit.GetAuditRecords()[9].GetChanges() {
				if c.GetField() == "state" {
					stateChange = c
				}
			}
			require.NotNil(t, stateChange)
			require.Equal(t, `"RESOLVED"`, stateChange.GetOldValue())
			require.Equal(t, `"CLOSED"`, stateChange.GetNewValue())

			// Replaying the create (same request_id) returns the same ticket
			// as first created and opens nothing new.
			again, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{
				RequestId: "call-0001",
				Ticket: &aftersalesv1.Ticket{
					Customer: f.customer.GetName(), Product: f.outOfWarranty.GetName(),
					Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE,
					Priority: aftersalesv1.Ticket_HIGH, Title: "Drum does not spin",
				},
			})
			require.NoError(t, err)
			require.Equal(t, tk.GetName(), again.GetName())
			require.Equal(t, aftersalesv1.Ticket_NEW, again.GetState(), "the original response is returned")
			all, err := e.tickets.ListTickets(agent, &aftersalesv1.ListTicketsRequest{})
			require.NoError(t, err)
			require.Len(t, all.GetTickets(), 1)
		})
	}
}
