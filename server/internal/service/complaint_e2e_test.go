package service_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestComplaintLifecycle follows one complaint from the app to closure:
// the customer files it over JSON, the call center acknowledges it over
// gRPC, a manager names the handler, the handler upholds it against the
// technician, the technician and their manager answer for it, and the
// customer reads the outcome in the app and accepts it.
func TestComplaintLifecycle(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			tk := e.newTicket(f, f.inWarranty)
			cust := f.customer.GetName()
			agent, manager := as(f.agent.GetName()), as(f.manager.GetName())
			filed := e.clock.Now()

			// App: the customer complains about the repair visit.
			r := e.do(http.MethodPost, "/v1/complaints", cust, map[string]any{
				"ticket": tk.GetName(), "product": f.inWarranty.GetName(), "category": "SERVICE_ATTITUDE", "severity": "HIGH",
				"title": "Technician was rude", "description": "He shouted at my mother.", "desiredRemedy": "APOLOGY",
			})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			name := r.body["name"].(string)
			require.Equal(t, "RECEIVED", r.body["state"])
			require.Equal(t, cust, r.body["customer"])
			require.Equal(t, "APP", r.body["channel"])
			require.Equal(t, filed.Add(24*time.Hour).Format(time.RFC3339), r.body["acknowledgeDue"])
			require.Equal(t, filed.Add(72*time.Hour).Format(time.RFC3339), r.body["resolveDue"])

			// Call center: acknowledge within the deadline.
			e.clock.Advance(2 * time.Hour)
			c, err := e.complaints.AcknowledgeComplaint(agent, &aftersalesv1.AcknowledgeComplaintRequest{
				Name: name, Message: "We are sorry; a manager will look into it.", RequestId: "ack-1",
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Complaint_ACKNOWLEDGED, c.GetState())
			require.False(t, c.GetAcknowledgeOverdue())
			again, err := e.complaints.AcknowledgeComplaint(agent, &aftersalesv1.AcknowledgeComplaintRequest{
				Name: name, Message: "We are sorry; a manager will look into it.", RequestId: "ack-1",
			})
			require.NoError(t, err, "a retried request returns the first answer")
			require.Equal(t, c.GetEtag(), again.GetEtag())

			// A manager names the handler: the agent investigates.
			c, err = e.complaints.AssignComplaint(manager, &aftersalesv1.AssignComplaintRequest{
				Name: name, Handler: f.agent.GetName(), Note: "talk to Tom first", Etag: c.GetEtag(),
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Complaint_INVESTIGATING, c.GetState())
			require.Equal(t, f.agent.GetName(), c.GetHandler())

			// The handler upholds it against the technician.
			e.clock.Advance(24 * time.Hour)
			c, err = e.complaints.ResolveComplaint(agent, &aftersalesv1.ResolveComplaintRequest{
				Name: name, ResponsibleStaff: f.technician.GetName(),
				Resolution: &aftersalesv1.ComplaintResolution{
					Outcome: aftersalesv1.Complaint_UPHELD, GrantedRemedy: aftersalesv1.Complaint_APOLOGY,
					Summary: "Tom was out of line; he apologises and is retrained.",
				},
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Complaint_RESOLVED, c.GetState())
			require.Equal(t, f.technician.GetName(), c.GetResponsibleStaff())
			require.Equal(t, f.manager.GetName(), c.GetResponsibleManager())
			require.False(t, c.GetResolveOverdue())

			// 管理人员追责: the technician and their manager answer for it.
			own, err := e.training.ListAccountabilityRecords(as(f.technician.GetName()), &aftersalesv1.ListAccountabilityRecordsRequest{Parent: f.technician.GetName()})
			require.NoError(t, err)
			require.Len(t, own.GetAccountabilityRecords(), 1)
			rec := own.GetAccountabilityRecords()[0]
			require.Equal(t, aftersalesv1.AccountabilityRecord_RESPONSIBLE, rec.GetKind())
			require.Equal(t, name, rec.GetComplaint())
			require.Equal(t, aftersalesv1.Complaint_HIGH, rec.GetSeverity())
			team, err := e.training.ListAccountabilityRecords(manager, &aftersalesv1.ListAccountabilityRecordsRequest{Parent: "staff/-"})
			require.NoError(t, err)
			kinds := map[string]aftersalesv1.AccountabilityRecord_Kind{}
			for _, rec := range team.GetAccountabilityRecords() {
				require.Equal(t, f.technician.GetName(), rec.GetResponsibleStaff())
				staff, _, _ := strings.Cut(rec.GetName(), "/accountabilityRecords/")
				kinds[staff] = rec.GetKind()
			}
			require.Equal(t, map[string]aftersalesv1.AccountabilityRecord_Kind{
				f.technician.GetName(): aftersalesv1.AccountabilityRecord_RESPONSIBLE,
				f.manager.GetName():    aftersalesv1.AccountabilityRecord_MANAGERIAL,
			}, kinds)
			// The agent is neither: they see none.
			none, err := e.training.ListAccountabilityRecords(agent, &aftersalesv1.ListAccountabilityRecordsRequest{Parent: "staff/-"})
			require.NoError(t, err)
			require.Empty(t, none.GetAccountabilityRecords())

			// App: the customer reads the outcome, without internal detail.
			r = e.do(http.MethodGet, "/v1/"+name, cust, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "RESOLVED", r.body["state"])
			require.Equal(t, "UPHELD", r.body["resolution"].(map[string]any)["outcome"])
			require.Equal(t, "APOLOGY", r.body["resolution"].(map[string]any)["grantedRemedy"])
			for _, hidden := range []string{"responsibleStaff", "responsibleManager", "escalatedTo"} {
				require.NotContains(t, r.body, hidden)
			}
			r = e.do(http.MethodGet, "/v1/"+name+"/events", cust, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			var seen []string
			for _, ev := range r.body["events"].([]any) {
				ev := ev.(map[string]any)
				require.NotEqual(t, true, ev["internal"], "customers see no internal entries")
				seen = append(seen, ev["type"].(string))
			}
			require.Equal(t, []string{"CREATED", "ACKNOWLEDGED", "ASSIGNED", "RESOLVED"}, seen)

			// The customer accepts: the complaint is closed.
			r = e.do(http.MethodPost, "/v1/"+name+":close", cust, map[string]any{"accepted": true, "note": "Thank you."})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "CLOSED", r.body["state"])
			require.Equal(t, true, r.body["complainantAccepted"])

			// Staff see the whole timeline, internal entries included.
			events, err := e.complaints.ListComplaintEvents(agent, &aftersalesv1.ListComplaintEventsRequest{Parent: name})
			require.NoError(t, err)
			var types []aftersalesv1.ComplaintEvent_Type
			for _, ev := range events.GetEvents() {
				types = append(types, ev.GetType())
			}
			require.Equal(t, []aftersalesv1.ComplaintEvent_Type{
				aftersalesv1.ComplaintEvent_CREATED, aftersalesv1.ComplaintEvent_ACKNOWLEDGED, aftersalesv1.ComplaintEvent_ASSIGNED,
				aftersalesv1.ComplaintEvent_COMMENTED, aftersalesv1.ComplaintEvent_RESOLVED, aftersalesv1.ComplaintEvent_CLOSED,
			}, types)
			require.Equal(t, cust, events.GetEvents()[5].GetActor())

			// Reopened and upheld again: no second record for the same people.
			_, err = e.complaints.ReopenComplaint(manager, &aftersalesv1.ReopenComplaintRequest{Name: name, Reason: "review"})
			require.NoError(t, err)
			_, err = e.complaints.AssignComplaint(manager, &aftersalesv1.AssignComplaintRequest{Name: name, Handler: f.manager.GetName()})
			require.NoError(t, err)
			_, err = e.complaints.ResolveComplaint(manager, &aftersalesv1.ResolveComplaintRequest{Name: name, Resolution: &aftersalesv1.ComplaintResolution{
				Outcome: aftersalesv1.Complaint_UPHELD, GrantedRemedy: aftersalesv1.Complaint_COMPENSATION, Summary: "And a voucher.",
			}})
			require.NoError(t, err)
			team, err = e.training.ListAccountabilityRecords(as(f.manager.GetName()), &aftersalesv1.ListAccountabilityRecordsRequest{Parent: "staff/-"})
			require.NoError(t, err)
			require.Len(t, team.GetAccountabilityRecords(), 2)
		})
	}
}

func fastComplaints(c *config.Config) { c.ComplaintCheckInterval = 20 * time.Millisecond }

// TestComplaintOverdueEscalates drives the overdue loop with the injected
// clock on two replicas sharing one database: a CRITICAL complaint is
// escalated to the receiving agent's manager on receipt, marked overdue
// and escalated again when its hour to be acknowledged passes, climbs
// once more per further hour, and stops climbing once acknowledged.
func TestComplaintOverdueEscalates(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			e := startURL(t, urls[0], fastComplaints)
			replica := startURL(t, urls[1], fastComplaints)
			f := e.seed()
			agent := as(f.agent.GetName())
			// The manager's own manager, the next level up.
			director, err := e.staff.CreateStaff(e.admin(), &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Dee Director", Role: aftersalesv1.Staff_MANAGER}})
			require.NoError(t, err)
			mgr := f.manager
			mgr.Manager = director.GetName()
			_, err = e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{Staff: mgr, UpdateMask: mask("manager")})
			require.NoError(t, err)

			crit := e.newComplaint(f, aftersalesv1.Complaint_CRITICAL)
			calm := e.newComplaint(f, aftersalesv1.Complaint_LOW)
			require.EqualValues(t, 1, crit.GetEscalationLevel())
			require.Equal(t, f.manager.GetName(), crit.GetEscalatedTo())

			get := func(name string) *aftersalesv1.Complaint {
				c, err := e.complaints.GetComplaint(agent, &aftersalesv1.GetComplaintRequest{Name: name})
				require.NoError(t, err)
				return c
			}
			advance := func(d time.Duration) {
				e.clock.Advance(d)
				replica.clock.Advance(d)
			}

			// Past its hour: overdue, escalated to the next level up.
			advance(61 * time.Minute)
			require.Eventually(t, func() bool { return get(crit.GetName()).GetAcknowledgeOverdue() }, 10*time.Second, 10*time.Millisecond)
			c := get(crit.GetName())
			require.EqualValues(t, 2, c.GetEscalationLevel(), "once per pass, across replicas")
			require.Equal(t, director.GetName(), c.GetEscalatedTo())

			// Another hour unacknowledged: one more level.
			advance(time.Hour)
			require.Eventually(t, func() bool { return get(crit.GetName()).GetEscalationLevel() == 3 }, 10*time.Second, 10*time.Millisecond)
			require.Equal(t, director.GetName(), get(crit.GetName()).GetEscalatedTo(), "the top of the line keeps it")

			// Acknowledged late: recorded as overdue; the climbing stops.
			c, err = e.complaints.AcknowledgeComplaint(agent, &aftersalesv1.AcknowledgeComplaintRequest{Name: crit.GetName()})
			require.NoError(t, err)
			require.True(t, c.GetAcknowledgeOverdue())
			// A probe due within the next two hours shows when a pass has
			// looked at everything due by then.
			probe := e.newComplaint(f, aftersalesv1.Complaint_CRITICAL)
			advance(2 * time.Hour)
			require.Eventually(t, func() bool { return get(probe.GetName()).GetAcknowledgeOverdue() }, 10*time.Second, 10*time.Millisecond)
			require.EqualValues(t, 3, get(crit.GetName()).GetEscalationLevel())
			require.Zero(t, get(calm.GetName()).GetEscalationLevel())

			events, err := e.complaints.ListComplaintEvents(agent, &aftersalesv1.ListComplaintEventsRequest{Parent: crit.GetName()})
			require.NoError(t, err)
			count := map[aftersalesv1.ComplaintEvent_Type]int{}
			for _, ev := range events.GetEvents() {
				count[ev.GetType()]++
				if ev.GetType() == aftersalesv1.ComplaintEvent_OVERDUE {
					require.Equal(t, "system/complaints", ev.GetActor())
					require.True(t, ev.GetInternal())
					require.Equal(t, "acknowledgement", ev.GetDetails()["deadline"])
				}
			}
			require.Equal(t, 1, count[aftersalesv1.ComplaintEvent_OVERDUE])
			require.Equal(t, 3, count[aftersalesv1.ComplaintEvent_ESCALATED])

			// The customer sees none of it.
			r := e.do(http.MethodGet, "/v1/"+crit.GetName()+"/events", f.customer.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			for _, ev := range r.body["events"].([]any) {
				require.NotContains(t, []string{"OVERDUE", "ESCALATED"}, ev.(map[string]any)["type"])
			}

			// Past the 24h resolution deadline, still investigating: the
			// resolution is overdue too.
			advance(24 * time.Hour)
			require.Eventually(t, func() bool { return get(crit.GetName()).GetResolveOverdue() }, 10*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool { return get(calm.GetName()).GetAcknowledgeOverdue() }, 10*time.Second, 10*time.Millisecond)
		})
	}
}
