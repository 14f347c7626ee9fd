package service_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestQualificationGateEverywhere checks that the one gate of API.md §4
// (only QUALIFIED staff may be given work) guards every kind of work, not
// only tickets: a complaint's handler and a follow-up's assignee. An agent
// who has not passed the course required for agents is refused with the
// course named, then accepted once they pass it.
func TestQualificationGateEverywhere(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			// The first agent resolves nothing, so they stay independent
			// of the ticket the follow-up is about.
			caller := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Cao Caller", Role: aftersalesv1.Staff_AGENT, Manager: f.manager.GetName()})
			tk, fu := e.resolved(f)
			require.NotEmpty(t, tk.GetName())
			complaint := e.newComplaint(f, aftersalesv1.Complaint_MEDIUM)
			_, err := e.complaints.AcknowledgeComplaint(as(f.agent.GetName()), &aftersalesv1.AcknowledgeComplaintRequest{Name: complaint.GetName()})
			require.NoError(t, err)

			// Agents now need a course neither has passed.
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{DisplayName: "Complaint handling", Category: aftersalesv1.Course_SERVICE_SKILLS,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_AGENT}, PassingScore: 70})
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, e.trStored(caller.GetName()))

			assignHandler := func() error {
				_, err := e.complaints.AssignComplaint(as(f.manager.GetName()), &aftersalesv1.AssignComplaintRequest{Name: complaint.GetName(), Handler: caller.GetName()})
				return err
			}
			assignFollowUp := func() error {
				_, err := e.followUps.UpdateFollowUp(as(f.manager.GetName()), &aftersalesv1.UpdateFollowUpRequest{
					FollowUp:   &aftersalesv1.FollowUp{Name: fu.GetName(), Assignee: caller.GetName()},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"assignee"}},
				})
				return err
			}
			requireNotQualified(t, assignHandler(), course.GetName())
			requireNotQualified(t, assignFollowUp(), course.GetName())
			got, err := e.complaints.GetComplaint(as(f.manager.GetName()), &aftersalesv1.GetComplaintRequest{Name: complaint.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Complaint_ACKNOWLEDGED, got.GetState(), "a refused assignment changes nothing")
			require.Empty(t, got.GetHandler())

			// Over JSON too.
			res := e.do("POST", "/v1/"+complaint.GetName()+":assign", f.manager.GetName(), map[string]any{"handler": caller.GetName()})
			requireHTTP(t, res, 400, codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED)

			e.trAssess(trainer.GetName(), caller.GetName(), course.GetName(), scores(80, 80, 80, 80))
			require.NoError(t, assignHandler())
			require.NoError(t, assignFollowUp())
		})
	}
}
