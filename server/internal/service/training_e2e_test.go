package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func fastQualification(c *config.Config) { c.QualificationCheckInterval = 20 * time.Millisecond }

// slowQualification keeps a server's expiry loop from running during a
// test, so that what is computed at read time shows on its own.
func slowQualification(c *config.Config) { c.QualificationCheckInterval = time.Hour }

const year = 365 * 24 * time.Hour

// trNewStaff registers a staff member as the admin, with an API key.
func (e *env) trNewStaff(st *aftersalesv1.Staff) *aftersalesv1.Staff {
	e.t.Helper()
	got, err := e.staff.CreateStaff(e.admin(), &aftersalesv1.CreateStaffRequest{Staff: st})
	require.NoError(e.t, err)
	id, _ := resname.ID(got.GetName(), resname.Staff)
	e.issueKey(auth.KeySpec{DisplayName: got.GetDisplayName(), StaffID: id}, got.GetName())
	return got
}

// trCourse defines a course as actor.
func (e *env) trCourse(actor string, c *aftersalesv1.Course) *aftersalesv1.Course {
	e.t.Helper()
	got, err := e.training.CreateCourse(as(actor), &aftersalesv1.CreateCourseRequest{Course: c})
	require.NoError(e.t, err)
	return got
}

// trAssess records an assessment of staff in course as actor.
func (e *env) trAssess(actor, staff, course string, s *aftersalesv1.DimensionScores) *aftersalesv1.Assessment {
	e.t.Helper()
	got, err := e.training.RecordAssessment(as(actor), &aftersalesv1.RecordAssessmentRequest{Parent: staff,
		Assessment: &aftersalesv1.Assessment{Course: course, Scores: s}})
	require.NoError(e.t, err)
	return got
}

// trQualification reads a staff member's qualification as the admin.
func (e *env) trQualification(staff string) *aftersalesv1.Qualification {
	e.t.Helper()
	q, err := e.staff.GetQualification(e.admin(), &aftersalesv1.GetQualificationRequest{Name: staff + "/qualification"})
	require.NoError(e.t, err)
	return q
}

// trStored is the qualification state stored on the staff row, which
// lists filter on.
func (e *env) trStored(staff string) aftersalesv1.Qualification_State {
	e.t.Helper()
	st, err := e.staff.GetStaff(e.admin(), &aftersalesv1.GetStaffRequest{Name: staff})
	require.NoError(e.t, err)
	return st.GetQualificationState()
}

func scores(attitude, efficiency, quality, knowledge int32) *aftersalesv1.DimensionScores {
	return &aftersalesv1.DimensionScores{Attitude: attitude, Efficiency: efficiency, Quality: quality, Knowledge: knowledge}
}

// requireNotQualified asserts a STAFF_NOT_QUALIFIED refusal naming
// exactly the given courses, each with a reason.
func requireNotQualified(t *testing.T, err error, courses ...string) {
	t.Helper()
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED)
	var subjects []string
	for _, v := range apierr.PreconditionViolations(err) {
		require.Equal(t, "COURSE", v.GetType())
		require.NotEmpty(t, v.GetDescription())
		subjects = append(subjects, v.GetSubject())
	}
	require.Equal(t, courses, subjects, "error: %v", err)
}

// TestTrainingQualificationLifecycle follows a new technician (API.md §4,
// 只有考核合格才能上岗): a trainee cannot be assigned; passing the required
// courses makes them assignable; a failed reassessment suspends them,
// refuses assignments and enrols them in retraining; passing again
// restores them; a certification that expires makes them a trainee again,
// at read time at once and in the stored state by the expiry loop.
func TestTrainingQualificationLifecycle(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			e := startURL(t, urls[0], slowQualification)
			// The replica runs the expiry loop; its clock moves only when
			// the loop is meant to see the expiry.
			replica := startURL(t, urls[1], fastQualification)
			f := e.seed()
			agent := as(f.agent.GetName())
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			repair := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Washer repair", Category: aftersalesv1.Course_PRODUCT_KNOWLEDGE,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN}, PassingScore: 70,
				Validity: durationpb.New(year),
			})
			etiquette := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Service etiquette", Category: aftersalesv1.Course_SERVICE_SKILLS,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN, aftersalesv1.Staff_AGENT}, PassingScore: 60,
				Weights: &aftersalesv1.DimensionWeights{Attitude: 40, Efficiency: 20, Quality: 20, Knowledge: 20},
			})
			require.Equal(t, &aftersalesv1.DimensionWeights{Attitude: 25, Efficiency: 25, Quality: 25, Knowledge: 25}, repair.GetWeights(), "unset weights are equal")

			// Requiring a course made the existing technician a trainee.
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, e.trStored(f.technician.GetName()))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(f.manager.GetName()), "nothing is required of managers")

			nina := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Nina New", Role: aftersalesv1.Staff_TECHNICIAN, Team: "east", Manager: f.manager.GetName()})
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, nina.GetQualificationState())
			q := e.trQualification(nina.GetName())
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, q.GetState())
			require.Len(t, q.GetCourses(), 2)
			for _, c := range q.GetCourses() {
				require.Equal(t, aftersalesv1.Qualification_CourseStatus_MISSING, c.GetStanding())
				require.Equal(t, "never assessed", c.GetReason())
			}

			// A trainee cannot be assigned, over gRPC and JSON.
			tk := e.newTicket(f, f.inWarranty)
			assign := func() (*aftersalesv1.Ticket, error) {
				return e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: nina.GetName()})
			}
			_, err := assign()
			requireNotQualified(t, err, repair.GetName(), etiquette.GetName())
			r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":assign", f.agent.GetName(), map[string]any{"assignee": nina.GetName()})
			requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED)

			// Dispatchers see who is available.
			available := func() []string {
				resp, err := e.staff.ListStaff(agent, &aftersalesv1.ListStaffRequest{Filter: `qualification_state = QUALIFIED AND role = TECHNICIAN`})
				require.NoError(t, err)
				var names []string
				for _, st := range resp.GetStaff() {
					names = append(names, st.GetName())
				}
				return names
			}
			require.NotContains(t, available(), nina.GetName())

			// Passing one course is not enough.
			pass := e.trAssess(trainer.GetName(), nina.GetName(), repair.GetName(), scores(80, 80, 80, 80))
			require.True(t, pass.GetPassed())
			require.InDelta(t, 80, pass.GetTotal(), 1e-9)
			require.Equal(t, trainer.GetName(), pass.GetAssessor())
			require.Equal(t, e.clock.Now().Add(year), pass.GetValidUntil().AsTime())
			_, err = assign()
			requireNotQualified(t, err, etiquette.GetName())

			// Her manager assesses her in the other: qualified, assignable.
			e.clock.Advance(time.Hour)
			manners := e.trAssess(f.manager.GetName(), nina.GetName(), etiquette.GetName(), scores(90, 50, 50, 50))
			require.InDelta(t, 66, manners.GetTotal(), 1e-9, "40% attitude")
			require.Nil(t, manners.GetValidUntil(), "the course never expires")
			q = e.trQualification(nina.GetName())
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, q.GetState())
			require.Equal(t, pass.GetValidUntil().AsTime(), q.GetExpireTime().AsTime(), "the earliest expiry of the passes")
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(nina.GetName()))
			require.Contains(t, available(), nina.GetName())
			_, err = assign()
			require.NoError(t, err)

			// A failed reassessment suspends her and enrols her in retraining.
			e.clock.Advance(24 * time.Hour)
			failed := e.trAssess(trainer.GetName(), nina.GetName(), repair.GetName(), scores(50, 50, 50, 50))
			require.False(t, failed.GetPassed())
			q = e.trQualification(nina.GetName())
			require.Equal(t, aftersalesv1.Qualification_SUSPENDED, q.GetState())
			require.Equal(t, aftersalesv1.Qualification_CourseStatus_FAILED, q.GetCourses()[0].GetStanding())
			require.Equal(t, "failed with 50 < 70", q.GetCourses()[0].GetReason())
			require.Equal(t, failed.GetName(), q.GetCourses()[0].GetAssessment())
			_, err = assign()
			requireNotQualified(t, err, repair.GetName())
			other := e.newTicket(f, f.inWarranty)
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: other.GetName(), Assignee: nina.GetName()})
			requireNotQualified(t, err, repair.GetName())
			require.NotContains(t, available(), nina.GetName())

			enrolments, err := e.training.ListEnrollments(as(nina.GetName()), &aftersalesv1.ListEnrollmentsRequest{Parent: nina.GetName()})
			require.NoError(t, err)
			require.Len(t, enrolments.GetEnrollments(), 1)
			retraining := enrolments.GetEnrollments()[0]
			require.Equal(t, aftersalesv1.Enrollment_RETRAINING, retraining.GetReason())
			require.Equal(t, aftersalesv1.Enrollment_ENROLLED, retraining.GetState())
			require.Equal(t, repair.GetName(), retraining.GetCourse())
			require.Equal(t, failed.GetName(), retraining.GetAssessment())
			require.Equal(t, e.clock.Now().Add(30*24*time.Hour), retraining.GetDueTime().AsTime())

			// Passing again restores her and completes the retraining.
			e.clock.Advance(10 * 24 * time.Hour)
			again := e.trAssess(trainer.GetName(), nina.GetName(), repair.GetName(), scores(75, 75, 75, 75))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trQualification(nina.GetName()).GetState())
			_, err = assign()
			require.NoError(t, err)
			enrolments, err = e.training.ListEnrollments(as(nina.GetName()), &aftersalesv1.ListEnrollmentsRequest{Parent: nina.GetName()})
			require.NoError(t, err)
			require.Len(t, enrolments.GetEnrollments(), 1, "no second retraining")
			require.Equal(t, aftersalesv1.Enrollment_COMPLETED, enrolments.GetEnrollments()[0].GetState())
			require.Equal(t, again.GetName(), enrolments.GetEnrollments()[0].GetAssessment())

			// Her record: every assessment, oldest first, and the changes of
			// state, newest first.
			assessments, err := e.training.ListAssessments(as(nina.GetName()), &aftersalesv1.ListAssessmentsRequest{Parent: nina.GetName()})
			require.NoError(t, err)
			var names []string
			for _, a := range assessments.GetAssessments() {
				names = append(names, a.GetName())
			}
			require.Equal(t, []string{pass.GetName(), manners.GetName(), failed.GetName(), again.GetName()}, names)
			type change struct {
				from, to   aftersalesv1.Qualification_State
				assessment string
			}
			history := func() []change {
				var out []change
				for _, c := range e.trQualification(nina.GetName()).GetHistory() {
					require.NotEmpty(t, c.GetReason())
					out = append(out, change{c.GetFromState(), c.GetToState(), c.GetAssessment()})
				}
				return out
			}
			require.Equal(t, []change{
				{aftersalesv1.Qualification_SUSPENDED, aftersalesv1.Qualification_QUALIFIED, again.GetName()},
				{aftersalesv1.Qualification_QUALIFIED, aftersalesv1.Qualification_SUSPENDED, failed.GetName()},
				{aftersalesv1.Qualification_TRAINEE, aftersalesv1.Qualification_QUALIFIED, manners.GetName()},
				{aftersalesv1.Qualification_STATE_UNSPECIFIED, aftersalesv1.Qualification_TRAINEE, ""},
			}, history())

			// The renewed pass expires a year on. Read time knows at once,
			// and so does the gate, before the loop has run.
			expiry := again.GetValidUntil().AsTime()
			require.Equal(t, expiry, e.trQualification(nina.GetName()).GetExpireTime().AsTime())
			e.clock.Advance(expiry.Sub(e.clock.Now()))
			q = e.trQualification(nina.GetName())
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, q.GetState())
			require.Equal(t, aftersalesv1.Qualification_CourseStatus_EXPIRED, q.GetCourses()[0].GetStanding())
			require.Contains(t, q.GetCourses()[0].GetReason(), "expired at")
			require.Equal(t, aftersalesv1.Qualification_CourseStatus_PASSED, q.GetCourses()[1].GetStanding())
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(nina.GetName()), "the loop has not run")
			_, err = assign()
			requireNotQualified(t, err, repair.GetName())

			// The loop stores it and records it in her history.
			replica.clock.Advance(e.clock.Now().Sub(replica.clock.Now()))
			require.Eventually(t, func() bool {
				return e.trStored(nina.GetName()) == aftersalesv1.Qualification_TRAINEE
			}, 10*time.Second, 10*time.Millisecond)
			require.Equal(t, change{aftersalesv1.Qualification_QUALIFIED, aftersalesv1.Qualification_TRAINEE, ""}, history()[0])
			require.NotContains(t, available(), nina.GetName())
		})
	}
}

// TestTrainingPartnerDispatch: a shop may be dispatched work only while
// it has a qualified technician; the shop trains its own technicians and
// assigns them through the same gate.
func TestTrainingPartnerDispatch(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := as(f.agent.GetName())
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Safety rules", Category: aftersalesv1.Course_REGULATIONS,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN}, PassingScore: 80,
			})
			tk := e.newTicket(f, f.inWarranty)
			_, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: f.partner.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED)
			v := apierr.PreconditionViolations(err)
			require.Len(t, v, 1)
			require.Equal(t, "PARTNER", v[0].GetType())
			require.Equal(t, f.partner.GetName(), v[0].GetSubject())
			require.Contains(t, v[0].GetDescription(), "no qualified technician")

			// The shop enrols its technician; the trainer assesses them.
			shop := as(f.partner.GetName())
			en, err := e.training.EnrollStaff(shop, &aftersalesv1.EnrollStaffRequest{Parent: f.partnerTech.GetName(),
				Enrollment: &aftersalesv1.Enrollment{Course: course.GetName()}})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Enrollment_ASSIGNED, en.GetReason())
			require.Equal(t, f.partner.GetName(), en.GetEnrolledBy())
			e.trAssess(trainer.GetName(), f.partnerTech.GetName(), course.GetName(), scores(80, 80, 80, 80))
			_, err = e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: f.partner.GetName()})
			require.NoError(t, err)

			// A second, untrained technician of the shop: the shop may not
			// give them the work.
			rookie, err := e.staff.CreateStaff(shop, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Rory Rookie", Role: aftersalesv1.Staff_TECHNICIAN}})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, rookie.GetQualificationState())
			_, err = e.tickets.AssignTicket(shop, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: rookie.GetName()})
			requireNotQualified(t, err, course.GetName())
			_, err = e.tickets.AssignTicket(shop, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: f.partnerTech.GetName()})
			require.NoError(t, err)

			// The shop sees its technicians' standing, not others'.
			resp, err := e.staff.ListStaff(shop, &aftersalesv1.ListStaffRequest{Filter: "qualification_state = TRAINEE"})
			require.NoError(t, err)
			require.Len(t, resp.GetStaff(), 1)
			require.Equal(t, rookie.GetName(), resp.GetStaff()[0].GetName())
			_, err = e.staff.GetQualification(shop, &aftersalesv1.GetQualificationRequest{Name: f.technician.GetName() + "/qualification"})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
		})
	}
}
