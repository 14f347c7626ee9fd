package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func fastSLA(c *config.Config) { c.SLACheckInterval = 20 * time.Millisecond }

// TestSLABreachEscalates drives the SLA loop with the injected clock: a
// missed target is recorded once, escalates once, and a paused ticket
// whose policy stops the clock is never breached. Two replicas share the
// database, as in production.
func TestSLABreachEscalates(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			e := startURL(t, urls[0], fastSLA)
			replica := startURL(t, urls[1], fastSLA)
			f := e.seed()
			agent := as(f.agent.GetName())

			urgent := func() *aftersalesv1.Ticket {
				tk, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
					Customer: f.customer.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE,
					Priority: aftersalesv1.Ticket_URGENT, Title: "Smoke from the dryer",
				}})
				require.NoError(t, err)
				return tk
			}
			late := urgent()
			paused := urgent()
			paused, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: paused.GetName(), Assignee: f.technician.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.AcceptTicket(as(f.technician.GetName()), &aftersalesv1.AcceptTicketRequest{Name: paused.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.StartTicket(as(f.technician.GetName()), &aftersalesv1.StartTicketRequest{Name: paused.GetName()})
			require.NoError(t, err)
			_, err = e.tickets.PauseTicket(as(f.technician.GetName()), &aftersalesv1.PauseTicketRequest{Name: paused.GetName(), Reason: "customer away"})
			require.NoError(t, err)

			// Past the 1h response target: the late ticket breaches.
			e.clock.Advance(61 * time.Minute)
			replica.clock.Advance(61 * time.Minute)
			require.Eventually(t, func() bool {
				got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: late.GetName()})
				return err == nil && got.GetSla().GetResponseBreached()
			}, 10*time.Second, 10*time.Millisecond)

			// Past the 8h resolution target too.
			e.clock.Advance(8 * time.Hour)
			replica.clock.Advance(8 * time.Hour)
			require.Eventually(t, func() bool {
				got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: late.GetName()})
				return err == nil && got.GetSla().GetResolveBreached()
			}, 10*time.Second, 10*time.Millisecond)

			got, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: late.GetName()})
			require.NoError(t, err)
			require.EqualValues(t, 2, got.GetEscalationLevel(), "one escalation per missed target, across replicas")
			events, err := e.tickets.ListTicketEvents(agent, &aftersalesv1.ListTicketEventsRequest{Parent: late.GetName()})
			require.NoError(t, err)
			count := map[aftersalesv1.TicketEvent_Type]int{}
			for _, ev := range events.GetEvents() {
				count[ev.GetType()]++
				if ev.GetType() == aftersalesv1.TicketEvent_SLA_BREACHED {
					require.Equal(t, "system/sla", ev.GetActor())
					require.Contains(t, ev.GetNotify(), f.agent.GetName())
				}
			}
			require.Equal(t, 2, count[aftersalesv1.TicketEvent_SLA_BREACHED])
			require.Equal(t, 2, count[aftersalesv1.TicketEvent_ESCALATED])

			// The paused ticket was scanned in the same passes and left alone.
			p, err := e.tickets.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: paused.GetName()})
			require.NoError(t, err)
			require.False(t, p.GetSla().GetResolveBreached())
			require.False(t, p.GetSla().GetResponseBreached(), "accepted in time")
			require.Zero(t, p.GetEscalationLevel())
		})
	}
}
