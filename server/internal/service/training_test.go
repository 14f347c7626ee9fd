package service_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestTrainingScoring: the weighted total and the pass threshold, over
// gRPC and JSON. The course weighs 10/20/30/40 and passes at 70.
func TestTrainingScoring(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Dryer repair", Category: aftersalesv1.Course_PRODUCT_KNOWLEDGE, PassingScore: 70,
				Weights: &aftersalesv1.DimensionWeights{Attitude: 10, Efficiency: 20, Quality: 30, Knowledge: 40},
			})
			for _, tc := range []struct {
				name   string
				scores [4]int32
				total  float64
				passed bool
			}{
				{"exactly the passing score passes", [4]int32{70, 70, 70, 70}, 70, true},
				{"a tenth below fails", [4]int32{69, 70, 70, 70}, 69.9, false},
				{"a tenth above passes", [4]int32{71, 70, 70, 70}, 70.1, true},
				{"knowledge weighs most", [4]int32{0, 0, 100, 100}, 70, true},
				{"attitude weighs least", [4]int32{100, 100, 100, 0}, 60, false},
				{"one decimal", [4]int32{73, 0, 77, 81}, 62.8, false},
				{"zero", [4]int32{0, 0, 0, 0}, 0, false},
				{"full marks", [4]int32{100, 100, 100, 100}, 100, true},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s := scores(tc.scores[0], tc.scores[1], tc.scores[2], tc.scores[3])
					got := e.trAssess(trainer.GetName(), f.technician.GetName(), course.GetName(), s)
					require.InDelta(t, tc.total, got.GetTotal(), 1e-9)
					require.Equal(t, tc.passed, got.GetPassed())
					require.EqualValues(t, 70, got.GetPassingScore())

					r := e.do(http.MethodPost, "/v1/"+f.technician.GetName()+"/assessments", trainer.GetName(), map[string]any{
						"course": course.GetName(),
						"scores": map[string]any{"attitude": tc.scores[0], "efficiency": tc.scores[1], "quality": tc.scores[2], "knowledge": tc.scores[3]},
					})
					require.Equal(t, http.StatusOK, r.status, string(r.raw))
					total, _ := r.body["total"].(float64) // zero is omitted
					require.InDelta(t, tc.total, total, 1e-9)
					require.Equal(t, tc.passed, r.body["passed"] == true)
				})
			}
		})
	}
}

// TestTrainingCourseValidation: bad courses are INVALID_ARGUMENT naming
// the field, over gRPC and JSON, on create and on update.
func TestTrainingCourseValidation(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			valid := &aftersalesv1.Course{DisplayName: "Regulations", Category: aftersalesv1.Course_REGULATIONS, PassingScore: 60}
			course := e.trCourse(trainer.GetName(), valid)
			for _, tc := range []struct {
				name   string
				change func(c *aftersalesv1.Course)
				json   map[string]any
				field  string
			}{
				{"weights must add up to 100", func(c *aftersalesv1.Course) {
					c.Weights = &aftersalesv1.DimensionWeights{Attitude: 25, Efficiency: 25, Quality: 25, Knowledge: 24}
				}, map[string]any{"weights": map[string]any{"attitude": 25, "efficiency": 25, "quality": 25, "knowledge": 24}}, "course.weights"},
				{"display name required", func(c *aftersalesv1.Course) { c.DisplayName = " " }, map[string]any{"displayName": " "}, "course.display_name"},
				{"category required", func(c *aftersalesv1.Course) { c.Category = 0 }, map[string]any{"category": "CATEGORY_UNSPECIFIED"}, "course.category"},
				{"passing score required", func(c *aftersalesv1.Course) { c.PassingScore = 0 }, map[string]any{"passingScore": 0}, "course.passing_score"},
				{"passing score at most 100", func(c *aftersalesv1.Course) { c.PassingScore = 101 }, map[string]any{"passingScore": 101}, "course.passing_score"},
				{"no unspecified role", func(c *aftersalesv1.Course) { c.RequiredRoles = []aftersalesv1.Staff_Role{0} }, map[string]any{"requiredRoles": []string{"ROLE_UNSPECIFIED"}}, "course.required_roles"},
				{"validity not negative", func(c *aftersalesv1.Course) { c.Validity = durationpb.New(-time.Hour) }, map[string]any{"validity": "-3600s"}, "course.validity"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					bad := proto.CloneOf(valid)
					tc.change(bad)
					_, err := e.training.CreateCourse(as(trainer.GetName()), &aftersalesv1.CreateCourseRequest{Course: bad})
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
					require.Equal(t, tc.field, apierr.FieldViolations(err)[0].Field)

					body := map[string]any{"displayName": "Regulations", "category": "REGULATIONS", "passingScore": 60}
					for k, v := range tc.json {
						body[k] = v
					}
					r := e.do(http.MethodPost, "/v1/courses", trainer.GetName(), body)
					requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
					require.Contains(t, jsonFieldViolations(r), tc.field)

					// The same change as an update.
					bad.Name = course.GetName()
					_, err = e.training.UpdateCourse(as(trainer.GetName()), &aftersalesv1.UpdateCourseRequest{Course: bad})
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
					r = e.do(http.MethodPatch, "/v1/"+course.GetName(), trainer.GetName(), tc.json)
					requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				})
			}
			got, err := e.training.GetCourse(as(trainer.GetName()), &aftersalesv1.GetCourseRequest{Name: course.GetName()})
			require.NoError(t, err)
			require.True(t, proto.Equal(course, got), "failed updates changed nothing")
		})
	}
}

// TestTrainingAssessmentImmutable: an assessment never changes; a
// correction is a new one; a retried request_id creates nothing twice.
func TestTrainingAssessmentImmutable(t *testing.T) {
	svc := aftersalesv1.File_aftersales_v1_training_proto.Services().ByName("TrainingService")
	for _, m := range []string{"UpdateAssessment", "DeleteAssessment"} {
		require.Nil(t, svc.Methods().ByName(protoreflect.Name(m)), "assessments have no %s", m)
	}
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Washer repair", Category: aftersalesv1.Course_PRODUCT_KNOWLEDGE, PassingScore: 70,
				RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN},
			})
			tech := f.technician.GetName()
			req := &aftersalesv1.RecordAssessmentRequest{Parent: tech, RequestId: "assess-1",
				Assessment: &aftersalesv1.Assessment{Course: course.GetName(), Scores: scores(60, 60, 60, 60), Note: "typo: meant 80"}}
			first, err := e.training.RecordAssessment(as(trainer.GetName()), req)
			require.NoError(t, err)
			retry, err := e.training.RecordAssessment(as(trainer.GetName()), req)
			require.NoError(t, err)
			require.True(t, proto.Equal(first, retry), "a retry returns the original")
			changed := proto.CloneOf(req)
			changed.Assessment.Scores = scores(80, 80, 80, 80)
			_, err = e.training.RecordAssessment(as(trainer.GetName()), changed)
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_REQUEST_ID_REUSED)

			enrolments, err := e.training.ListEnrollments(as(trainer.GetName()), &aftersalesv1.ListEnrollmentsRequest{Parent: tech})
			require.NoError(t, err)
			require.Len(t, enrolments.GetEnrollments(), 1, "one retraining, not two")
			require.Equal(t, aftersalesv1.Qualification_SUSPENDED, e.trQualification(tech).GetState())

			// The correction is a new assessment; the first stays as it was.
			e.clock.Advance(time.Minute)
			changed.RequestId = "assess-2"
			correction, err := e.training.RecordAssessment(as(trainer.GetName()), changed)
			require.NoError(t, err)
			require.NotEqual(t, first.GetName(), correction.GetName())
			list, err := e.training.ListAssessments(as(trainer.GetName()), &aftersalesv1.ListAssessmentsRequest{Parent: tech})
			require.NoError(t, err)
			require.Len(t, list.GetAssessments(), 2)
			require.True(t, proto.Equal(first, list.GetAssessments()[0]), "the first is unchanged")
			require.True(t, proto.Equal(correction, list.GetAssessments()[1]))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trQualification(tech).GetState())

			failedOnly, err := e.training.ListAssessments(as(trainer.GetName()), &aftersalesv1.ListAssessmentsRequest{Parent: tech, Filter: "passed = false"})
			require.NoError(t, err)
			require.Len(t, failedOnly.GetAssessments(), 1)
			require.Equal(t, first.GetName(), failedOnly.GetAssessments()[0].GetName())
		})
	}
}

// TestTrainingScope: who may read and change whose training (API.md §5).
// Out of scope is NOT_FOUND, exactly as for a staff member that does not
// exist; over gRPC and JSON.
func TestTrainingScope(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			boss := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Other Manager", Role: aftersalesv1.Staff_MANAGER}).GetName()
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Service etiquette", Category: aftersalesv1.Course_SERVICE_SKILLS, PassingScore: 60,
			})
			for _, st := range []string{f.technician.GetName(), f.partnerTech.GetName(), f.agent.GetName()} {
				e.trAssess(trainer.GetName(), st, course.GetName(), scores(90, 90, 90, 90))
			}
			tech, ptech, agent, mgr := f.technician.GetName(), f.partnerTech.GetName(), f.agent.GetName(), f.manager.GetName()
			shop := f.partner.GetName()
			missing := "staff/nosuchstaff"

			type call func(actor, staff string) (error, httpResult)
			readQualification := func(actor, staff string) (error, httpResult) {
				_, err := e.staff.GetQualification(as(actor), &aftersalesv1.GetQualificationRequest{Name: staff + "/qualification"})
				return err, e.do(http.MethodGet, "/v1/"+staff+"/qualification", actor, nil)
			}
			listAssessments := func(actor, staff string) (error, httpResult) {
				_, err := e.training.ListAssessments(as(actor), &aftersalesv1.ListAssessmentsRequest{Parent: staff})
				return err, e.do(http.MethodGet, "/v1/"+staff+"/assessments", actor, nil)
			}
			listEnrollments := func(actor, staff string) (error, httpResult) {
				_, err := e.training.ListEnrollments(as(actor), &aftersalesv1.ListEnrollmentsRequest{Parent: staff})
				return err, e.do(http.MethodGet, "/v1/"+staff+"/enrollments", actor, nil)
			}
			assess := func(actor, staff string) (error, httpResult) {
				_, err := e.training.RecordAssessment(as(actor), &aftersalesv1.RecordAssessmentRequest{Parent: staff,
					Assessment: &aftersalesv1.Assessment{Course: course.GetName(), Scores: scores(90, 90, 90, 90)}})
				return err, e.do(http.MethodPost, "/v1/"+staff+"/assessments", actor, map[string]any{
					"course": course.GetName(), "scores": map[string]any{"attitude": 90, "efficiency": 90, "quality": 90, "knowledge": 90}})
			}
			enrol := func(actor, staff string) (error, httpResult) {
				// Each enrolment is completed at once so the next may enrol again.
				en, err := e.training.EnrollStaff(as(actor), &aftersalesv1.EnrollStaffRequest{Parent: staff,
					Enrollment: &aftersalesv1.Enrollment{Course: course.GetName()}})
				if err == nil {
					_, err = e.training.CompleteEnrollment(as(actor), &aftersalesv1.CompleteEnrollmentRequest{Name: en.GetName()})
					require.NoError(t, err)
				}
				r := e.do(http.MethodPost, "/v1/"+staff+"/enrollments", actor, map[string]any{"course": course.GetName()})
				if r.status == http.StatusOK {
					_, err := e.training.CompleteEnrollment(as(actor), &aftersalesv1.CompleteEnrollmentRequest{Name: r.body["name"].(string)})
					require.NoError(t, err)
				}
				return err, r
			}
			for _, tc := range []struct {
				name         string
				call         call
				actor, staff string
				ok           bool
			}{
				{"technician reads own qualification", readQualification, tech, tech, true},
				{"technician reads another's qualification", readQualification, tech, ptech, false},
				{"agent reads own qualification", readQualification, agent, agent, true},
				{"agent reads a technician's qualification", readQualification, agent, tech, false},
				{"shop reads its technician's qualification", readQualification, shop, ptech, true},
				{"shop reads an internal technician's qualification", readQualification, shop, tech, false},
				{"manager reads anyone's qualification", readQualification, boss, ptech, true},
				{"trainer reads a missing staff member", readQualification, trainer.GetName(), missing, false},
				{"technician lists own assessments", listAssessments, tech, tech, true},
				{"technician lists another's assessments", listAssessments, tech, agent, false},
				{"shop lists an internal technician's assessments", listAssessments, shop, tech, false},
				{"agent lists another's enrolments", listEnrollments, agent, tech, false},
				{"shop lists its technician's enrolments", listEnrollments, shop, ptech, true},
				{"manager assesses own team", assess, mgr, tech, true},
				{"manager assesses another team", assess, boss, tech, false},
				{"manager assesses a shop's technician", assess, mgr, ptech, false},
				{"trainer assesses anyone", assess, trainer.GetName(), ptech, true},
				{"trainer assesses a missing staff member", assess, trainer.GetName(), missing, false},
				{"shop enrols its technician", enrol, shop, ptech, true},
				{"shop enrols an internal technician", enrol, shop, tech, false},
				{"manager enrols own team", enrol, mgr, agent, true},
				{"manager enrols another team", enrol, boss, agent, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					err, r := tc.call(tc.actor, tc.staff)
					if tc.ok {
						require.NoError(t, err)
						require.Equal(t, http.StatusOK, r.status, string(r.raw))
						return
					}
					requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
					requireHTTP(t, r, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				})
			}

			// Lists across staff ("staff/-") keep to the caller's scope.
			owners := func(actor string) map[string]bool {
				resp, err := e.training.ListAssessments(as(actor), &aftersalesv1.ListAssessmentsRequest{Parent: "staff/-", PageSize: 1000})
				require.NoError(t, err)
				out := map[string]bool{}
				for _, a := range resp.GetAssessments() {
					ids, ok := resname.Parse(a.GetName(), resname.Staff, resname.Assessments)
					require.True(t, ok, a.GetName())
					out[resname.Format(resname.Staff, ids[0])] = true
				}
				return out
			}
			require.Equal(t, map[string]bool{tech: true}, owners(tech))
			require.Equal(t, map[string]bool{ptech: true}, owners(shop))
			require.Equal(t, map[string]bool{tech: true, ptech: true, agent: true}, owners(trainer.GetName()))
		})
	}
}

// TestTrainingErrors: references, states and inputs that are refused,
// and what requalifies when courses or roles change.
func TestTrainingErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			trainer := e.trNewStaff(&aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER})
			tr := as(trainer.GetName())
			course := e.trCourse(trainer.GetName(), &aftersalesv1.Course{
				DisplayName: "Washer repair", Category: aftersalesv1.Course_PRODUCT_KNOWLEDGE, PassingScore: 70,
			})
			tech := f.technician.GetName()
			record := func(parent, course string) error {
				_, err := e.training.RecordAssessment(tr, &aftersalesv1.RecordAssessmentRequest{Parent: parent,
					Assessment: &aftersalesv1.Assessment{Course: course, Scores: scores(80, 80, 80, 80)}})
				return err
			}
			requireCode(t, record(tech, "courses/nosuchcourse"), codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND)
			requireCode(t, record(tech, "washer"), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			requireCode(t, record("staff/-", course.GetName()), codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			_, err := e.training.RecordAssessment(tr, &aftersalesv1.RecordAssessmentRequest{Parent: tech,
				Assessment: &aftersalesv1.Assessment{Course: course.GetName(), Scores: scores(101, 0, 0, 0)}})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			_, err = e.staff.GetQualification(tr, &aftersalesv1.GetQualificationRequest{Name: tech})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)

			// Enrolments: a due time in the past, a second open enrolment,
			// completing twice.
			_, err = e.training.EnrollStaff(tr, &aftersalesv1.EnrollStaffRequest{Parent: tech,
				Enrollment: &aftersalesv1.Enrollment{Course: course.GetName(), DueTime: timestamp(e.clock.Now().Add(-time.Hour))}})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			en, err := e.training.EnrollStaff(tr, &aftersalesv1.EnrollStaffRequest{Parent: tech, Enrollment: &aftersalesv1.Enrollment{Course: course.GetName()}})
			require.NoError(t, err)
			require.Equal(t, e.clock.Now().Add(30*24*time.Hour), en.GetDueTime().AsTime(), "due after the retraining period by default")
			require.Equal(t, trainer.GetName(), en.GetEnrolledBy())
			_, err = e.training.EnrollStaff(tr, &aftersalesv1.EnrollStaffRequest{Parent: tech, Enrollment: &aftersalesv1.Enrollment{Course: course.GetName()}})
			requireCode(t, err, codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS)
			done, err := e.training.CompleteEnrollment(tr, &aftersalesv1.CompleteEnrollmentRequest{Name: en.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Enrollment_COMPLETED, done.GetState())
			require.NotNil(t, done.GetCompleteTime())
			_, err = e.training.CompleteEnrollment(tr, &aftersalesv1.CompleteEnrollmentRequest{Name: en.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			require.Contains(t, apierr.PreconditionViolations(err)[0].GetDescription(), "COMPLETED")
			r := e.do(http.MethodPost, "/v1/"+en.GetName()+":complete", trainer.GetName(), map[string]any{})
			requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			_, err = e.training.CompleteEnrollment(tr, &aftersalesv1.CompleteEnrollmentRequest{Name: f.agent.GetName() + "/enrollments/" + en.GetName()[len(tech+"/enrollments/"):]})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)

			// Requiring the course of technicians makes them trainees;
			// requiring it of agents instead restores them.
			_, err = e.training.UpdateCourse(tr, &aftersalesv1.UpdateCourseRequest{
				Course:     &aftersalesv1.Course{Name: course.GetName(), RequiredRoles: []aftersalesv1.Staff_Role{aftersalesv1.Staff_TECHNICIAN}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"required_roles"}},
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, e.trStored(tech))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(f.agent.GetName()))
			r = e.do(http.MethodPatch, "/v1/"+course.GetName(), trainer.GetName(), map[string]any{"requiredRoles": []string{"AGENT"}})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, aftersalesv1.Qualification_QUALIFIED, e.trStored(tech))
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, e.trStored(f.agent.GetName()))

			// A change of role brings the new role's requirements.
			st, err := e.staff.UpdateStaff(e.admin(), &aftersalesv1.UpdateStaffRequest{
				Staff:      &aftersalesv1.Staff{Name: tech, Role: aftersalesv1.Staff_AGENT},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"role"}},
			})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, st.GetQualificationState())
			history := e.trQualification(tech).GetHistory()
			require.Equal(t, aftersalesv1.Qualification_TRAINEE, history[0].GetToState())
			require.Len(t, history, 4, "created, required, not required, new role")
		})
	}
}
