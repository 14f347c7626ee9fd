package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// resolvedBy opens a ticket, has the company's technician work it and
// resolver resolve it, and returns the follow-up the resolution
// scheduled.
func (e *env) resolvedBy(f *fixture, resolver string) *aftersalesv1.FollowUp {
	t := e.t
	t.Helper()
	tk := e.newTicket(f, f.inWarranty)
	tech := as(f.technician.GetName())
	_, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.technician.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	tk, err = e.tickets.ResolveTicket(as(resolver), &aftersalesv1.ResolveTicketRequest{Name: tk.GetName(), Resolution: validResolution()})
	require.NoError(t, err)
	return e.followUpOf(tk)
}

// TestFollowUpAutoAssignment: each automatic follow-up goes to the
// least-loaded active, QUALIFIED agent independent of the work, ties
// broken by name; trainees, inactive agents, the resolver and staff of
// other roles are never chosen; with nobody eligible it stays unassigned
// in the queue; assigning by hand still works, within the same rules.
func TestFollowUpAutoAssignment(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ann := f.agent // created first: the lower name
			bob := e.newStaff(&aftersalesv1.Staff{DisplayName: "Bob Agent", Role: aftersalesv1.Staff_AGENT, Team: "east", Manager: f.manager.GetName()})
			require.Less(t, ann.GetName(), bob.GetName())
			// Agents must pass a course; Tina never did.
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Follow-up calls", Category: aftersalesv1.Course_SERVICE_SKILLS,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_AGENT}, PassingScore: 60,
			})
			tina := e.newStaff(&aftersalesv1.Staff{DisplayName: "Tina Trainee", Role: aftersalesv1.Staff_AGENT, Team: "east"})
			ivan := e.newStaff(&aftersalesv1.Staff{DisplayName: "Ivan Inactive", Role: aftersalesv1.Staff_AGENT, Team: "east"})
			for _, st := range []*aftersalesv1.Staff{ann, bob, ivan} {
				e.trAssess(trainer.GetName(), st.GetName(), course.GetName(), scores(90, 90, 90, 90))
			}
			setActive := func(st *aftersalesv1.Staff, active bool) {
				_, err := e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{
					Staff: &aftersalesv1.Staff{Name: st.GetName(), Active: active}, UpdateMask: mask("active"),
				})
				require.NoError(t, err)
			}
			setActive(ivan, false)
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, e.trStored(tina.GetName()))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(ivan.GetName()))

			// Four resolutions by the technician: Ann and Bob alternate,
			// Ann first on the tie; Tina and Ivan, idle, get none.
			var got []string
			for range 4 {
				got = append(got, e.resolvedBy(f, f.technician.GetName()).GetAssignee())
			}
			require.Equal(t, []string{ann.GetName(), bob.GetName(), ann.GetName(), bob.GetName()}, got)

			// Ann resolves one herself: it goes to Bob although the tie
			// would be hers.
			byAnn := e.resolvedBy(f, ann.GetName())
			require.Equal(t, bob.GetName(), byAnn.GetAssignee(), "the resolver never follows up her own work")

			// Bob is now the busier: Ann gets the next one.
			require.Equal(t, ann.GetName(), e.resolvedBy(f, f.technician.GetName()).GetAssignee())

			// With Bob away and Ann the resolver, nobody is eligible: the
			// follow-up waits unassigned in the queue.
			setActive(bob, false)
			orphan := e.resolvedBy(f, ann.GetName())
			require.Empty(t, orphan.GetAssignee())
			queue, err := e.followUps.ListFollowUps(as(ann.GetName()), &aftersalesv1.ListFollowUpsRequest{Filter: `state = SCHEDULED AND assignee = ""`})
			require.NoError(t, err)
			require.Len(t, queue.GetFollowUps(), 1)
			require.Equal(t, orphan.GetName(), queue.GetFollowUps()[0].GetName())

			// By hand: the same rules, and an explicit assignee stands.
			_, err = e.followUps.UpdateFollowUp(as(f.manager.GetName()), &aftersalesv1.UpdateFollowUpRequest{
				FollowUp: &aftersalesv1.FollowUp{Name: orphan.GetName(), Assignee: ann.GetName()}, UpdateMask: mask("assignee"),
			})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_NOT_INDEPENDENT)
			_, err = e.followUps.UpdateFollowUp(as(f.manager.GetName()), &aftersalesv1.UpdateFollowUpRequest{
				FollowUp: &aftersalesv1.FollowUp{Name: orphan.GetName(), Assignee: tina.GetName()}, UpdateMask: mask("assignee"),
			})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED)
			setActive(bob, true)
			fu, err := e.followUps.UpdateFollowUp(as(f.manager.GetName()), &aftersalesv1.UpdateFollowUpRequest{
				FollowUp: &aftersalesv1.FollowUp{Name: orphan.GetName(), Assignee: bob.GetName()}, UpdateMask: mask("assignee"),
			})
			require.NoError(t, err)
			require.Equal(t, bob.GetName(), fu.GetAssignee())
			// Reassigning an automatically assigned one.
			fu, err = e.followUps.UpdateFollowUp(as(f.manager.GetName()), &aftersalesv1.UpdateFollowUpRequest{
				FollowUp: &aftersalesv1.FollowUp{Name: byAnn.GetName(), Assignee: f.manager.GetName()}, UpdateMask: mask("assignee"),
			})
			require.NoError(t, err)
			require.Equal(t, f.manager.GetName(), fu.GetAssignee(), "a manager may take one by hand, though never chosen automatically")
			manual, err := e.followUps.CreateFollowUp(as(ann.GetName()), &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{
				Ticket: orphan.GetTicket(), Assignee: bob.GetName(), Note: "courtesy call",
			}})
			require.NoError(t, err)
			require.Equal(t, bob.GetName(), manual.GetAssignee())
			unassigned, err := e.followUps.CreateFollowUp(as(ann.GetName()), &aftersalesv1.CreateFollowUpRequest{FollowUp: &aftersalesv1.FollowUp{
				Ticket: orphan.GetTicket(), Note: "whoever is free",
			}})
			require.NoError(t, err)
			require.Empty(t, unassigned.GetAssignee(), "a follow-up scheduled by hand is assigned by hand")

			// Nobody was ever given work they may not do.
			all, err := e.followUps.ListFollowUps(e.admin(), &aftersalesv1.ListFollowUpsRequest{PageSize: 100})
			require.NoError(t, err)
			for _, fu := range all.GetFollowUps() {
				require.NotContains(t, []string{tina.GetName(), ivan.GetName()}, fu.GetAssignee())
			}
		})
	}
}

// TestFollowUpAutoAssignmentRechecksQualification: the stored
// qualification state only narrows the candidates; a certification that
// expired before the expiry loop noticed still keeps its holder from
// being chosen.
func TestFollowUpAutoAssignmentRechecksQualification(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, slowQualification)
			f := e.seed()
			ann := f.agent
			bob := e.newStaff(&aftersalesv1.Staff{DisplayName: "Bob Agent", Role: aftersalesv1.Staff_AGENT, Team: "east"})
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Follow-up calls", Category: aftersalesv1.Course_SERVICE_SKILLS,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_AGENT}, PassingScore: 60,
				Validity: durationpb.New(30 * 24 * time.Hour),
			})
			e.trAssess(trainer.GetName(), ann.GetName(), course.GetName(), scores(90, 90, 90, 90))
			e.clock.Advance(20 * 24 * time.Hour)
			e.trAssess(trainer.GetName(), bob.GetName(), course.GetName(), scores(90, 90, 90, 90))
			e.clock.Advance(15 * 24 * time.Hour) // Ann's pass expired 5 days ago
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(ann.GetName()), "the loop has not run")
			require.Equal(t, bob.GetName(), e.resolvedBy(f, f.technician.GetName()).GetAssignee())
		})
	}
}
