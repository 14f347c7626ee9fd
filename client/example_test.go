package client_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// A partner shop connects with its token and accepts a ticket.
func Example() {
	ctx := context.Background()
	c, err := client.New(ctx, "aftersales.example.com:443",
		client.WithBearerToken(os.Getenv("AFTERSALES_TOKEN")),
		client.WithUserAgent("acme-repair/1.4"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// request_id is left empty: the client fills it, and a retry after a
	// dropped connection reuses it, so the ticket is accepted only once.
	t, err := c.Tickets.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: "tickets/abc"})
	if err != nil {
		log.Fatalf("accept: %v (reason %s)", err, apierr.Reason(err))
	}
	fmt.Println(t.GetName(), t.GetState())
}

// List every ticket assigned to a partner shop, across pages.
func ExampleClient_AllTickets() {
	ctx := context.Background()
	c, err := client.New(ctx, "localhost:9090", client.WithInsecure(), client.WithBearerToken(os.Getenv("AFTERSALES_KEY")))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	req := &aftersalesv1.ListTicketsRequest{Filter: `partner = "partners/acme" AND state = ASSIGNED`}
	for t, err := range c.AllTickets(ctx, req) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.GetName(), t.GetTitle())
	}
}
