package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// sevenTickets is 3 pages of 3, 3 and 1 tickets at page size 3.
func sevenTickets() []*aftersalesv1.Ticket {
	var ts []*aftersalesv1.Ticket
	for i := range 7 {
		ts = append(ts, &aftersalesv1.Ticket{Name: fmt.Sprintf("tickets/t%d", i)})
	}
	return ts
}

func names(ts []*aftersalesv1.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.GetName())
	}
	return out
}

func TestAllTicketsWalksPages(t *testing.T) {
	srv := &ticketServer{tickets: sevenTickets(), pageSize: 3}
	c := dial(t, serve(t, srv))

	req := &aftersalesv1.ListTicketsRequest{Filter: `state = ASSIGNED`, PageSize: 3}
	var got []*aftersalesv1.Ticket
	for ticket, err := range c.AllTickets(ctxTimeout(t), req) {
		require.NoError(t, err)
		got = append(got, ticket)
	}
	require.Equal(t, names(sevenTickets()), names(got))

	calls := srv.callsOf("ListTickets")
	require.Len(t, calls, 3)
	var tokens []string
	for _, c := range calls {
		r := c.req.(*aftersalesv1.ListTicketsRequest)
		require.Equal(t, `state = ASSIGNED`, r.GetFilter(), "every page keeps the filter")
		tokens = append(tokens, r.GetPageToken())
	}
	require.Equal(t, []string{"", "2", "3"}, tokens)
	require.Empty(t, req.GetPageToken(), "the caller's request is not changed")
}

func TestAllTicketsNilRequest(t *testing.T) {
	srv := &ticketServer{tickets: sevenTickets(), pageSize: 3}
	c := dial(t, serve(t, srv))

	n := 0
	for _, err := range c.AllTickets(ctxTimeout(t), nil) {
		require.NoError(t, err)
		n++
	}
	require.Equal(t, 7, n)
}

func TestAllTicketsStopsWhenConsumerBreaks(t *testing.T) {
	srv := &ticketServer{tickets: sevenTickets(), pageSize: 3}
	c := dial(t, serve(t, srv))

	var got []*aftersalesv1.Ticket
	for ticket, err := range c.AllTickets(ctxTimeout(t), &aftersalesv1.ListTicketsRequest{}) {
		require.NoError(t, err)
		got = append(got, ticket)
		if len(got) == 4 { // the first item of page 2
			break
		}
	}
	require.Equal(t, names(sevenTickets()[:4]), names(got))
	require.Len(t, srv.callsOf("ListTickets"), 2, "page 3 is never fetched")
}

func TestAllTicketsSurfacesError(t *testing.T) {
	srv := &ticketServer{tickets: sevenTickets(), pageSize: 3, listErrAt: 2}
	c := dial(t, serve(t, srv))

	var got []*aftersalesv1.Ticket
	var errs []error
	for ticket, err := range c.AllTickets(ctxTimeout(t), &aftersalesv1.ListTicketsRequest{}) {
		if err != nil {
			require.Nil(t, ticket)
			errs = append(errs, err)
			continue // the sequence must end by itself after an error
		}
		got = append(got, ticket)
	}
	require.Equal(t, names(sevenTickets()[:3]), names(got))
	require.Len(t, errs, 1)
	require.Equal(t, codes.Internal, status.Code(errs[0]))
	require.Len(t, srv.callsOf("ListTickets"), 2)
}

func TestPagesYieldsResponses(t *testing.T) {
	srv := &ticketServer{tickets: sevenTickets(), pageSize: 3}
	c := dial(t, serve(t, srv))

	setToken := func(r *aftersalesv1.ListTicketsRequest, tok string) { r.PageToken = tok }
	var sizes []int
	for resp, err := range client.Pages(ctxTimeout(t), &aftersalesv1.ListTicketsRequest{}, c.Tickets.ListTickets, setToken) {
		require.NoError(t, err)
		sizes = append(sizes, len(resp.GetTickets()))
	}
	require.Equal(t, []int{3, 3, 1}, sizes)
}

// repeatingServer always returns the same next page token, a server bug
// that must not make the client loop forever.
type repeatingServer struct {
	aftersalesv1.UnimplementedTicketServiceServer
}

func (repeatingServer) ListTickets(context.Context, *aftersalesv1.ListTicketsRequest) (*aftersalesv1.ListTicketsResponse, error) {
	return &aftersalesv1.ListTicketsResponse{
		Tickets:       []*aftersalesv1.Ticket{{Name: "tickets/a"}},
		NextPageToken: "same",
	}, nil
}

func TestAllTicketsRepeatedTokenStops(t *testing.T) {
	c := dial(t, serve(t, repeatingServer{}))

	n := 0
	var lastErr error
	for _, err := range c.AllTickets(ctxTimeout(t), nil) {
		if err != nil {
			lastErr = err
			continue
		}
		n++
	}
	require.Equal(t, 2, n)
	require.ErrorContains(t, lastErr, `page token "same" twice`)
}
