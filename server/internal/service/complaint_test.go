package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// newComplaint files a complaint for the fixture's customer as the agent.
func (e *env) newComplaint(f *fixture, severity aftersalesv1.Complaint_Severity) *aftersalesv1.Complaint {
	e.t.Helper()
	c, err := e.complaints.CreateComplaint(as(f.agent.GetName()), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
		Customer: f.customer.GetName(), Category: aftersalesv1.Complaint_SERVICE_ATTITUDE, Severity: severity,
		Title: "The technician was rude", ResponsibleStaff: f.technician.GetName(),
	}})
	require.NoError(e.t, err)
	return c
}

// TestComplaintReceipt checks what receipt sets: deadlines per severity,
// the receiving agent, and the immediate escalation of a safety complaint
// to the agent's manager.
func TestComplaintReceipt(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			now := e.clock.Now()

			c := e.newComplaint(f, aftersalesv1.Complaint_SEVERITY_UNSPECIFIED)
			require.Equal(t, aftersalesv1.Complaint_RECEIVED, c.GetState())
			require.Equal(t, aftersalesv1.Complaint_MEDIUM, c.GetSeverity())
			require.Equal(t, aftersalesv1.Ticket_PHONE, c.GetChannel())
			require.Equal(t, f.agent.GetName(), c.GetReceivedBy())
			require.Equal(t, now.Add(24*time.Hour), c.GetAcknowledgeDue().AsTime())
			require.Equal(t, now.Add(7*24*time.Hour), c.GetResolveDue().AsTime())
			require.Zero(t, c.GetEscalationLevel())

			crit := e.newComplaint(f, aftersalesv1.Complaint_CRITICAL)
			require.Equal(t, now.Add(time.Hour), crit.GetAcknowledgeDue().AsTime())
			require.Equal(t, now.Add(24*time.Hour), crit.GetResolveDue().AsTime())
			require.EqualValues(t, 1, crit.GetEscalationLevel(), "safety complaints are escalated on receipt")
			require.Equal(t, f.manager.GetName(), crit.GetEscalatedTo())

			events, err := e.complaints.ListComplaintEvents(as(f.agent.GetName()), &aftersalesv1.ListComplaintEventsRequest{Parent: crit.GetName()})
			if err == nil {
				var types []aftersalesv1.ComplaintEvent_Type
				for _, ev := range events.GetEvents() {
					types = append(types, ev.GetType())
				}
				require.Equal(t, []aftersalesv1.ComplaintEvent_Type{aftersalesv1.ComplaintEvent_CREATED, aftersalesv1.ComplaintEvent_ESCALATED}, types)
			}
		})
	}
}
