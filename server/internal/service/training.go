package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/qualify"
	"github.com/aftersales/aftersales/server/internal/store"
)

// trainingServer runs courses, enrolments and assessments (API.md §4,
// 培训与考核). Every assessment recomputes the person's qualification in
// its own transaction (qualification.go). ListAccountabilityRecords lives
// with the complaints that create the records (accountability.go).
type trainingServer struct {
	aftersalesv1.UnimplementedTrainingServiceServer
	*base
}

var courseUpdatable = []string{"display_name", "description", "category", "required_roles", "passing_score", "weights", "validity"}

// requalifying are the course fields on which qualification depends:
// changing one recomputes everyone whose role the course concerns.
var requalifying = []string{"required_roles", "passing_score", "weights", "validity"}

var courseList = listSpec{columns: []column{
	{field: filter.Field{Name: "category", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Course_Category_name)}, name: "category", conv: enumValue(aftersalesv1.Course_Category_value)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

var enrollmentList = listSpec{columns: []column{
	{field: filter.Field{Name: "course"}, name: "course_id", conv: nameValue(resname.Courses)},
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Enrollment_State_name)}, name: "state", conv: enumValue(aftersalesv1.Enrollment_State_value)},
	{field: filter.Field{Name: "reason", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Enrollment_Reason_name)}, name: "reason", conv: enumValue(aftersalesv1.Enrollment_Reason_value)},
	{field: filter.Field{Name: "due_time", Kind: filter.KindTime}, name: "due_time"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

var assessmentList = listSpec{columns: []column{
	{field: filter.Field{Name: "course"}, name: "course_id", conv: nameValue(resname.Courses)},
	{field: filter.Field{Name: "passed", Kind: filter.KindBool}, name: "passed"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// courseViolations checks the named fields of a course request.
func courseViolations(c *aftersalesv1.Course, paths []string) []apierr.Violation {
	var vs []apierr.Violation
	for _, p := range paths {
		switch p {
		case "display_name":
			if strings.TrimSpace(c.GetDisplayName()) == "" {
				vs = append(vs, apierr.Violation{Field: "course.display_name", Description: "is required"})
			}
		case "category":
			if c.GetCategory() == aftersalesv1.Course_CATEGORY_UNSPECIFIED {
				vs = append(vs, apierr.Violation{Field: "course.category", Description: "is required"})
			}
		case "required_roles":
			if slices.Contains(c.GetRequiredRoles(), aftersalesv1.Staff_ROLE_UNSPECIFIED) {
				vs = append(vs, apierr.Violation{Field: "course.required_roles", Description: "must not contain ROLE_UNSPECIFIED"})
			}
		case "passing_score":
			if c.GetPassingScore() < 1 || c.GetPassingScore() > 100 {
				vs = append(vs, apierr.Violation{Field: "course.passing_score", Description: "is required: 1 to 100"})
			}
		case "weights":
			if d := qualify.CheckWeights(weightsOf(c.GetWeights())); d != "" {
				vs = append(vs, apierr.Violation{Field: "course.weights", Description: d})
			}
		case "validity":
			if c.GetValidity().AsDuration() < 0 {
				vs = append(vs, apierr.Violation{Field: "course.validity", Description: "must not be negative"})
			}
		}
	}
	return vs
}

// applyCourse copies the named fields of c onto row.
func applyCourse(row *store.Course, c *aftersalesv1.Course, paths []string) {
	for _, p := range paths {
		switch p {
		case "display_name":
			row.DisplayName = strings.TrimSpace(c.GetDisplayName())
		case "description":
			row.Description = c.GetDescription()
		case "category":
			row.Category = int32(c.GetCategory())
		case "required_roles":
			row.RequiredRoles = marshalRoles(c.GetRequiredRoles())
		case "passing_score":
			row.PassingScore = c.GetPassingScore()
		case "weights":
			setCourseWeights(row, weightsOf(c.GetWeights()))
		case "validity":
			row.ValiditySeconds = int64(c.GetValidity().AsDuration() / time.Second)
		}
	}
}

func (s *trainingServer) CreateCourse(ctx context.Context, req *aftersalesv1.CreateCourseRequest) (*aftersalesv1.Course, error) {
	c := req.GetCourse()
	if vs := courseViolations(c, courseUpdatable); len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return mutate(ctx, s.base, aftersalesv1.TrainingService_CreateCourse_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Course, error) {
		now := s.now()
		row := &store.Course{ID: ids.New(), CreateTime: now, UpdateTime: now, Version: 1}
		applyCourse(row, c, courseUpdatable)
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		// A new required course makes everyone of its roles a trainee in it.
		if err := s.requalifyRoles(ctx, tx, roleNumbers(row.RequiredRoles), now); err != nil {
			return nil, err
		}
		return courseProto(row), nil
	})
}

func (s *trainingServer) GetCourse(ctx context.Context, req *aftersalesv1.GetCourseRequest) (*aftersalesv1.Course, error) {
	id, err := parseName("name", req.GetName(), resname.Courses)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.Course](ctx, s.base, s.db.Gorm(ctx), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return courseProto(row), nil
}

func (s *trainingServer) ListCourses(ctx context.Context, req *aftersalesv1.ListCoursesRequest) (*aftersalesv1.ListCoursesResponse, error) {
	rows, next, err := list[store.Course](s.db.Gorm(ctx).Model(&store.Course{}), courseList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListCoursesResponse{NextPageToken: next}
	for i := range rows {
		resp.Courses = append(resp.Courses, courseProto(&rows[i]))
	}
	return resp, nil
}

// UpdateCourse is updateRow's shape, except that the course is saved
// before the qualifications that depend on it are recomputed.
func (s *trainingServer) UpdateCourse(ctx context.Context, req *aftersalesv1.UpdateCourseRequest) (*aftersalesv1.Course, error) {
	c := req.GetCourse()
	id, err := parseName("course.name", c.GetName(), resname.Courses)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(wholeWeights(req.GetUpdateMask()), courseUpdatable)
	if err != nil {
		return nil, err
	}
	if vs := courseViolations(c, paths); len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	var out *aftersalesv1.Course
	err = s.db.InTx(ctx, func(tx *gorm.DB) error {
		var row store.Course
		if err := lockRow(tx, &row, id); err != nil {
			return err
		}
		if err := checkEtag(c.GetEtag(), c.GetName(), row.Version); err != nil {
			return err
		}
		before := courseProto(&row)
		oldRoles := roleNumbers(row.RequiredRoles)
		applyCourse(&row, c, paths)
		now := s.now()
		row.Touch(now)
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return err
		}
		if slices.ContainsFunc(paths, func(p string) bool { return slices.Contains(requalifying, p) }) {
			// Those who no longer need it and those who now do.
			roles := append(oldRoles, roleNumbers(row.RequiredRoles)...)
			slices.Sort(roles)
			if err := s.requalifyRoles(ctx, tx, slices.Compact(roles), now); err != nil {
				return err
			}
		}
		out = courseProto(&row)
		return s.audit(ctx, tx, c.GetName(), before, out)
	})
	switch {
	case isNotFound(err):
		return nil, notFound(c.GetName())
	case err != nil:
		return nil, s.toStatus(ctx, err)
	}
	return out, nil
}

// wholeWeights reads a mask's "weights.attitude" (how the gateway names
// a PATCH body's nested fields) as "weights": the weights must add up to
// 100, so they change together.
func wholeWeights(mask *fieldmaskpb.FieldMask) *fieldmaskpb.FieldMask {
	if mask == nil {
		return nil
	}
	var paths []string
	for _, p := range maskPaths(mask) {
		if strings.HasPrefix(p, "weights.") {
			p = "weights"
		}
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	return &fieldmaskpb.FieldMask{Paths: paths}
}

// traineeParent parses the parent of a training record, "staff/{id}"; the
// wildcard is refused unless listing.
func traineeParent(parent string, wildcard bool) (string, error) {
	id, err := parseName("parent", parent, resname.Staff)
	if err == nil && id == resname.Wildcard && !wildcard {
		err = apierr.InvalidField("parent", "must name one staff member; the wildcard \"-\" is only for listing")
	}
	return id, err
}

// lockTrainee locks the staff member id within the caller's trainer
// scope; out of scope is NOT_FOUND naming parent, as for one that does
// not exist.
func lockTrainee(ctx context.Context, tx *gorm.DB, id, parent string) (*store.Staff, error) {
	// Written, not only locked: the callers decide about the trainee's
	// enrolments (at most one open per course), and on Galera only a
	// common written row keeps two nodes from both adding one.
	if err := touchRow(trainerScope(tx, principal.FromContext(ctx)), &store.Staff{}, id); err != nil {
		return nil, err
	}
	var st store.Staff
	err := lockRow(trainerScope(tx, principal.FromContext(ctx)), &st, id)
	if isNotFound(err) {
		return nil, notFound(parent)
	}
	return &st, err
}

// loadCourse reads the course a request names in field.
func loadCourse(tx *gorm.DB, field, name string) (*store.Course, error) {
	id, err := parseName(field, name, resname.Courses)
	if err != nil {
		return nil, err
	}
	var c store.Course
	if err := store.Translate(tx.Where("id = ?", id).Take(&c).Error); err != nil {
		if isNotFound(err) {
			return nil, badReference(field, name)
		}
		return nil, err
	}
	return &c, nil
}

func (s *trainingServer) EnrollStaff(ctx context.Context, req *aftersalesv1.EnrollStaffRequest) (*aftersalesv1.Enrollment, error) {
	staffID, err := traineeParent(req.GetParent(), false)
	if err != nil {
		return nil, err
	}
	en := req.GetEnrollment()
	if _, err := parseName("enrollment.course", en.GetCourse(), resname.Courses); err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	return mutate(ctx, s.base, aftersalesv1.TrainingService_EnrollStaff_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Enrollment, error) {
		now := s.now()
		due := now.Add(s.rules.RetrainingPeriod)
		if t := timePtr(en.GetDueTime()); t != nil {
			if !t.After(now) {
				return nil, apierr.InvalidField("enrollment.due_time", "must be in the future")
			}
			due = *t
		}
		st, err := lockTrainee(ctx, tx, staffID, req.GetParent())
		if err != nil {
			return nil, err
		}
		course, err := loadCourse(tx, "enrollment.course", en.GetCourse())
		if err != nil {
			return nil, err
		}
		open, err := openEnrollment(tx, st.ID, course.ID)
		if err != nil {
			return nil, err
		}
		if open != nil {
			return nil, apierr.Newf(codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS,
				"%s is already enrolled in %s: %s", req.GetParent(), en.GetCourse(), enrollmentName(st.ID, open.ID))
		}
		row := &store.Enrollment{
			ID: ids.New(), StaffID: st.ID, CourseID: course.ID, State: int32(aftersalesv1.Enrollment_ENROLLED),
			Reason: int32(aftersalesv1.Enrollment_ASSIGNED), DueTime: due, EnrolledBy: caller.String(),
			CreateTime: now, UpdateTime: now, Version: 1,
		}
		return s.createEnrollment(ctx, tx, row)
	})
}

// openEnrollment returns the staff member's ENROLLED enrolment in the
// course, or nil.
func openEnrollment(tx *gorm.DB, staffID, courseID string) (*store.Enrollment, error) {
	var rows []store.Enrollment
	if err := tx.Where("staff_id = ? AND course_id = ? AND state = ?", staffID, courseID, int32(aftersalesv1.Enrollment_ENROLLED)).
		Limit(1).Find(&rows).Error; err != nil {
		return nil, store.Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return &rows[0], nil
}

// createEnrollment stores and audits a new enrolment.
func (b *base) createEnrollment(ctx context.Context, tx *gorm.DB, row *store.Enrollment) (*aftersalesv1.Enrollment, error) {
	if err := store.Translate(tx.Create(row).Error); err != nil {
		return nil, err
	}
	out := enrollmentProto(row)
	return out, b.audit(ctx, tx, out.GetName(), nil, out)
}

// completeEnrollment marks an ENROLLED enrolment COMPLETED at now,
// naming the assessment that completed it, if any.
func (b *base) completeEnrollment(ctx context.Context, tx *gorm.DB, row *store.Enrollment, now time.Time, assessmentID string) (*aftersalesv1.Enrollment, error) {
	before := enrollmentProto(row)
	row.State = int32(aftersalesv1.Enrollment_COMPLETED)
	row.CompleteTime = &now
	if assessmentID != "" {
		row.AssessmentID = assessmentID
	}
	row.Touch(now)
	if err := store.Translate(tx.Save(row).Error); err != nil {
		return nil, err
	}
	out := enrollmentProto(row)
	return out, b.audit(ctx, tx, out.GetName(), before, out)
}

func (s *trainingServer) ListEnrollments(ctx context.Context, req *aftersalesv1.ListEnrollmentsRequest) (*aftersalesv1.ListEnrollmentsResponse, error) {
	q, err := s.trainingRecords(ctx, req.GetParent(), &store.Enrollment{})
	if err != nil {
		return nil, err
	}
	rows, next, err := list[store.Enrollment](q, enrollmentList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListEnrollmentsResponse{NextPageToken: next}
	for i := range rows {
		resp.Enrollments = append(resp.Enrollments, enrollmentProto(&rows[i]))
	}
	return resp, nil
}

// trainingRecords is the query of a List of model under parent,
// "staff/{id}" or "staff/-", within the caller's scope. A parent out of
// scope is NOT_FOUND, as one that does not exist.
func (s *trainingServer) trainingRecords(ctx context.Context, parent string, model any) (*gorm.DB, error) {
	staffID, err := traineeParent(parent, true)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	db := s.db.Gorm(ctx)
	q := trainingRecordScope(db.Model(model), caller)
	if staffID != resname.Wildcard {
		if ok, err := exists(traineeScope(db, caller), &store.Staff{}, staffID); err != nil || !ok {
			return nil, s.toStatus(ctx, orErr(err, notFound(parent)))
		}
		q = q.Where("staff_id = ?", staffID)
	}
	return q, nil
}

func (s *trainingServer) CompleteEnrollment(ctx context.Context, req *aftersalesv1.CompleteEnrollmentRequest) (*aftersalesv1.Enrollment, error) {
	parts, ok := resname.Parse(req.GetName(), resname.Staff, resname.Enrollments)
	if !ok {
		return nil, apierr.InvalidField("name", "must be a resource name of the form staff/{staff}/enrollments/{enrollment}")
	}
	return mutate(ctx, s.base, aftersalesv1.TrainingService_CompleteEnrollment_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Enrollment, error) {
		if _, err := lockTrainee(ctx, tx, parts[0], req.GetName()); err != nil {
			return nil, err
		}
		var row store.Enrollment
		if err := lockRow(tx.Where("staff_id = ?", parts[0]), &row, parts[1]); isNotFound(err) {
			return nil, notFound(req.GetName())
		} else if err != nil {
			return nil, err
		}
		if row.State != int32(aftersalesv1.Enrollment_ENROLLED) {
			state := aftersalesv1.Enrollment_State(row.State)
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", req.GetName(),
				"enrollment is "+state.String()+"; complete is allowed from ENROLLED")
		}
		return s.completeEnrollment(ctx, tx, &row, s.now(), "")
	})
}

func (s *trainingServer) RecordAssessment(ctx context.Context, req *aftersalesv1.RecordAssessmentRequest) (*aftersalesv1.Assessment, error) {
	staffID, err := traineeParent(req.GetParent(), false)
	if err != nil {
		return nil, err
	}
	a := req.GetAssessment()
	if _, err := parseName("assessment.course", a.GetCourse(), resname.Courses); err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	return mutate(ctx, s.base, aftersalesv1.TrainingService_RecordAssessment_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Assessment, error) {
		st, err := lockTrainee(ctx, tx, staffID, req.GetParent())
		if err != nil {
			return nil, err
		}
		course, err := loadCourse(tx, "assessment.course", a.GetCourse())
		if err != nil {
			return nil, err
		}
		now := s.now()
		scores := scoresOf(a.GetScores())
		row := &store.Assessment{
			ID: ids.New(), StaffID: st.ID, CourseID: course.ID,
			ScoreAttitude: scores.Attitude, ScoreEfficiency: scores.Efficiency, ScoreQuality: scores.Quality, ScoreKnowledge: scores.Knowledge,
			TotalCenti: qualify.TotalCenti(scores, courseWeights(course)), PassingScore: course.PassingScore,
			Assessor: caller.String(), Note: a.GetNote(), CreateTime: now,
		}
		row.Passed = qualify.Passes(row.TotalCenti, course.PassingScore)
		if row.Passed && course.ValiditySeconds > 0 {
			until := now.Add(time.Duration(course.ValiditySeconds) * time.Second)
			row.ValidUntil = &until
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		out := assessmentProto(row)
		if err := s.audit(ctx, tx, out.GetName(), nil, out); err != nil {
			return nil, err
		}
		if err := s.followAssessment(ctx, tx, st, course, row, now); err != nil {
			return nil, err
		}
		if err := s.requalify(ctx, tx, st, now, row.ID); err != nil {
			return nil, err
		}
		return out, nil
	})
}

// followAssessment does what an assessment entails for enrolments: a
// pass completes the open enrolment in the course; a failure in a course
// required for the person's role enrols them in retraining, due after
// the retraining period, unless they are enrolled already.
func (s *trainingServer) followAssessment(ctx context.Context, tx *gorm.DB, st *store.Staff, course *store.Course, a *store.Assessment, now time.Time) error {
	open, err := openEnrollment(tx, st.ID, course.ID)
	if err != nil {
		return err
	}
	switch {
	case a.Passed && open != nil:
		_, err = s.completeEnrollment(ctx, tx, open, now, a.ID)
	case !a.Passed && open == nil && strings.Contains(course.RequiredRoles, roleToken(st.Role)):
		_, err = s.createEnrollment(ctx, tx, &store.Enrollment{
			ID: ids.New(), StaffID: st.ID, CourseID: course.ID, State: int32(aftersalesv1.Enrollment_ENROLLED),
			Reason: int32(aftersalesv1.Enrollment_RETRAINING), DueTime: now.Add(s.rules.RetrainingPeriod), AssessmentID: a.ID,
			EnrolledBy: "system", CreateTime: now, UpdateTime: now, Version: 1,
		})
	}
	return err
}

func (s *trainingServer) ListAssessments(ctx context.Context, req *aftersalesv1.ListAssessmentsRequest) (*aftersalesv1.ListAssessmentsResponse, error) {
	q, err := s.trainingRecords(ctx, req.GetParent(), &store.Assessment{})
	if err != nil {
		return nil, err
	}
	rows, next, err := list[store.Assessment](q, assessmentList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListAssessmentsResponse{NextPageToken: next}
	for i := range rows {
		resp.Assessments = append(resp.Assessments, assessmentProto(&rows[i]))
	}
	return resp, nil
}
