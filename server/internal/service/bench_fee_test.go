package service_test

import (
	"fmt"
	"testing"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// BenchmarkShopRepair runs a shop's in-warranty repair from opening to
// resolution (create, assign, accept, start, resolve: 5 calls) with no
// price list and with one published, where the resolution also prices
// and writes the shop's warranty claim (a schedule read, the claim and
// its lines): the difference is the claim's cost.
func BenchmarkShopRepair(b *testing.B) {
	for _, withSchedule := range []bool{false, true} {
		b.Run(fmt.Sprintf("schedule=%v", withSchedule), func(b *testing.B) {
			e, f := startBench(b)
			if withSchedule {
				e.publishSchedule(testSchedule())
			}
			agent, shop := as(f.agent.GetName()), as(f.partner.GetName())
			ticket := benchTicket(f)
			runParallel(b, func(seq int64) error {
				tk, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{RequestId: fmt.Sprintf("bench-%d", seq), Ticket: ticket})
				if err != nil {
					return err
				}
				name := tk.GetName()
				if _, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: name, Assignee: f.partnerTech.GetName()}); err != nil {
					return err
				}
				if _, err := e.tickets.AcceptTicket(shop, &aftersalesv1.AcceptTicketRequest{Name: name}); err != nil {
					return err
				}
				if _, err := e.tickets.StartTicket(shop, &aftersalesv1.StartTicketRequest{Name: name}); err != nil {
					return err
				}
				_, err = e.tickets.ResolveTicket(shop, &aftersalesv1.ResolveTicketRequest{Name: name, Resolution: withParts("P-PUMP", 1, "P-BRUSH", 2)})
				return err
			})
		})
	}
}

// BenchmarkQuoteTicket prices a three-line quote with a discount from
// the schedule, each call a new revision of one of benchTickets tickets.
func BenchmarkQuoteTicket(b *testing.B) {
	e, f := startBench(b)
	e.publishSchedule(testSchedule())
	agent := as(f.agent.GetName())
	names := make([]string, benchTickets)
	for i := range names {
		names[i] = e.newTicket(f, f.outOfWarranty).GetName()
	}
	runParallel(b, func(seq int64) error {
		_, err := e.tickets.QuoteTicket(agent, &aftersalesv1.QuoteTicketRequest{Name: names[seq%benchTickets], Quote: &aftersalesv1.Quote{
			Lines:    []*aftersalesv1.ChargeLine{line("LAB-REPAIR-WASHER", 1), line("P-PUMP", 1), line("CALL-ANY", 1)},
			Discount: yuan(10, 0),
		}})
		return err
	})
}
