package service_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestComplaintQueueOrder: ListComplaints ordered by the acknowledgement
// or the resolution deadline pages through every complaint once, in
// deadline order (ties by name), either way, with the queues' filters and
// for a customer's own complaints; bad orders and a token of another order
// are refused.
func TestComplaintQueueOrder(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			cs := e.complaints

			// Severities interleave with creation, so a CRITICAL complaint
			// opened later is due before a LOW one opened earlier; the
			// last three are opened at the same instant and tie.
			sevs := []aftersalesv1.Complaint_Severity{
				aftersalesv1.Complaint_LOW, aftersalesv1.Complaint_MEDIUM, aftersalesv1.Complaint_HIGH, aftersalesv1.Complaint_CRITICAL,
			}
			var names []string
			for i := range 9 {
				names = append(names, e.newComplaint(f, sevs[i%len(sevs)]).GetName())
				e.clock.Advance(time.Hour)
			}
			for range 3 {
				names = append(names, e.newComplaint(f, aftersalesv1.Complaint_CRITICAL).GetName())
			}
			// Four are acknowledged: they work to their resolution deadline.
			acked := []string{names[0], names[3], names[6], names[10]}
			for _, n := range acked {
				_, err := cs.AcknowledgeComplaint(agent, &aftersalesv1.AcknowledgeComplaintRequest{Name: n})
				require.NoError(t, err)
			}
			received := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(acked, n) })

			// byDue is the order the API promises, from each complaint as
			// the API reads it.
			byDue := func(names []string, due func(*aftersalesv1.Complaint) *timestamppb.Timestamp) []string {
				got := map[string]time.Time{}
				for _, n := range names {
					c, err := cs.GetComplaint(agent, &aftersalesv1.GetComplaintRequest{Name: n})
					require.NoError(t, err)
					got[n] = due(c).AsTime()
				}
				out := slices.Clone(names)
				slices.SortFunc(out, func(a, b string) int {
					if c := got[a].Compare(got[b]); c != 0 {
						return c
					}
					return strings.Compare(a, b)
				})
				return out
			}
			walk := func(caller string, req *aftersalesv1.ListComplaintsRequest) []string {
				t.Helper()
				var out []string
				for range 50 {
					resp, err := cs.ListComplaints(as(caller), req)
					require.NoError(t, err)
					for _, c := range resp.GetComplaints() {
						out = append(out, c.GetName())
					}
					if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
						return out
					}
				}
				t.Fatal("pagination does not end")
				return nil
			}
			reversed := func(s []string) []string { s = slices.Clone(s); slices.Reverse(s); return s }

			byAck := byDue(received, (*aftersalesv1.Complaint).GetAcknowledgeDue)
			require.NotEqual(t, received, byAck, "the deadline order differs from the creation order")
			for _, size := range []int32{1, 2, 5, 0} {
				require.Equal(t, byAck, walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{Filter: "state = RECEIVED", OrderBy: "acknowledge_due_time", PageSize: size}), "page size %d", size)
				require.Equal(t, reversed(byAck), walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{Filter: "state = RECEIVED", OrderBy: "acknowledge_due_time desc", PageSize: size}), "page size %d, desc", size)
			}
			inProgress := "state != RECEIVED AND state != RESOLVED AND state != CLOSED"
			require.Equal(t, byDue(acked, (*aftersalesv1.Complaint).GetResolveDue),
				walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{Filter: inProgress, OrderBy: "resolve_due_time", PageSize: 3}))
			all := byDue(names, (*aftersalesv1.Complaint).GetResolveDue)
			require.Equal(t, all, walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{OrderBy: "resolve_due_time", PageSize: 5}))
			// The customer's own key: its complaints, the same order.
			require.Equal(t, all, walk(f.customer.GetName(), &aftersalesv1.ListComplaintsRequest{OrderBy: "resolve_due_time", PageSize: 4}))

			// The fields' own names give the same orders as the earlier
			// "_time" names.
			require.Equal(t, byAck, walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{Filter: "state = RECEIVED", OrderBy: "acknowledge_due", PageSize: 2}))
			require.Equal(t, reversed(all), walk(f.agent.GetName(), &aftersalesv1.ListComplaintsRequest{OrderBy: "resolve_due desc", PageSize: 3}))

			for _, order := range []string{"due_time", "acknowledge", "resolve_due_at", "resolve_due_time sideways", "resolve_due_time, create_time"} {
				_, err := cs.ListComplaints(agent, &aftersalesv1.ListComplaintsRequest{OrderBy: order})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_ORDER_BY)
				require.Contains(t, fieldsOf(err), "order_by", order)
			}
			resp, err := cs.ListComplaints(agent, &aftersalesv1.ListComplaintsRequest{PageSize: 2, OrderBy: "acknowledge_due_time"})
			require.NoError(t, err)
			_, err = cs.ListComplaints(agent, &aftersalesv1.ListComplaintsRequest{PageSize: 2, OrderBy: "resolve_due_time", PageToken: resp.GetNextPageToken()})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN)
		})
	}
}
