package service

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/qualify"
	"github.com/aftersales/aftersales/server/internal/store"
)

// marshalRoles stores required roles as ",3,4," (sorted, without
// duplicates) so that "required for role r" is a LIKE on any engine;
// none is "".
func marshalRoles(roles []aftersalesv1.Staff_Role) string {
	var nums []int
	for _, r := range roles {
		nums = append(nums, int(r))
	}
	slices.Sort(nums)
	nums = slices.Compact(nums)
	if len(nums) == 0 {
		return ""
	}
	var b strings.Builder
	for _, n := range nums {
		b.WriteString("," + strconv.Itoa(n))
	}
	return b.String() + ","
}

// unmarshalRoles reads what marshalRoles stored.
func unmarshalRoles(s string) []aftersalesv1.Staff_Role {
	var out []aftersalesv1.Staff_Role
	for _, f := range strings.Split(strings.Trim(s, ","), ",") {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, aftersalesv1.Staff_Role(n))
		}
	}
	return out
}

// roleNumbers are the role numbers stored in required_roles.
func roleNumbers(s string) []int32 {
	var out []int32
	for _, r := range unmarshalRoles(s) {
		out = append(out, int32(r))
	}
	return out
}

func courseWeights(c *store.Course) qualify.Dimensions {
	return qualify.Dimensions{Attitude: c.WeightAttitude, Efficiency: c.WeightEfficiency, Quality: c.WeightQuality, Knowledge: c.WeightKnowledge}
}

func setCourseWeights(c *store.Course, w qualify.Dimensions) {
	c.WeightAttitude, c.WeightEfficiency, c.WeightQuality, c.WeightKnowledge = w.Attitude, w.Efficiency, w.Quality, w.Knowledge
}

// weightsOf reads requested weights; unset means equal weights.
func weightsOf(w *aftersalesv1.DimensionWeights) qualify.Dimensions {
	if w == nil {
		return qualify.DefaultWeights
	}
	return qualify.Dimensions{Attitude: w.GetAttitude(), Efficiency: w.GetEfficiency(), Quality: w.GetQuality(), Knowledge: w.GetKnowledge()}
}

func scoresOf(s *aftersalesv1.DimensionScores) qualify.Dimensions {
	return qualify.Dimensions{Attitude: s.GetAttitude(), Efficiency: s.GetEfficiency(), Quality: s.GetQuality(), Knowledge: s.GetKnowledge()}
}

func courseProto(row *store.Course) *aftersalesv1.Course {
	name := resname.Format(resname.Courses, row.ID)
	c := &aftersalesv1.Course{
		Name:          name,
		DisplayName:   row.DisplayName,
		Description:   row.Description,
		Category:      aftersalesv1.Course_Category(row.Category),
		RequiredRoles: unmarshalRoles(row.RequiredRoles),
		PassingScore:  row.PassingScore,
		Weights: &aftersalesv1.DimensionWeights{
			Attitude: row.WeightAttitude, Efficiency: row.WeightEfficiency, Quality: row.WeightQuality, Knowledge: row.WeightKnowledge,
		},
		CreateTime: ts(row.CreateTime),
		UpdateTime: ts(row.UpdateTime),
		Etag:       etag.Of(name, row.Version),
	}
	if row.ValiditySeconds > 0 {
		c.Validity = durationpb.New(time.Duration(row.ValiditySeconds) * time.Second)
	}
	return c
}

func enrollmentName(staffID, id string) string {
	return resname.Format(resname.Staff, staffID, resname.Enrollments, id)
}

// refAssessment names an assessment of a staff member, "" for none.
func refAssessment(staffID, id string) string {
	if id == "" {
		return ""
	}
	return resname.Format(resname.Staff, staffID, resname.Assessments, id)
}

func enrollmentProto(row *store.Enrollment) *aftersalesv1.Enrollment {
	return &aftersalesv1.Enrollment{
		Name:         enrollmentName(row.StaffID, row.ID),
		Course:       resname.Format(resname.Courses, row.CourseID),
		State:        aftersalesv1.Enrollment_State(row.State),
		Reason:       aftersalesv1.Enrollment_Reason(row.Reason),
		DueTime:      ts(row.DueTime),
		Assessment:   refAssessment(row.StaffID, row.AssessmentID),
		CompleteTime: tsPtr(row.CompleteTime),
		EnrolledBy:   row.EnrolledBy,
		CreateTime:   ts(row.CreateTime),
	}
}

func assessmentProto(row *store.Assessment) *aftersalesv1.Assessment {
	return &aftersalesv1.Assessment{
		Name:   refAssessment(row.StaffID, row.ID),
		Course: resname.Format(resname.Courses, row.CourseID),
		Scores: &aftersalesv1.DimensionScores{
			Attitude: row.ScoreAttitude, Efficiency: row.ScoreEfficiency, Quality: row.ScoreQuality, Knowledge: row.ScoreKnowledge,
		},
		Total:        qualify.Total(row.TotalCenti),
		Passed:       row.Passed,
		PassingScore: row.PassingScore,
		Assessor:     row.Assessor,
		Note:         row.Note,
		ValidUntil:   tsPtr(row.ValidUntil),
		CreateTime:   ts(row.CreateTime),
	}
}
