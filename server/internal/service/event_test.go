package service_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// feed gives committed events their positions and returns every event
// after after that ctx's caller sees through filter, paging with size.
func (e *env) feed(ctx context.Context, after int64, filter string) []*aftersalesv1.Event {
	e.t.Helper()
	_, err := e.app.Services().SequenceEvents(context.Background())
	require.NoError(e.t, err)
	var out []*aftersalesv1.Event
	for {
		resp, err := e.events.ListEvents(ctx, &aftersalesv1.ListEventsRequest{AfterId: after, Filter: filter, PageSize: 7})
		require.NoError(e.t, err)
		out = append(out, resp.GetEvents()...)
		if resp.GetNextAfterId() == after {
			return out
		}
		require.Greater(e.t, resp.GetNextAfterId(), after)
		after = resp.GetNextAfterId()
	}
}

// top returns the newest event position an admin sees.
func (e *env) top() int64 {
	e.t.Helper()
	evs := e.feed(e.admin(), 0, "")
	if len(evs) == 0 {
		return 0
	}
	return evs[len(evs)-1].GetId()
}

// types lists the events' types for one resource, in feed order.
func types(evs []*aftersalesv1.Event, resource string) []string {
	var out []string
	for _, ev := range evs {
		if ev.GetResource() == resource {
			out = append(out, ev.GetType())
		}
	}
	return out
}

// otherShop registers a second partner shop with a key.
func (e *env) otherShop() *aftersalesv1.Partner {
	e.t.Helper()
	p, err := e.partners.CreatePartner(e.admin(), &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Other Shop", Region: "Minhang"}})
	require.NoError(e.t, err)
	id, _ := resname.ID(p.GetName(), resname.Partners)
	e.issueKey(auth.KeySpec{DisplayName: "other shop key", PartnerID: id}, p.GetName())
	_, err = e.staff.CreateStaff(e.admin(), &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Olga Other", Role: aftersalesv1.Staff_TECHNICIAN, Partner: p.GetName()}})
	require.NoError(e.t, err)
	return p
}

// TestEventFeed: every committed change is one event in order, with the
// resource's new state; a failed call emits nothing; each caller sees the
// events of what they may Get, with the same fields hidden.
func TestEventFeed(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			other := e.otherShop()
			agent := as(f.agent.GetName())
			start := e.top()

			tk := e.newTicket(f, f.inWarranty)
			tk, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: f.partner.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AddTicketComment(agent, &aftersalesv1.AddTicketCommentRequest{Parent: tk.GetName(), Message: "Customer home after 6pm"})
			require.NoError(t, err)
			_, err = e.tickets.AddTicketComment(agent, &aftersalesv1.AddTicketCommentRequest{Parent: tk.GetName(), Message: "VIP, be quick", Internal: true})
			require.NoError(t, err)
			// Failed calls: a refused transition and a stale etag.
			_, err = e.tickets.CloseTicket(agent, &aftersalesv1.CloseTicketRequest{Name: tk.GetName()})
			require.Equal(t, codes.FailedPrecondition, status.Code(err))
			_, err = e.tickets.UpdateTicket(agent, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Title: "x", Etag: `"stale"`}})
			require.Error(t, err)
			tk, err = e.tickets.UpdateTicket(agent, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Priority: aftersalesv1.Ticket_HIGH}, UpdateMask: mask("priority")})
			require.NoError(t, err)

			all := e.feed(e.admin(), start, "")
			require.Equal(t, []string{"ticket.created", "ticket.assigned", "ticket.updated"}, types(all, tk.GetName()))
			var comments []*aftersalesv1.Event
			for i, ev := range all {
				if i > 0 {
					require.Greater(t, ev.GetId(), all[i-1].GetId(), "positions increase")
				}
				require.Equal(t, "events/"+strconv.FormatInt(ev.GetId(), 10), ev.GetName())
				if ev.GetType() == "ticket.commented" {
					comments = append(comments, ev)
				}
			}
			require.Len(t, comments, 2)
			require.Equal(t, "ticket_event", comments[0].GetResourceType())
			last := all[len(all)-1]
			require.Equal(t, tk.GetName(), last.GetResource())
			require.Equal(t, f.agent.GetName(), last.GetPrincipal())
			got := &aftersalesv1.Ticket{}
			require.NoError(t, last.GetData().UnmarshalTo(got))
			require.True(t, proto.Equal(tk, got), "the event carries what Get returns")

			// Filters.
			assigned := e.feed(e.admin(), start, `resource_type = "ticket" AND type = "ticket.assigned"`)
			require.Len(t, assigned, 1)
			require.Equal(t, tk.GetName(), assigned[0].GetResource())
			_, err = e.events.ListEvents(e.admin(), &aftersalesv1.ListEventsRequest{Filter: `colour = "red"`})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_FILTER)
			_, err = e.events.ListEvents(e.admin(), &aftersalesv1.ListEventsRequest{PageSize: -1})
			require.Equal(t, codes.InvalidArgument, status.Code(err))

			// The shop sees its ticket's events from its dispatch on,
			// without the internal note; the other shop nothing.
			shop := e.feed(as(f.partner.GetName()), start, "")
			require.Equal(t, []string{"ticket.assigned", "ticket.updated"}, types(shop, tk.GetName()))
			for _, ev := range shop {
				require.NotEqual(t, "customer", ev.GetResourceType())
				if ev.GetType() == "ticket.commented" {
					te := &aftersalesv1.TicketEvent{}
					require.NoError(t, ev.GetData().UnmarshalTo(te))
					require.False(t, te.GetInternal(), "no internal notes for a shop")
				}
			}
			require.Empty(t, e.feed(as(other.GetName()), start, ""), "another shop sees nothing")
			require.Empty(t, types(e.feed(as(f.technician.GetName()), start, ""), tk.GetName()), "nor a technician who does not work it")

			// The customer: their ticket, without the internal note.
			mine := e.feed(as(f.customer.GetName()), start, "")
			require.Equal(t, []string{"ticket.created", "ticket.assigned", "ticket.updated"}, types(mine, tk.GetName()))
			n := 0
			for _, ev := range mine {
				if ev.GetType() == "ticket.commented" {
					n++
				}
			}
			require.Equal(t, 1, n, "one public comment")

			// The feed over JSON, as the app reads it.
			q := url.Values{"afterId": {strconv.FormatInt(start, 10)}, "filter": {`type = "ticket.created"`}}
			r := e.do(http.MethodGet, "/v1/events?"+q.Encode(), f.customer.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			evs := r.body["events"].([]any)
			require.Len(t, evs, 1)
			data := evs[0].(map[string]any)["data"].(map[string]any)
			require.Equal(t, "type.googleapis.com/aftersales.v1.Ticket", data["@type"])
			require.Equal(t, tk.GetName(), data["name"])
		})
	}
}

// TestEventRetention: retention deletes old events, and a reader behind
// it is told where the feed continues instead of skipping silently.
func TestEventRetention(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			start := e.top()
			old := e.newTicket(f, f.inWarranty)
			oldEvents := e.feed(e.admin(), start, "")
			require.NotEmpty(t, oldEvents)

			e.clock.Advance(8 * 24 * time.Hour)
			fresh := e.newTicket(f, f.inWarranty)
			e.top()
			n, err := e.app.Services().PurgeEvents(context.Background())
			require.NoError(t, err)
			require.Positive(t, n)

			_, err = e.events.ListEvents(e.admin(), &aftersalesv1.ListEventsRequest{AfterId: start})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_EVENT_CURSOR_EXPIRED)
			require.NotEmpty(t, apierr.PreconditionViolations(err))
			oldest, perr := strconv.ParseInt(apierr.Info(err).GetMetadata()["oldest_after_id"], 10, 64)
			require.NoError(t, perr)
			require.GreaterOrEqual(t, oldest, oldEvents[len(oldEvents)-1].GetId())

			rest := e.feed(e.admin(), oldest, "")
			require.Equal(t, []string{"ticket.created"}, types(rest, fresh.GetName()))
			require.Empty(t, types(rest, old.GetName()))
			// 0 means "the oldest kept", never an error.
			require.Equal(t, rest, e.feed(e.admin(), 0, ""))
		})
	}
}

// TestWatchEvents: the stream sends the backlog and then each event as
// it is committed, in the caller's scope.
func TestWatchEvents(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			other := e.otherShop()
			agent := as(f.agent.GetName())
			ctx, cancel := context.WithTimeout(as(f.partner.GetName()), 30*time.Second)
			defer cancel()
			stream, err := e.events.WatchEvents(ctx, &aftersalesv1.WatchEventsRequest{})
			require.NoError(t, err)
			otherCtx, otherCancel := context.WithTimeout(as(other.GetName()), 30*time.Second)
			defer otherCancel()
			otherStream, err := e.events.WatchEvents(otherCtx, &aftersalesv1.WatchEventsRequest{Filter: `resource_type = "ticket"`})
			require.NoError(t, err)
			// Both watch "from now": the headers say when now was, before
			// anything below commits.
			for _, s := range []grpc.ServerStreamingClient[aftersalesv1.Event]{stream, otherStream} {
				md, err := s.Header()
				require.NoError(t, err)
				require.Len(t, md.Get("aftersales-after-id"), 1)
				start, err := strconv.ParseInt(md.Get("aftersales-after-id")[0], 10, 64)
				require.NoError(t, err)
				require.Positive(t, start, "the seed's events came before")
			}

			mineTk := e.newTicket(f, f.inWarranty)
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: mineTk.GetName(), Partner: f.partner.GetName()})
			require.NoError(t, err)
			theirs := e.newTicket(f, f.outOfWarranty)
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: theirs.GetName(), Partner: other.GetName()})
			require.NoError(t, err)

			// No explicit sequencing: the server's loop wakes the streams.
			ev, err := stream.Recv()
			require.NoError(t, err)
			require.Equal(t, mineTk.GetName(), ev.GetResource())
			require.Equal(t, "ticket.assigned", ev.GetType())
			ev, err = otherStream.Recv()
			require.NoError(t, err)
			require.Equal(t, theirs.GetName(), ev.GetResource(), "the other shop's first event is its own ticket")

			// A stream's error arrives with its first message.
			bad, err := e.events.WatchEvents(ctx, &aftersalesv1.WatchEventsRequest{Filter: "nonsense"})
			require.NoError(t, err)
			_, err = bad.Recv()
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_FILTER)
			bad, err = e.events.WatchEvents(ctx, &aftersalesv1.WatchEventsRequest{AfterId: -1})
			require.NoError(t, err)
			_, err = bad.Recv()
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
		})
	}
}

// TestFollowUpDueEvent: a follow-up falling due is announced once.
func TestFollowUpDueEvent(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ctx := context.Background()
			_, err := e.app.Services().EmitFollowUpsDue(ctx) // starts the clock of the loop
			require.NoError(t, err)
			_, fu := e.resolved(f)
			start := e.top()
			n, err := e.app.Services().EmitFollowUpsDue(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "not due yet")

			e.clock.Advance(73 * time.Hour)
			n, err = e.app.Services().EmitFollowUpsDue(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			n, err = e.app.Services().EmitFollowUpsDue(ctx)
			require.NoError(t, err)
			require.Zero(t, n, "announced once")

			due := e.feed(e.admin(), start, `type = "followup.due"`)
			require.Len(t, due, 1)
			require.Equal(t, fu.GetName(), due[0].GetResource())
			got := &aftersalesv1.FollowUp{}
			require.NoError(t, due[0].GetData().UnmarshalTo(got))
			require.True(t, got.GetOverdue())
			require.Equal(t, "system/followups", due[0].GetPrincipal())
			require.Empty(t, e.feed(as(f.customer.GetName()), start, `type = "followup.due"`), "follow-ups are the desk's")
		})
	}
}

// TestComplaintEscalatedEvent: an escalation is complaint.escalated, and
// the customer's copy hides who answers for it inside the company.
func TestComplaintEscalatedEvent(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			start := e.top()
			c := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM)
			require.NoError(t, e.complaintCall(f, c.GetName(), complaintflow.Escalate))

			staffView := e.feed(as(f.manager.GetName()), start, `type = "complaint.escalated"`)
			require.Len(t, staffView, 1)
			got := &aftersalesv1.Complaint{}
			require.NoError(t, staffView[0].GetData().UnmarshalTo(got))
			require.NotEmpty(t, got.GetEscalatedTo())

			mine := e.feed(as(f.customer.GetName()), start, `type = "complaint.escalated"`)
			require.Len(t, mine, 1)
			got = &aftersalesv1.Complaint{}
			require.NoError(t, mine[0].GetData().UnmarshalTo(got))
			require.Empty(t, got.GetEscalatedTo(), "hidden from the customer as GetComplaint hides it")
			require.Equal(t, staffView[0].GetId(), mine[0].GetId())
		})
	}
}
