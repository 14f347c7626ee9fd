package service_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestAppComplaintEscalatesToCaseOwnersManager: a safety complaint filed
// in the app has no receiving staff member and no handler yet; escalated
// on receipt, it goes to the manager of the agent who owns the linked
// ticket (首问负责制), so a person answers for it at once. Without a
// ticket there is nobody to derive: it goes to the complaints desk, by
// default the active managers.
func TestAppComplaintEscalatesToCaseOwnersManager(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			tk := e.newTicket(f, f.inWarranty) // opened by f.agent, whose manager is f.manager
			file := func(ticket string) *aftersalesv1.Complaint {
				c, err := e.complaints.CreateComplaint(as(f.customer.GetName()), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
					Ticket: ticket, Category: aftersalesv1.Complaint_PRODUCT_QUALITY, Severity: aftersalesv1.Complaint_CRITICAL,
					Title: "Sparks from the socket",
				}})
				require.NoError(t, err)
				return c
			}
			linked := file(tk.GetName())
			got, err := e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: linked.GetName()})
			require.NoError(t, err)
			require.EqualValues(t, 1, got.GetEscalationLevel())
			require.Equal(t, f.manager.GetName(), got.GetEscalatedTo())

			alone := file("")
			got, err = e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: alone.GetName()})
			require.NoError(t, err)
			require.EqualValues(t, 1, got.GetEscalationLevel())
			require.Equal(t, f.manager.GetName(), got.GetEscalatedTo(), "the only manager is the desk")
		})
	}
}
