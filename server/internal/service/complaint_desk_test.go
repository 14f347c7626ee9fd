package service_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func desk(d string) envOption { return func(c *config.Config) { c.ComplaintDesk = d } }

// escalation is the latest ESCALATED event of a complaint, read as its
// manager would.
func (e *env) escalation(f *fixture, complaint string) *aftersalesv1.ComplaintEvent {
	e.t.Helper()
	evs, err := e.complaints.ListComplaintEvents(as(f.manager.GetName()), &aftersalesv1.ListComplaintEventsRequest{Parent: complaint})
	require.NoError(e.t, err)
	var last *aftersalesv1.ComplaintEvent
	for _, ev := range evs.GetEvents() {
		if ev.GetType() == aftersalesv1.ComplaintEvent_ESCALATED {
			last = ev
		}
	}
	require.NotNil(e.t, last, "no ESCALATED event on %s", complaint)
	return last
}

// TestComplaintDeskTakesOrphans: a complaint nobody on staff received,
// nobody handles and no ticket links, once overdue, is escalated to the
// complaints desk, by default the active managers, the least busy first;
// its timeline says so and tells the one it went to. A complaint whose
// line has a manager still goes to that manager.
func TestComplaintDeskTakesOrphans(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, fastComplaints)
			f := e.seed()
			max := e.newStaff(&aftersalesv1.Staff{DisplayName: "Max Manager", Role: aftersalesv1.Staff_MANAGER, Team: "west"})
			require.Less(t, f.manager.GetName(), max.GetName())
			// Taken on the phone by a service account: nobody on staff
			// received it.
			orphan := func() *aftersalesv1.Complaint {
				c, err := e.complaints.CreateComplaint(e.admin(), &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
					Customer: f.customer.GetName(), Category: aftersalesv1.Complaint_FEES, Title: "Charged twice",
				}})
				require.NoError(t, err)
				require.Empty(t, c.GetReceivedBy())
				return c
			}
			first, second := orphan(), orphan()
			lined := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM) // received by the agent, whose manager is Mia
			get := func(name string) *aftersalesv1.Complaint {
				c, err := e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: name})
				require.NoError(t, err)
				return c
			}

			e.clock.Advance(25 * time.Hour) // past the 24 h acknowledgement
			for _, c := range []*aftersalesv1.Complaint{first, second, lined} {
				require.Eventually(t, func() bool { return get(c.GetName()).GetEscalationLevel() == 1 }, 10*time.Second, 10*time.Millisecond)
			}
			// The loop takes them in the order they fell due: the first
			// to the less busy (both idle: the lower name), the second to
			// the other.
			require.Equal(t, f.manager.GetName(), get(first.GetName()).GetEscalatedTo())
			require.Equal(t, max.GetName(), get(second.GetName()).GetEscalatedTo())
			ev := e.escalation(f, second.GetName())
			require.Equal(t, "system/complaints", ev.GetActor())
			require.Equal(t, max.GetName(), ev.GetDetails()["escalated_to"])
			require.Equal(t, "complaint_desk", ev.GetDetails()["escalated_via"])
			require.Contains(t, ev.GetNotify(), max.GetName(), "the desk is told")
			require.True(t, ev.GetInternal())

			require.Equal(t, f.manager.GetName(), get(lined.GetName()).GetEscalatedTo())
			require.NotContains(t, e.escalation(f, lined.GetName()).GetDetails(), "escalated_via", "the manager line, not the desk")

			// From the desk it climbs as from anyone: Max has no manager,
			// so the next level stays with him.
			e.clock.Advance(25 * time.Hour)
			require.Eventually(t, func() bool { return get(second.GetName()).GetEscalationLevel() == 2 }, 10*time.Second, 10*time.Millisecond)
			require.Equal(t, max.GetName(), get(second.GetName()).GetEscalatedTo())
		})
	}
}

// TestComplaintDeskTeam: with --complaint-desk naming a team, a safety
// complaint from the app on no ticket (escalated on receipt) goes to the
// team's least busy active member, and one received by a member who has
// no manager goes to another member, not back to them.
func TestComplaintDeskTeam(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			// An empty database starts whatever the desk: it cannot
			// exist before the staff do.
			e := start(t, dialect, desk("customer-care"))
			f := e.seed()
			cora := e.newStaff(&aftersalesv1.Staff{DisplayName: "Cora Care", Role: aftersalesv1.Staff_AGENT, Team: "customer-care"})
			cody := e.newStaff(&aftersalesv1.Staff{DisplayName: "Cody Care", Role: aftersalesv1.Staff_AGENT, Team: "customer-care"})
			gone := e.newStaff(&aftersalesv1.Staff{DisplayName: "Gina Gone", Role: aftersalesv1.Staff_AGENT, Team: "customer-care"})
			_, err := e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{
				Staff: &aftersalesv1.Staff{Name: gone.GetName(), Active: false}, UpdateMask: mask("active"),
			})
			require.NoError(t, err)
			require.Less(t, cora.GetName(), cody.GetName())
			sparks := func(ctx context.Context, customer string) *aftersalesv1.Complaint {
				c, err := e.complaints.CreateComplaint(ctx, &aftersalesv1.CreateComplaintRequest{Complaint: &aftersalesv1.Complaint{
					Customer: customer, Category: aftersalesv1.Complaint_PRODUCT_QUALITY, Severity: aftersalesv1.Complaint_CRITICAL,
					Title: "Sparks from the socket",
				}})
				require.NoError(t, err)
				got, err := e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: c.GetName()})
				require.NoError(t, err)
				require.EqualValues(t, 1, got.GetEscalationLevel())
				return got
			}
			app1 := sparks(as(f.customer.GetName()), "")
			require.Equal(t, cora.GetName(), app1.GetEscalatedTo())
			require.Equal(t, "complaint_desk", e.escalation(f, app1.GetName()).GetDetails()["escalated_via"])
			require.Equal(t, cody.GetName(), sparks(as(f.customer.GetName()), "").GetEscalatedTo(), "Cora has one open already")
			// Cora takes a call herself; she has no manager. Both have one
			// open, and hers would be the tie, but it goes to Cody.
			require.Equal(t, cody.GetName(), sparks(as(cora.GetName()), f.customer.GetName()).GetEscalatedTo())
			// Gina, inactive, is never chosen; nor is anyone outside the
			// team, like the agent's manager.
			require.Equal(t, cora.GetName(), sparks(as(f.customer.GetName()), "").GetEscalatedTo())
		})
	}
}

// TestComplaintDeskStartup: the desk is checked when the server starts.
// An empty database starts with any desk (the first start, before any
// staff exist); once there are staff, a desk without an active member is
// an error naming the setting, why, and what could be the desk instead.
func TestComplaintDeskStartup(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			first := startURL(t, url, desk("customer-care"))
			f := first.seed()
			first.stop()

			// failsWith starts a server on the database and wants it
			// refused with an error containing each of want.
			failsWith := func(opt envOption, want ...string) {
				t.Helper()
				a, err := app.New(context.Background(), testConfig(t, url, opt), slog.New(slog.DiscardHandler))
				if err == nil {
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					_ = a.Run(ctx)
					t.Fatalf("the server started; want an error containing %q", want)
				}
				for _, w := range want {
					require.Contains(t, err.Error(), w)
				}
			}
			failsWith(desk("customer-care"), "--complaint-desk (AFTERSALES_COMPLAINT_DESK)", `team "customer-care"`, "no active staff member",
				`"east": 3 active`, f.manager.GetName()+` "Mia Manager"`)
			failsWith(desk(f.partnerTech.GetName()), f.partnerTech.GetName(), "partner shop's technician")
			failsWith(desk("staff/nobody"), `"staff/nobody": no such staff member`)

			// A desk that exists starts; through it, the only manager
			// leaves.
			e := startURL(t, url, desk(f.manager.GetName()))
			// The first start's bootstrap key: this one issued none.
			_, err := e.staff.UpdateStaff(first.admin(), &aftersalesv1.UpdateStaffRequest{
				Staff: &aftersalesv1.Staff{Name: f.manager.GetName(), Active: false}, UpdateMask: mask("active"),
			})
			require.NoError(t, err)
			e.stop()

			failsWith(desk(f.manager.GetName()), "who is not active")
			failsWith(desk(""), "is empty, which means the active managers (role MANAGER), and there are none", "managers: none exist", `"east": 2 active`)
			// The fix the message offers: a team that has people.
			startURL(t, url, desk("east")).stop()
		})
	}
}

// TestConfigRefusesMalformedDesk: the form of --complaint-desk is checked
// with the other settings, before the database is opened.
func TestConfigRefusesMalformedDesk(t *testing.T) {
	for _, v := range []string{"staff/", "staff/a/b"} {
		_, err := config.Load([]string{"--complaint-desk=" + v}, func(string) string { return "" })
		require.ErrorContains(t, err, "--complaint-desk must be staff/{id} or a team name")
	}
	_, err := config.Load([]string{"--complaint-desk=east"}, func(string) string { return "" })
	require.NoError(t, err)
}
