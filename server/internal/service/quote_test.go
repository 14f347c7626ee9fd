package service_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	moneypb "google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// line is a quote line of a schedule code.
func line(code string, quantity int64) *aftersalesv1.ChargeLine {
	return &aftersalesv1.ChargeLine{Code: code, Quantity: quantity}
}

// quoteOf is a QuoteTicketRequest for tk with lines and a discount.
func quoteOf(tk *aftersalesv1.Ticket, discount *moneypb.Money, lines ...*aftersalesv1.ChargeLine) *aftersalesv1.QuoteTicketRequest {
	return &aftersalesv1.QuoteTicketRequest{Name: tk.GetName(), Quote: &aftersalesv1.Quote{Lines: lines, Discount: discount, Note: "drain pump and labour"}}
}

// timeline returns tk's events as actor sees them.
func (e *env) timeline(actor context.Context, tk *aftersalesv1.Ticket) []*aftersalesv1.TicketEvent {
	e.t.Helper()
	resp, err := e.tickets.ListTicketEvents(actor, &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName(), PageSize: 1000})
	require.NoError(e.t, err)
	return resp.GetEvents()
}

// eventsOf are the events of type typ among evs.
func eventsOf(evs []*aftersalesv1.TicketEvent, typ aftersalesv1.TicketEvent_Type) []*aftersalesv1.TicketEvent {
	var out []*aftersalesv1.TicketEvent
	for _, ev := range evs {
		if ev.GetType() == typ {
			out = append(out, ev)
		}
	}
	return out
}

// acceptedBy opens a ticket on product, assigns it to the fixture's
// technician and has them accept it.
func (e *env) acceptedBy(f *fixture, product *aftersalesv1.Product) *aftersalesv1.Ticket {
	e.t.Helper()
	tk := e.newTicket(f, product)
	tk, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
	require.NoError(e.t, err)
	tk, err = e.tickets.AcceptTicket(as(f.technician.GetName()), &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
	require.NoError(e.t, err)
	return tk
}

// TestQuoteLifecycle: a technician quotes an out-of-warranty repair from
// the schedule with one unlisted part; the customer does not see it
// until a manager approved it; the customer approves that revision;
// work starts; a change then needs `revise` and a new approval.
func TestQuoteLifecycle(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			tech, customer, manager, agent := as(f.technician.GetName()), as(f.customer.GetName()), as(f.manager.GetName()), as(f.agent.GetName())
			schedule := e.publishSchedule(testSchedule())
			tk := e.acceptedBy(f, f.outOfWarranty)

			clamp := &aftersalesv1.ChargeLine{Description: "Hose clamp", Kind: aftersalesv1.FeeKind_FEE_KIND_OTHER, UnitPrice: yuan(15, 50), Quantity: 1}
			quoted, err := e.tickets.QuoteTicket(tech, quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 2), clamp))
			require.NoError(t, err)
			q := quoted.GetQuote()
			require.NotNil(t, q)
			assert.Equal(t, int32(1), q.GetRevision())
			assert.Equal(t, aftersalesv1.Quote_AWAITING_MANAGER, q.GetState())
			assert.Equal(t, []string{"line 3 is not in the fee schedule"}, q.GetApprovalReasons())
			assert.Equal(t, schedule.GetName(), q.GetFeeSchedule())
			assert.Equal(t, f.technician.GetName(), q.GetQuotedBy())
			require.Len(t, q.GetLines(), 3)
			assert.Equal(t, "Drain pump", q.GetLines()[1].GetDescription(), "described by the schedule")
			assert.Equal(t, aftersalesv1.FeeKind_FEE_KIND_PART, q.GetLines()[1].GetKind())
			assert.True(t, proto.Equal(yuan(120, 50), q.GetLines()[1].GetUnitPrice()), "priced by the schedule")
			assert.True(t, proto.Equal(yuan(241, 0), q.GetLines()[1].GetAmount()))
			assert.True(t, proto.Equal(yuan(406, 50), q.GetSubtotal()), "150 + 2 × 120.50 + 15.50: %v", q.GetSubtotal())
			assert.True(t, proto.Equal(yuan(406, 50), q.GetTotal()))
			assert.Nil(t, q.GetDiscount())
			assert.NotEqual(t, tk.GetEtag(), quoted.GetEtag(), "a quote changes the ticket")

			t.Run("the customer does not see it yet", func(t *testing.T) {
				got, err := e.tickets.GetTicket(customer, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				assert.Nil(t, got.GetQuote())
				assert.Nil(t, got.GetFeeQuote())
				list, err := e.tickets.ListTickets(customer, &aftersalesv1.ListTicketsRequest{})
				require.NoError(t, err)
				require.Len(t, list.GetTickets(), 1)
				assert.Nil(t, list.GetTickets()[0].GetQuote())
				assert.Empty(t, eventsOf(e.timeline(customer, tk), aftersalesv1.TicketEvent_QUOTED))
				r := e.do(http.MethodGet, "/v1/"+tk.GetName(), f.customer.GetName(), nil)
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				assert.NotContains(t, r.body, "quote")

				// Nor in the change feed, which carries the ticket.
				for _, ev := range e.feed(customer, 0, `resource = "`+tk.GetName()+`"`) {
					var seen aftersalesv1.Ticket
					require.NoError(t, ev.GetData().UnmarshalTo(&seen))
					assert.Nil(t, seen.GetQuote(), "event %s", ev.GetType())
				}

				_, err = e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)
				_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED)
				assert.Contains(t, status.Convert(err).Message(), "quote is AWAITING_MANAGER")
			})

			t.Run("staff see it", func(t *testing.T) {
				got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				assert.True(t, proto.Equal(q, got.GetQuote()))
				list, err := e.tickets.ListTickets(manager, &aftersalesv1.ListTicketsRequest{})
				require.NoError(t, err)
				require.Len(t, list.GetTickets(), 1)
				assert.True(t, proto.Equal(q, list.GetTickets()[0].GetQuote()))
				quotedEvs := eventsOf(e.timeline(agent, tk), aftersalesv1.TicketEvent_QUOTED)
				require.Len(t, quotedEvs, 1)
				assert.Equal(t, map[string]string{"revision": "1", "total": "CNY 406.50", "state": "AWAITING_MANAGER"}, quotedEvs[0].GetDetails())
				assert.True(t, quotedEvs[0].GetInternal())
			})

			t.Run("only a manager approves it, and only the current revision", func(t *testing.T) {
				_, err := e.tickets.ApproveTicketQuote(agent, &aftersalesv1.ApproveTicketQuoteRequest{Name: tk.GetName(), Revision: 1})
				require.Equal(t, codes.PermissionDenied, status.Code(err))
				_, err = e.tickets.ApproveTicketQuote(manager, &aftersalesv1.ApproveTicketQuoteRequest{Name: tk.GetName(), Revision: 2})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)
			})

			approved, err := e.tickets.ApproveTicketQuote(manager, &aftersalesv1.ApproveTicketQuoteRequest{Name: tk.GetName(), Revision: 1, Note: "clamp is fine", Etag: quoted.GetEtag()})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.Quote_OFFERED, approved.GetQuote().GetState())
			assert.Equal(t, f.manager.GetName(), approved.GetQuote().GetApprovedBy())
			_, err = e.tickets.ApproveTicketQuote(manager, &aftersalesv1.ApproveTicketQuoteRequest{Name: tk.GetName(), Revision: 1})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)

			// Now offered: the customer sees it (without the company's
			// reasons for the approval) and decides on revision 1.
			seen, err := e.tickets.GetTicket(customer, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.NotNil(t, seen.GetQuote())
			assert.Equal(t, aftersalesv1.Quote_OFFERED, seen.GetQuote().GetState())
			assert.Empty(t, seen.GetQuote().GetApprovalReasons())
			assert.True(t, proto.Equal(yuan(406, 50), seen.GetQuote().GetTotal()))

			decided, err := e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, QuoteRevision: 1, Etag: seen.GetEtag(), Note: "ok in the app"})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.Quote_APPROVED, decided.GetQuote().GetState())
			assert.NotNil(t, decided.GetQuote().GetDecideTime())
			assert.Nil(t, decided.GetFeeQuote(), "one quote per ticket")

			started, err := e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, started.GetState())

			// A change after approval must be meant.
			_, err = e.tickets.QuoteTicket(tech, quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1)))
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_ALREADY_APPROVED)
			assert.Contains(t, err.Error(), "revision 1")
			again, err := e.tickets.GetTicket(tech, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			assert.Equal(t, started.GetEtag(), again.GetEtag())
			assert.Equal(t, aftersalesv1.Quote_APPROVED, again.GetQuote().GetState())

			req := quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1))
			req.Revise = true
			revised, err := e.tickets.QuoteTicket(tech, req)
			require.NoError(t, err)
			assert.Equal(t, int32(2), revised.GetQuote().GetRevision())
			assert.Equal(t, aftersalesv1.Quote_OFFERED, revised.GetQuote().GetState(), "all from the schedule: no manager needed")
			assert.Nil(t, revised.GetQuote().GetDecideTime(), "needs the customer's approval again")
			assert.True(t, proto.Equal(yuan(270, 50), revised.GetQuote().GetTotal()))
			assert.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, revised.GetState())
			// The work is under way: the customer decides on the revision
			// in the middle of it, on that revision only.
			_, err = e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, QuoteRevision: 1})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)
			approved2, err := e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, QuoteRevision: 2})
			require.NoError(t, err)
			assert.Equal(t, aftersalesv1.Quote_APPROVED, approved2.GetQuote().GetState())
			assert.Equal(t, int32(2), approved2.GetQuote().GetRevision())

			evs := e.timeline(agent, tk)
			require.Len(t, eventsOf(evs, aftersalesv1.TicketEvent_QUOTED), 2)
			require.Len(t, eventsOf(evs, aftersalesv1.TicketEvent_QUOTE_APPROVED), 1)
			fee := eventsOf(evs, aftersalesv1.TicketEvent_FEE_DECIDED)
			require.Len(t, fee, 2)
			assert.Equal(t, "1", fee[0].GetDetails()["revision"])
			assert.Equal(t, "APPROVED", fee[0].GetDetails()["approval_state"])
			assert.Equal(t, "2", fee[1].GetDetails()["revision"])
			assert.Equal(t, "2", eventsOf(evs, aftersalesv1.TicketEvent_QUOTED)[1].GetDetails()["revision"])
		})
	}
}

// TestQuoteApprovalRules: what needs a manager (an unlisted line, a
// discount above --quote-discount-approval, 10%) and what does not, the
// discount's split over the lines, and a customer deciding on a stale
// revision.
func TestQuoteApprovalRules(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent, manager, customer := as(f.agent.GetName()), as(f.manager.GetName()), as(f.customer.GetName())
			e.publishSchedule(testSchedule())

			t.Run("a discount of exactly 10% needs nobody", func(t *testing.T) {
				tk := e.newTicket(f, f.outOfWarranty)
				got, err := e.tickets.QuoteTicket(agent, quoteOf(tk, yuan(14, 0), line("LAB-ANY", 1), line("P-BRUSH", 1)))
				require.NoError(t, err)
				q := got.GetQuote()
				assert.Equal(t, aftersalesv1.Quote_OFFERED, q.GetState())
				assert.Empty(t, q.GetApprovalReasons())
				assert.True(t, proto.Equal(yuan(140, 0), q.GetSubtotal()))
				assert.True(t, proto.Equal(yuan(14, 0), q.GetDiscount()))
				assert.True(t, proto.Equal(yuan(126, 0), q.GetTotal()))
				assert.True(t, proto.Equal(yuan(10, 0), q.GetLines()[0].GetDiscount()), "shared in proportion: %v", q.GetLines()[0].GetDiscount())
				assert.True(t, proto.Equal(yuan(4, 0), q.GetLines()[1].GetDiscount()))
			})

			t.Run("one fen more needs a manager", func(t *testing.T) {
				tk := e.newTicket(f, f.outOfWarranty)
				got, err := e.tickets.QuoteTicket(agent, quoteOf(tk, yuan(14, 1), line("LAB-ANY", 1), line("P-BRUSH", 1)))
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.Quote_AWAITING_MANAGER, got.GetQuote().GetState())
				require.Len(t, got.GetQuote().GetApprovalReasons(), 1)
				assert.Contains(t, got.GetQuote().GetApprovalReasons()[0], "more than 10% of the subtotal")
			})

			t.Run("the split adds up to the discount exactly", func(t *testing.T) {
				tk := e.newTicket(f, f.outOfWarranty)
				got, err := e.tickets.QuoteTicket(agent, quoteOf(tk, yuan(10, 0), line("P-PUMP", 1), line("P-BRUSH", 1), line("CALL-PUDONG", 1)))
				require.NoError(t, err)
				q := got.GetQuote()
				var shares, amounts int64
				for _, l := range q.GetLines() {
					shares += minor(t, l.GetDiscount())
					amounts += minor(t, l.GetAmount())
				}
				assert.Equal(t, int64(1000), shares)
				assert.Equal(t, minor(t, q.GetSubtotal()), amounts)
				assert.Equal(t, amounts-1000, minor(t, q.GetTotal()))
				assert.Equal(t, []int64{633, 210, 157}, []int64{minor(t, q.GetLines()[0].GetDiscount()), minor(t, q.GetLines()[1].GetDiscount()), minor(t, q.GetLines()[2].GetDiscount())},
					"1000 × 12050/19050 = 632.55, × 4000/19050 = 209.97, × 3000/19050 = 157.48: the two fen left go to the largest remainders")
			})

			t.Run("a manager's own quote needs nobody", func(t *testing.T) {
				tk := e.newTicket(f, f.outOfWarranty)
				got, err := e.tickets.QuoteTicket(manager, quoteOf(tk, yuan(50, 0), line("LAB-ANY", 1),
					&aftersalesv1.ChargeLine{Description: "Goodwill visit", Kind: aftersalesv1.FeeKind_FEE_KIND_CALL_OUT, UnitPrice: yuan(20, 0), Quantity: 1}))
				require.NoError(t, err)
				q := got.GetQuote()
				assert.Equal(t, aftersalesv1.Quote_OFFERED, q.GetState())
				assert.Len(t, q.GetApprovalReasons(), 2, "the reasons stay on record")
				assert.Equal(t, f.manager.GetName(), q.GetApprovedBy())
			})

			t.Run("a stale revision is refused", func(t *testing.T) {
				tk := e.newTicket(f, f.outOfWarranty)
				_, err := e.tickets.QuoteTicket(agent, quoteOf(tk, nil, line("LAB-ANY", 1)))
				require.NoError(t, err)
				second, err := e.tickets.QuoteTicket(agent, quoteOf(tk, nil, line("LAB-ANY", 1), line("P-BRUSH", 1)))
				require.NoError(t, err)
				require.Equal(t, int32(2), second.GetQuote().GetRevision())
				_, err = e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, QuoteRevision: 1})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)
				assert.Contains(t, err.Error(), "revision 2")
				got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				assert.Equal(t, second.GetEtag(), got.GetEtag())
				assert.Equal(t, aftersalesv1.Quote_OFFERED, got.GetQuote().GetState())
				got, err = e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: false, QuoteRevision: 2})
				require.NoError(t, err)
				assert.Equal(t, aftersalesv1.Quote_DECLINED, got.GetQuote().GetState())
			})

			t.Run("in warranty: paid extras may be quoted", func(t *testing.T) {
				tk := e.newTicket(f, f.inWarranty)
				got, err := e.tickets.QuoteTicket(agent, quoteOf(tk, nil, line("P-BRUSH", 2)))
				require.NoError(t, err)
				assert.True(t, proto.Equal(yuan(80, 0), got.GetQuote().GetTotal()))
			})
		})
	}
}

// TestQuoteBadInput: every bad quote is a clear error and leaves the
// ticket as it was: same etag, no timeline event, no quote.
func TestQuoteBadInput(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tk := e.newTicket(f, f.outOfWarranty)

			_, err := e.tickets.QuoteTicket(agent, quoteOf(tk, nil, line("LAB-ANY", 1)))
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_NO_FEE_SCHEDULE)
			e.publishSchedule(testSchedule())
			events := len(e.timeline(agent, tk))

			usd := &moneypb.Money{CurrencyCode: "USD", Units: 5}
			for _, c := range []struct {
				name   string
				req    *aftersalesv1.QuoteTicketRequest
				code   codes.Code
				reason aftersalesv1.ErrorReason
				field  string
			}{
				{"negative quantity", quoteOf(tk, nil, line("LAB-ANY", -1)), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].quantity"},
				{"zero quantity", quoteOf(tk, nil, line("LAB-ANY", 0)), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].quantity"},
				{"no lines", quoteOf(tk, nil), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines"},
				{"unknown code", quoteOf(tk, nil, line("LAB-ANY", 1), line("P-NOPE", 1)), codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_FEE_LINE, "quote.lines[1].code"},
				{"mixed currency in a line", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Description: "x", Kind: aftersalesv1.FeeKind_FEE_KIND_OTHER, UnitPrice: usd, Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_CURRENCY_MISMATCH, "quote.lines[0].unit_price.currency_code"},
				{"mixed currency in the discount", quoteOf(tk, usd, line("LAB-ANY", 1)), codes.InvalidArgument, aftersalesv1.ErrorReason_CURRENCY_MISMATCH, "quote.discount.currency_code"},
				{"sub-fen price", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Description: "x", Kind: aftersalesv1.FeeKind_FEE_KIND_OTHER, UnitPrice: &moneypb.Money{CurrencyCode: "CNY", Units: 15, Nanos: 505_000_000}, Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].unit_price"},
				{"sub-fen discount", quoteOf(tk, &moneypb.Money{CurrencyCode: "CNY", Nanos: 1_000_000}, line("LAB-ANY", 1)), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.discount"},
				{"negative discount", quoteOf(tk, &moneypb.Money{CurrencyCode: "CNY", Units: -1}, line("LAB-ANY", 1)), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.discount"},
				{"discount above the subtotal", quoteOf(tk, yuan(100, 1), line("LAB-ANY", 1)), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.discount"},
				{"another price for a schedule line", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Code: "LAB-ANY", UnitPrice: yuan(90, 0), Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].unit_price"},
				{"another kind for a schedule line", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Code: "LAB-ANY", Kind: aftersalesv1.FeeKind_FEE_KIND_PART, Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].kind"},
				{"an unlisted line without a price", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Description: "x", Kind: aftersalesv1.FeeKind_FEE_KIND_OTHER, Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].unit_price"},
				{"an unlisted line without a kind", quoteOf(tk, nil, &aftersalesv1.ChargeLine{Description: "x", UnitPrice: yuan(1, 0), Quantity: 1}),
					codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, "quote.lines[0].kind"},
				{"stale etag", &aftersalesv1.QuoteTicketRequest{Name: tk.GetName(), Etag: `W/"stale"`, Quote: &aftersalesv1.Quote{Lines: []*aftersalesv1.ChargeLine{line("LAB-ANY", 1)}}},
					codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH, ""},
			} {
				t.Run(c.name, func(t *testing.T) {
					_, err := e.tickets.QuoteTicket(agent, c.req)
					requireCode(t, err, c.code, c.reason)
					if c.field != "" {
						var fields []string
						for _, v := range apierr.FieldViolations(err) {
							fields = append(fields, v.Field)
						}
						assert.Contains(t, fields, c.field, "error: %v", err)
					}
					got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
					require.NoError(t, err)
					assert.Equal(t, tk.GetEtag(), got.GetEtag())
					assert.Nil(t, got.GetQuote())
					assert.Len(t, e.timeline(agent, tk), events)
				})
			}

			t.Run("who may not quote", func(t *testing.T) {
				_, err := e.tickets.QuoteTicket(as(f.customer.GetName()), quoteOf(tk, nil, line("LAB-ANY", 1)))
				require.Equal(t, codes.PermissionDenied, status.Code(err))
				// Not assigned to the technician: as if it did not exist.
				_, err = e.tickets.QuoteTicket(as(f.technician.GetName()), quoteOf(tk, nil, line("LAB-ANY", 1)))
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				_, err = e.tickets.QuoteTicket(as(f.partner.GetName()), quoteOf(tk, nil, line("LAB-ANY", 1)))
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			})

			t.Run("not on a closed ticket", func(t *testing.T) {
				other := e.newTicket(f, f.outOfWarranty)
				other, err := e.tickets.CancelTicket(agent, &aftersalesv1.CancelTicketRequest{Name: other.GetName(), Reason: "duplicate"})
				require.NoError(t, err)
				_, err = e.tickets.QuoteTicket(agent, quoteOf(other, nil, line("LAB-ANY", 1)))
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			})
		})
	}
}

// TestQuoteRetry: a retried QuoteTicket returns the first result and makes
// one revision; the same request_id with another quote is refused.
func TestQuoteRetry(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			e.publishSchedule(testSchedule())
			tk := e.newTicket(f, f.outOfWarranty)

			req := quoteOf(tk, yuan(5, 0), line("LAB-REPAIR-WASHER", 1))
			req.RequestId = "quote-0001"
			first, err := e.tickets.QuoteTicket(agent, req)
			require.NoError(t, err)
			second, err := e.tickets.QuoteTicket(agent, req)
			require.NoError(t, err)
			assert.True(t, proto.Equal(first, second), "the retry returns the first result")
			assert.Equal(t, int32(1), second.GetQuote().GetRevision())
			got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			assert.Equal(t, int32(1), got.GetQuote().GetRevision())
			assert.Equal(t, first.GetEtag(), got.GetEtag())
			assert.Len(t, eventsOf(e.timeline(agent, tk), aftersalesv1.TicketEvent_QUOTED), 1)

			other := quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 2))
			other.RequestId = "quote-0001"
			_, err = e.tickets.QuoteTicket(agent, other)
			require.Equal(t, codes.InvalidArgument, status.Code(err), "error: %v", err)
		})
	}
}

// TestQuoteLegacyFeeQuote: once a fee schedule is in effect a free-form
// fee_quote is a manager's exception, and never on a ticket quoted from
// the schedule; before that, nothing changes.
func TestQuoteLegacyFeeQuote(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent, manager := as(f.agent.GetName()), as(f.manager.GetName())
			feeQuote := &aftersalesv1.FeeQuote{Labor: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 8000}, Description: "new belt"}
			setFee := func(ctx context.Context, tk *aftersalesv1.Ticket, fq *aftersalesv1.FeeQuote) (*aftersalesv1.Ticket, error) {
				return e.tickets.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{
					Ticket:     &aftersalesv1.Ticket{Name: tk.GetName(), FeeQuote: fq},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"fee_quote"}},
				})
			}

			before := e.newTicket(f, f.outOfWarranty)
			before, err := setFee(agent, before, feeQuote)
			require.NoError(t, err, "no schedule: as before")
			require.Equal(t, aftersalesv1.FeeQuote_PENDING, before.GetFeeQuote().GetApprovalState())

			// A free-form quote has no revisions to name.
			_, err = e.tickets.ApproveTicketFee(agent, &aftersalesv1.ApproveTicketFeeRequest{Name: before.GetName(), Approved: true, QuoteRevision: 1})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_NOT_OFFERED)

			e.publishSchedule(testSchedule())
			tk := e.newTicket(f, f.outOfWarranty)
			_, err = setFee(agent, tk, feeQuote)
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED)
			assert.Contains(t, err.Error(), "QuoteTicket")
			_, err = setFee(agent, before, nil)
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED)
			_, err = e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
				Customer: f.customer.GetName(), Product: f.outOfWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
				Channel: aftersalesv1.Ticket_PHONE, Title: "Belt", FeeQuote: feeQuote,
			}})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED)
			// An update of every field (empty mask) without a fee quote
			// still works on a ticket that has none.
			_, err = e.tickets.UpdateTicket(agent, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{
				Name: tk.GetName(), Title: "Belt slips", Type: aftersalesv1.Ticket_REPAIR, Priority: aftersalesv1.Ticket_NORMAL, Product: f.outOfWarranty.GetName(),
			}})
			require.NoError(t, err)

			legacy, err := setFee(manager, tk, feeQuote)
			require.NoError(t, err, "a manager may")
			require.NotNil(t, legacy.GetFeeQuote())

			// Quoting from the schedule replaces it.
			quoted, err := e.tickets.QuoteTicket(agent, quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 1)))
			require.NoError(t, err)
			assert.Nil(t, quoted.GetFeeQuote())
			require.NotNil(t, quoted.GetQuote())
			_, err = setFee(manager, tk, feeQuote)
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_QUOTE_FROM_SCHEDULE_REQUIRED)
			updated, err := e.tickets.UpdateTicket(agent, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{
				Name: tk.GetName(), Title: "Belt slips badly", Type: aftersalesv1.Ticket_REPAIR, Priority: aftersalesv1.Ticket_NORMAL, Product: f.outOfWarranty.GetName(),
			}})
			require.NoError(t, err, "an empty fee_quote leaves the schedule quote alone")
			assert.True(t, proto.Equal(quoted.GetQuote(), updated.GetQuote()))
			assert.Nil(t, updated.GetFeeQuote())
		})
	}
}

// TestQuoteGateway quotes over JSON: POST /v1/tickets/{id}:quote.
func TestQuoteGateway(t *testing.T) {
	e := start(t, storetest.Dialects(t)[0])
	f := e.seed()
	e.publishSchedule(testSchedule())
	tk := e.newTicket(f, f.outOfWarranty)

	r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":quote", f.agent.GetName(), map[string]any{
		"quote": map[string]any{
			"lines":    []any{map[string]any{"code": "P-PUMP", "quantity": "2"}},
			"discount": map[string]any{"currencyCode": "CNY", "units": "1", "nanos": 500000000},
			"note":     "two pumps",
		},
		"etag": tk.GetEtag(),
	})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	q, _ := r.body["quote"].(map[string]any)
	require.NotNil(t, q, string(r.raw))
	assert.Equal(t, "OFFERED", q["state"])
	assert.EqualValues(t, 1, q["revision"])
	assert.Equal(t, map[string]any{"currencyCode": "CNY", "units": "239", "nanos": float64(500000000)}, q["total"])

	r = e.do(http.MethodPost, "/v1/"+tk.GetName()+":quote", f.agent.GetName(), map[string]any{
		"quote": map[string]any{"lines": []any{map[string]any{"code": "P-NOPE", "quantity": "1"}}},
	})
	requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_FEE_LINE)
}

// TestQuoteCharge: a resolution charges what the customer approved at
// most, and that total when it names no charge.
func TestQuoteCharge(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			e.publishSchedule(testSchedule())
			tech, customer := as(f.technician.GetName()), as(f.customer.GetName())
			tk := e.acceptedBy(f, f.outOfWarranty)
			quoted, err := e.tickets.QuoteTicket(tech, quoteOf(tk, nil, line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1)))
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Quote_OFFERED, quoted.GetQuote().GetState())
			_, err = e.tickets.ApproveTicketFee(customer, &aftersalesv1.ApproveTicketFeeRequest{Name: tk.GetName(), Approved: true, QuoteRevision: 1})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)

			resolve := func(fee *aftersalesv1.Money) (*aftersalesv1.Ticket, error) {
				r := validResolution()
				r.FeeCharged = fee
				return e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: r})
			}
			_, err = resolve(&aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 27051})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_FEE_APPROVAL_REQUIRED)
			assert.Contains(t, status.Convert(err).Message(), "approved CNY 270.50 (revision 1)")
			_, err = resolve(&aftersalesv1.Money{CurrencyCode: "EUR", MinorUnits: 100})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_CURRENCY_MISMATCH)
			got, err := e.tickets.GetTicket(tech, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, got.GetState(), "a refused resolution changes nothing")

			resolved, err := resolve(nil)
			require.NoError(t, err)
			assert.Equal(t, int64(27050), resolved.GetResolution().GetFeeCharged().GetMinorUnits(), "the approved total, when no charge is named")
			assert.Equal(t, "CNY", resolved.GetResolution().GetFeeCharged().GetCurrencyCode())
		})
	}
}

// TestQuoteRandomNeverLosesACent quotes random quantities of the
// schedule's lines with random discounts and checks, through the API,
// that the lines add up to the subtotal, their discount shares to the
// discount, and subtotal − discount to the total, to the fen.
func TestQuoteRandomNeverLosesACent(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	e := start(t, "sqlite")
	f := e.seed()
	e.publishSchedule(testSchedule())
	manager := as(f.manager.GetName()) // any discount, no approval step
	tk := e.acceptedBy(f, f.outOfWarranty)
	lineCodes := []string{"LAB-REPAIR-WASHER", "LAB-ANY", "P-BRUSH", "P-PUMP", "CALL-PUDONG", "CALL-ANY"}
	for i := range 40 {
		var lines []*aftersalesv1.ChargeLine
		for _, c := range lineCodes {
			if r.IntN(2) == 0 {
				lines = append(lines, line(c, 1+r.Int64N(997)))
			}
		}
		if len(lines) == 0 {
			lines = append(lines, line("P-PUMP", 1+r.Int64N(997)))
		}
		var subtotal int64
		for _, l := range lines {
			subtotal += map[string]int64{"LAB-REPAIR-WASHER": 15000, "LAB-ANY": 10000, "P-BRUSH": 4000, "P-PUMP": 12050, "CALL-PUDONG": 3000, "CALL-ANY": 5000}[l.GetCode()] * l.GetQuantity()
		}
		discount := r.Int64N(subtotal + 1)
		got, err := e.tickets.QuoteTicket(manager, quoteOf(tk, &moneypb.Money{CurrencyCode: "CNY", Units: discount / 100, Nanos: int32(discount%100) * 10_000_000}, lines...))
		require.NoError(t, err, "round %d", i)
		q := got.GetQuote()
		var amounts, shares int64
		for _, l := range q.GetLines() {
			a, d := minor(t, l.GetAmount()), minor(t, l.GetDiscount())
			require.LessOrEqual(t, d, a, "a line's share of the discount is at most its amount")
			amounts += a
			shares += d
		}
		require.Equal(t, subtotal, minor(t, q.GetSubtotal()), "round %d", i)
		require.Equal(t, subtotal, amounts, "round %d", i)
		require.Equal(t, discount, shares, "round %d: the shares add up to the discount", i)
		require.Equal(t, subtotal-discount, minor(t, q.GetTotal()), "round %d", i)
	}
}

// TestQuotesAndClaimsConcurrently: quotes revised on many tickets at
// once, and shops' warranty claims written at once, all succeed: writing
// one owner's charge lines must not lock another's (on MySQL a range
// delete's gap locks made most of them deadlock and fail ABORTED).
func TestQuotesAndClaimsConcurrently(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			e.publishSchedule(testSchedule())
			agent, shop := as(f.agent.GetName()), as(f.partner.GetName())
			const n = 12
			quoted := make([]*aftersalesv1.Ticket, n)
			repaired := make([]string, n)
			for i := range n {
				quoted[i] = e.newTicket(f, f.outOfWarranty)
				tk := e.newTicket(f, f.inWarranty)
				_, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.partnerTech.GetName()})
				require.NoError(t, err)
				_, err = e.tickets.AcceptTicket(shop, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				_, err = e.tickets.StartTicket(shop, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				repaired[i] = tk.GetName()
			}
			revisions := [][]*aftersalesv1.ChargeLine{
				{line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1)},
				{line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1), line("P-BRUSH", 2), line("CALL-ANY", 1)},
				{line("LAB-ANY", 1)},
			}
			errs := make(chan error, 4*n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					for _, lines := range revisions {
						_, err := e.tickets.QuoteTicket(agent, quoteOf(quoted[i], nil, lines...))
						errs <- err
					}
				})
				wg.Go(func() {
					_, err := e.tickets.ResolveTicket(shop, &aftersalesv1.ResolveTicketRequest{Name: repaired[i], Resolution: withParts("P-PUMP", 1, "P-BRUSH", 1)})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for _, tk := range quoted {
				got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				require.Equal(t, int32(3), got.GetQuote().GetRevision())
				require.Len(t, got.GetQuote().GetLines(), 1, "the last revision's one line, the others gone")
			}
			claims, err := e.claims.ListWarrantyClaims(shop, &aftersalesv1.ListWarrantyClaimsRequest{Parent: f.partner.GetName()})
			require.NoError(t, err)
			require.Len(t, claims.GetClaims(), n)
			for _, c := range claims.GetClaims() {
				require.Len(t, c.GetLines(), 4) // labour, pump, brushes, call-out
			}
		})
	}
}
