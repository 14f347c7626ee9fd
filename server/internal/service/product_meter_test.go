package service_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestMeterReadingAtVisit: the technician or shop doing the work records
// the unit's meter (usage_reading) of the products of their tickets, and
// nothing else about a product; other products stay hidden.
func TestMeterReadingAtVisit(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			read := func(ctx context.Context, name string, reading int64, paths ...string) (*aftersalesv1.Product, error) {
				return e.customers.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{
					Product:    &aftersalesv1.Product{Name: name, UsageReading: reading, Retailer: "mine"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: paths},
				})
			}
			tech, shop := as(f.technician.GetName()), as(f.partner.GetName())

			// Before any ticket of theirs, the product does not exist for them.
			_, err := read(tech, f.inWarranty.GetName(), 120, "usage_reading")
			require.Equal(t, codes.NotFound, status.Code(err), "%v", err)

			tk := e.newTicket(f, f.inWarranty)
			_, err = e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
			require.NoError(t, err)
			p, err := read(tech, f.inWarranty.GetName(), 120, "usage_reading")
			require.NoError(t, err)
			require.EqualValues(t, 120, p.GetUsageReading())
			require.NotNil(t, p.GetUsageReadTime())

			// Anything else about the unit is not theirs to change, even
			// alongside a reading; nothing is written.
			_, err = read(tech, f.inWarranty.GetName(), 130, "usage_reading", "retailer")
			require.Equal(t, codes.PermissionDenied, status.Code(err), "%v", err)
			// The other product has no ticket of theirs.
			_, err = read(tech, f.outOfWarranty.GetName(), 5, "usage_reading")
			require.Equal(t, codes.NotFound, status.Code(err), "%v", err)
			// Nor does the shop's, until the work is dispatched to it.
			_, err = read(shop, f.inWarranty.GetName(), 130, "usage_reading")
			require.Equal(t, codes.NotFound, status.Code(err), "%v", err)

			_, err = e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.partnerTech.GetName()})
			require.NoError(t, err)
			p, err = read(shop, f.inWarranty.GetName(), 130, "usage_reading")
			require.NoError(t, err)
			require.EqualValues(t, 130, p.GetUsageReading())
			require.Empty(t, p.GetRetailer())

			// Over JSON, as the shop's technician.
			r := e.do(http.MethodPatch, "/v1/"+f.inWarranty.GetName()+"?update_mask=usage_reading", f.partnerTech.GetName(), map[string]any{"usageReading": "140"})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "140", r.body["usageReading"])
			r = e.do(http.MethodPatch, "/v1/"+f.inWarranty.GetName()+"?update_mask=model", f.partnerTech.GetName(), map[string]any{"model": "X"})
			require.Equal(t, http.StatusForbidden, r.status, string(r.raw))
		})
	}
}
