// Command partnershop plays a partner repair shop: it takes every ticket
// assigned to the shop and works it through accept, start and resolve.
//
//	go run ./client/examples/partnershop -insecure -partner partners/acme -token ask_…
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

func main() {
	target := flag.String("target", "localhost:9090", "gRPC address of the aftersales API")
	insecure := flag.Bool("insecure", false, "use plaintext instead of TLS (local servers only)")
	partner := flag.String("partner", "", `the shop, "partners/{id}", whose work to list`)
	token := flag.String("token", "", "the shop's API key (default $AFTERSALES_TOKEN)")
	flag.Parse()
	if *token == "" {
		*token = os.Getenv("AFTERSALES_TOKEN")
	}
	if *partner == "" || *token == "" {
		log.Fatal("-partner and -token (or $AFTERSALES_TOKEN) are required")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *target, *insecure, *partner, *token); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, target string, insecure bool, partner, token string) error {
	opts := []client.Option{client.WithBearerToken(token), client.WithUserAgent("partnershop-example")}
	if insecure {
		opts = append(opts, client.WithInsecure())
	}
	c, err := client.New(ctx, target, opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	// Collect first, then work: working a ticket moves it out of the
	// filter, and the shop should not depend on how the server pages to
	// know whether that would skip tickets.
	req := &aftersalesv1.ListTicketsRequest{
		Filter: fmt.Sprintf("partner = %q AND state = ASSIGNED", partner),
	}
	var tickets []*aftersalesv1.Ticket
	for t, err := range c.AllTickets(ctx, req) {
		if err != nil {
			return fmt.Errorf("list tickets: %w", err)
		}
		tickets = append(tickets, t)
	}
	fmt.Printf("%d ticket(s) assigned to %s\n", len(tickets), partner)

	var failed int
	for _, t := range tickets {
		if err := work(ctx, c, t); err != nil {
			// One ticket's problem (say, a fee not yet approved) should
			// not stop the shop from working the others.
			fmt.Printf("  %s: %v (reason %s)\n", t.GetName(), err, apierr.Reason(err))
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d ticket(s) failed", failed, len(tickets))
	}
	return nil
}

// work accepts, starts and resolves one ticket. Each step passes the etag
// of the ticket the previous step returned, so a change made meanwhile by
// someone else fails with ABORTED instead of being overwritten.
func work(ctx context.Context, c *client.Client, t *aftersalesv1.Ticket) error {
	fmt.Printf("%s %q\n", t.GetName(), t.GetTitle())

	t, err := c.Tickets.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: t.GetName(), Etag: t.GetEtag()})
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	fmt.Printf("  accepted: %s\n", t.GetState())

	t, err = c.Tickets.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: t.GetName(), Etag: t.GetEtag()})
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fmt.Printf("  started: %s\n", t.GetState())

	t, err = c.Tickets.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{
		Name: t.GetName(),
		Etag: t.GetEtag(),
		Resolution: &aftersalesv1.Resolution{
			FaultCategory: "GENERAL",
			FaultCode:     "G01",
			Summary:       "Inspected the unit, fixed the fault and tested it with the customer.",
			Labor:         durationpb.New(45 * time.Minute),
		},
	})
	if err != nil {
		return fmt.Errorf("resolve: %w", err)
	}
	fmt.Printf("  resolved: %s\n", t.GetState())
	return nil
}
