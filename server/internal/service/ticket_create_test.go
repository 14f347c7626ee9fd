package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestCreateTicketLookups: CreateTicket reads the SLA policy with the
// product (or the customer) in one statement. Each combination of what
// exists gives the ticket its policy and warranty, or the error of what is
// missing, references first, and writes nothing when it fails.
func TestCreateTicketLookups(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			o := e.seedOther()
			ctx := as(f.agent.GetName())
			create := func(mut func(tk *aftersalesv1.Ticket)) (*aftersalesv1.Ticket, error) {
				return e.tickets.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, mut)})
			}
			policies, err := e.tickets.ListSlaPolicies(ctx, &aftersalesv1.ListSlaPoliciesRequest{})
			require.NoError(t, err)
			policyOf := map[aftersalesv1.Ticket_Priority]*aftersalesv1.SlaPolicy{}
			for _, p := range policies.GetSlaPolicies() {
				policyOf[p.GetPriority()] = p
			}
			requireClock := func(tk *aftersalesv1.Ticket, pr aftersalesv1.Ticket_Priority) {
				t.Helper()
				p := policyOf[pr]
				require.NotNil(t, p, "a policy for %s", pr)
				require.Equal(t, p.GetName(), tk.GetSla().GetPolicy())
				created := tk.GetCreateTime().AsTime()
				require.Equal(t, created.Add(p.GetResponseTarget().AsDuration()), tk.GetSla().GetResponseDueTime().AsTime())
				require.Equal(t, created.Add(p.GetResolveTarget().AsDuration()), tk.GetSla().GetResolveDueTime().AsTime())
			}

			t.Run("found", func(t *testing.T) {
				tk, err := create(func(tk *aftersalesv1.Ticket) { tk.Priority = aftersalesv1.Ticket_HIGH })
				require.NoError(t, err)
				require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tk.GetWarrantyStatus())
				requireClock(tk, aftersalesv1.Ticket_HIGH)

				tk, err = create(func(tk *aftersalesv1.Ticket) { tk.Product = f.outOfWarranty.GetName() })
				require.NoError(t, err)
				require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_OUT_OF_WARRANTY, tk.GetWarrantyStatus())
				requireClock(tk, aftersalesv1.Ticket_NORMAL)

				tk, err = create(func(tk *aftersalesv1.Ticket) { tk.Product = "" })
				require.NoError(t, err)
				require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNKNOWN, tk.GetWarrantyStatus())
				requireClock(tk, aftersalesv1.Ticket_NORMAL)
			})

			// Without a policy for URGENT (none can be deleted through the
			// API; an installation could have started without one).
			db := e.app.DB().Gorm(context.Background())
			require.NoError(t, db.Where("priority = ?", int32(aftersalesv1.Ticket_URGENT)).Delete(&store.SlaPolicy{}).Error)
			count := func() (n int64) {
				require.NoError(t, db.Model(&store.Ticket{}).Count(&n).Error)
				return n
			}
			before := count()
			urgent := func(mut func(tk *aftersalesv1.Ticket)) func(tk *aftersalesv1.Ticket) {
				return func(tk *aftersalesv1.Ticket) {
					tk.Priority = aftersalesv1.Ticket_URGENT
					mut(tk)
				}
			}
			ghostCustomer := "customers/" + ids.New()
			ghostProduct := f.customer.GetName() + "/products/" + ids.New()
			// The other customer's product, named under this customer.
			misplaced := f.customer.GetName() + "/products/" + strings.TrimPrefix(o.product.GetName(), o.customer.GetName()+"/products/")
			call := func(mut func(tk *aftersalesv1.Ticket)) func() error {
				return func() error { return errOf(create(mut)) }
			}
			const inv, ref, pre = codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND, codes.FailedPrecondition
			runErrCases(t, []errCase{
				{"no policy", call(urgent(func(*aftersalesv1.Ticket) {})), pre, ref, ""},
				{"no policy, no product", call(urgent(func(tk *aftersalesv1.Ticket) { tk.Product = "" })), pre, ref, ""},
				{"no policy, unknown product", call(urgent(func(tk *aftersalesv1.Ticket) { tk.Product = ghostProduct })), inv, ref, "ticket.product"},
				{"no policy, another customer's product", call(urgent(func(tk *aftersalesv1.Ticket) { tk.Product = misplaced })), inv, ref, "ticket.product"},
				{"no policy, unknown customer", call(urgent(func(tk *aftersalesv1.Ticket) { tk.Customer, tk.Product = ghostCustomer, "" })), inv, ref, "ticket.customer"},
				{"policy, unknown customer", call(func(tk *aftersalesv1.Ticket) { tk.Customer, tk.Product = ghostCustomer, "" }), inv, ref, "ticket.customer"},
				{"policy, unknown product", call(func(tk *aftersalesv1.Ticket) { tk.Product = ghostProduct }), inv, ref, "ticket.product"},
				{"policy, another customer's product", call(func(tk *aftersalesv1.Ticket) { tk.Product = misplaced }), inv, ref, "ticket.product"},
			})
			require.Equal(t, before, count(), "failed creates wrote no ticket")

			// A policy created again is used at once.
			_, err = e.tickets.CreateSlaPolicy(e.admin(), &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
				DisplayName: "Urgent again", Priority: aftersalesv1.Ticket_URGENT,
				ResponseTarget: durationpb.New(30 * time.Minute), ResolveTarget: durationpb.New(4 * time.Hour),
			}})
			require.NoError(t, err)
			tk, err := create(urgent(func(*aftersalesv1.Ticket) {}))
			require.NoError(t, err)
			require.Equal(t, 30*time.Minute, tk.GetSla().GetResponseDueTime().AsTime().Sub(tk.GetCreateTime().AsTime()))
			require.Equal(t, 4*time.Hour, tk.GetSla().GetResolveDueTime().AsTime().Sub(tk.GetCreateTime().AsTime()))
		})
	}
}
