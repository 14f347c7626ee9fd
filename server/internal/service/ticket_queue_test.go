package service_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestTicketQueueOrder: ListTickets ordered by the SLA's resolve due time
// pages through every ticket once, in due order (ties by name), either
// way, with filters and the caller's scope; the order follows the clock
// as a pause moves it; a page token is bound to its order.
func TestTicketQueueOrder(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			tech := as(f.technician.GetName())
			ts := e.tickets

			// 13 tickets whose due times interleave with their creation:
			// an URGENT ticket opened later (8h target) is due before a
			// LOW one opened earlier (5 days). Three URGENT ones opened at
			// the same instant tie on their due time.
			prios := []aftersalesv1.Ticket_Priority{
				aftersalesv1.Ticket_LOW, aftersalesv1.Ticket_NORMAL, aftersalesv1.Ticket_HIGH, aftersalesv1.Ticket_URGENT,
			}
			var all []*aftersalesv1.Ticket
			open := func(p aftersalesv1.Ticket_Priority) *aftersalesv1.Ticket {
				tk, err := ts.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
					Customer: f.customer.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE,
					Title: "Queue " + p.String(), Priority: p,
				}})
				require.NoError(t, err)
				all = append(all, tk)
				return tk
			}
			for i := range 10 {
				open(prios[i%len(prios)])
				e.clock.Advance(time.Hour)
			}
			for range 3 {
				open(aftersalesv1.Ticket_URGENT)
			}
			// Three go to the technician.
			var techs []string
			for _, i := range []int{0, 5, 11} {
				_, err := ts.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: all[i].GetName(), Assignee: f.technician.GetName()})
				require.NoError(t, err)
				techs = append(techs, all[i].GetName())
			}

			// byDue is the order the API promises, from each ticket as the
			// API reads it now.
			byDue := func(names []string) []string {
				type due struct {
					name string
					at   time.Time
				}
				var ds []due
				for _, n := range names {
					tk, err := ts.GetTicket(agent, &aftersalesv1.GetTicketRequest{Name: n})
					require.NoError(t, err)
					ds = append(ds, due{n, tk.GetSla().GetResolveDueTime().AsTime()})
				}
				slices.SortFunc(ds, func(a, b due) int {
					if c := a.at.Compare(b.at); c != 0 {
						return c
					}
					return strings.Compare(a.name, b.name)
				})
				out := make([]string, len(ds))
				for i, d := range ds {
					out[i] = d.name
				}
				return out
			}
			var names []string
			for _, tk := range all {
				names = append(names, tk.GetName())
			}
			reversed := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }

			walk := func(t *testing.T, caller string, req *aftersalesv1.ListTicketsRequest) []string {
				t.Helper()
				var out []string
				for range 50 {
					resp, err := ts.ListTickets(as(caller), req)
					require.NoError(t, err)
					for _, tk := range resp.GetTickets() {
						out = append(out, tk.GetName())
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						return out
					}
				}
				t.Fatal("pagination does not end")
				return nil
			}

			want := byDue(names)
			require.NotEqual(t, names, want, "the due order differs from the creation order")
			for _, size := range []int32{1, 2, 5, 13, 0} {
				require.Equal(t, want, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "sla.resolve_due_time", PageSize: size}), "page size %d", size)
				require.Equal(t, reversed(want), walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "sla.resolve_due_time desc", PageSize: size}), "page size %d, desc", size)
			}
			require.Equal(t, want, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "  sla.resolve_due_time  asc ", PageSize: 4}))

			// Filters the queues use: a state, every open state, an assignee.
			assigned := byDue(techs)
			require.Equal(t, assigned, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{Filter: "state = ASSIGNED", OrderBy: "sla.resolve_due_time", PageSize: 2}))
			newOnes := byDue(slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(techs, n) }))
			require.Equal(t, newOnes, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{Filter: "state = NEW", OrderBy: "sla.resolve_due_time", PageSize: 3}))
			openFilter := "state != RESOLVED AND state != CLOSED AND state != CANCELLED"
			require.Equal(t, want, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{Filter: openFilter, OrderBy: "sla.resolve_due_time", PageSize: 4}))
			require.Equal(t, assigned, walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{Filter: `assignee = "` + f.technician.GetName() + `" AND ` + openFilter, OrderBy: "sla.resolve_due_time", PageSize: 1}))
			// The technician's own key sees its tickets only, in the same order.
			require.Equal(t, assigned, walk(t, f.technician.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "sla.resolve_due_time", PageSize: 1}))

			// A pause moves the due time later on resume (the clock stops):
			// the ticket due first becomes the last once paused long enough.
			first := assigned[0]
			for _, step := range []func() error{
				func() error { return errOf(ts.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: first})) },
				func() error { return errOf(ts.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: first})) },
				func() error {
					return errOf(ts.PauseTicket(tech, &aftersalesv1.PauseTicketRequest{Name: first, Reason: "waiting for parts"}))
				},
			} {
				require.NoError(t, step())
			}
			e.clock.Advance(30 * 24 * time.Hour)
			_, err := ts.ResumeTicket(tech, &aftersalesv1.ResumeTicketRequest{Name: first})
			require.NoError(t, err)
			moved := byDue(techs)
			require.Equal(t, first, moved[len(moved)-1])
			require.Equal(t, moved, walk(t, f.technician.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "sla.resolve_due_time", PageSize: 2}))
			require.Equal(t, byDue(names), walk(t, f.agent.GetName(), &aftersalesv1.ListTicketsRequest{OrderBy: "sla.resolve_due_time", PageSize: 3}))

			t.Run("over JSON", func(t *testing.T) {
				var got []string
				token := ""
				for range 20 {
					path := "/v1/tickets?pageSize=4&orderBy=" + url.QueryEscape("sla.resolve_due_time")
					if token != "" {
						path += "&pageToken=" + url.QueryEscape(token)
					}
					r := e.do(http.MethodGet, path, f.agent.GetName(), nil)
					require.Equal(t, http.StatusOK, r.status, string(r.raw))
					for _, tk := range r.body["tickets"].([]any) {
						got = append(got, tk.(map[string]any)["name"].(string))
					}
					if token, _ = r.body["nextPageToken"].(string); token == "" {
						break
					}
				}
				require.Equal(t, byDue(names), got)
			})

			t.Run("refused", func(t *testing.T) {
				for _, order := range []string{
					"sla.response_due_time",             // not offered
					"resolve_due",                       // the column, not the API's field
					"sla",                               // a message
					"sla.resolve_due_time sideways",     // bad direction
					"sla.resolve_due_time, create_time", // one field only
					"sla.resolve_due_time, sla.resolve_due_time desc",
				} {
					_, err := ts.ListTickets(agent, &aftersalesv1.ListTicketsRequest{OrderBy: order})
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_ORDER_BY)
					require.Contains(t, fieldsOf(err), "order_by", order)
				}
				// A token of one order is refused by another.
				resp, err := ts.ListTickets(agent, &aftersalesv1.ListTicketsRequest{PageSize: 2})
				require.NoError(t, err)
				_, err = ts.ListTickets(agent, &aftersalesv1.ListTicketsRequest{PageSize: 2, OrderBy: "sla.resolve_due_time", PageToken: resp.GetNextPageToken()})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN)
				resp, err = ts.ListTickets(agent, &aftersalesv1.ListTicketsRequest{PageSize: 2, OrderBy: "sla.resolve_due_time"})
				require.NoError(t, err)
				_, err = ts.ListTickets(agent, &aftersalesv1.ListTicketsRequest{PageSize: 2, OrderBy: "sla.resolve_due_time desc", PageToken: resp.GetNextPageToken()})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN)

				r := e.do(http.MethodGet, "/v1/tickets?orderBy="+url.QueryEscape("sla.response_due_time"), f.agent.GetName(), nil)
				requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_ORDER_BY)
				require.Contains(t, jsonFieldViolations(r), "order_by", string(r.raw))
			})
		})
	}
}
