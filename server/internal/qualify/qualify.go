// Package qualify holds the training rules as pure functions (API.md §4,
// 培训与考核): how an assessment is scored against a course's weights and
// passing score, and how a staff member's qualification follows from the
// latest assessment of each course required for their role. Handlers
// consult it; it knows nothing of transport or storage.
package qualify

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
)

// State is a staff member's qualification state.
type State = aftersalesv1.Qualification_State

// Standing is where a staff member stands in one required course.
type Standing = aftersalesv1.Qualification_CourseStatus_Standing

// The states and standings, short names for readability.
const (
	Trainee   = aftersalesv1.Qualification_TRAINEE
	Qualified = aftersalesv1.Qualification_QUALIFIED
	Suspended = aftersalesv1.Qualification_SUSPENDED

	Passed  = aftersalesv1.Qualification_CourseStatus_PASSED
	Failed  = aftersalesv1.Qualification_CourseStatus_FAILED
	Missing = aftersalesv1.Qualification_CourseStatus_MISSING
	Expired = aftersalesv1.Qualification_CourseStatus_EXPIRED
)

// Dimensions are the four assessment dimensions, as scores (0–100) or as
// weights (percent, adding up to 100).
type Dimensions struct {
	Attitude, Efficiency, Quality, Knowledge int32
}

// DefaultWeights weigh every dimension the same.
var DefaultWeights = Dimensions{25, 25, 25, 25}

// CheckWeights returns why w cannot weigh a total, or "" when it can:
// the weights must add up to 100.
func CheckWeights(w Dimensions) string {
	if sum := w.Attitude + w.Efficiency + w.Quality + w.Knowledge; sum != 100 {
		return "must add up to 100, got " + strconv.Itoa(int(sum))
	}
	return ""
}

// TotalCenti is the weighted total of scores times 100: Σ score×weight,
// with weights in percent. Kept as an integer so that the pass threshold
// compares exactly on every engine and platform.
func TotalCenti(scores, weights Dimensions) int64 {
	return int64(scores.Attitude)*int64(weights.Attitude) +
		int64(scores.Efficiency)*int64(weights.Efficiency) +
		int64(scores.Quality)*int64(weights.Quality) +
		int64(scores.Knowledge)*int64(weights.Knowledge)
}

// Passes reports whether a total passes a course's passing score: the
// threshold itself passes.
func Passes(totalCenti int64, passingScore int32) bool {
	return totalCenti >= int64(passingScore)*100
}

// Total is a TotalCenti as the API shows it: the weighted total, 0–100,
// with two decimals.
func Total(totalCenti int64) float64 { return float64(totalCenti) / 100 }

// FormatTotal writes a TotalCenti without trailing zeros: "82.5", "70".
func FormatTotal(totalCenti int64) string {
	s := fmt.Sprintf("%d.%02d", totalCenti/100, totalCenti%100)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// Result is what one assessment says about a course.
type Result struct {
	// AssessmentID identifies the assessment.
	AssessmentID string
	// TotalCenti is its weighted total times 100.
	TotalCenti int64
	// Passed and PassingScore are as recorded: an assessment keeps the
	// outcome and threshold of its time.
	Passed       bool
	PassingScore int32
	// ValidUntil is when a pass stops counting; nil when it never does.
	ValidUntil *time.Time
}

// CourseStatus is where a person stands in one required course.
type CourseStatus struct {
	CourseID string
	Standing Standing
	// Result is the latest assessment of the course, nil if none.
	Result *Result
	// Reason says why, in words.
	Reason string
}

// Outcome is a person's qualification.
type Outcome struct {
	State State
	// ExpireTime is when a QUALIFIED state ends by itself: the earliest
	// expiry of the passes it rests on; nil when nothing expires or the
	// state is another.
	ExpireTime *time.Time
	// Courses are the required courses, in the order given.
	Courses []CourseStatus
}

// Evaluate works out a qualification at now from the courses required for
// the person's role and the latest assessment of each (absent when never
// assessed). All passed and valid → QUALIFIED (also when nothing is
// required); any failed → SUSPENDED; otherwise (never assessed, or a pass
// that expired) → TRAINEE.
func Evaluate(required []string, latest map[string]Result, now time.Time) Outcome {
	out := Outcome{State: Qualified}
	failed, passedAll := false, true
	for _, id := range required {
		cs := status(id, latest, now)
		out.Courses = append(out.Courses, cs)
		switch cs.Standing {
		case Failed:
			failed = true
			passedAll = false
		case Passed:
			if vu := cs.Result.ValidUntil; vu != nil && (out.ExpireTime == nil || vu.Before(*out.ExpireTime)) {
				out.ExpireTime = vu
			}
		default:
			passedAll = false
		}
	}
	switch {
	case failed:
		out.State = Suspended
	case !passedAll:
		out.State = Trainee
	}
	if out.State != Qualified {
		out.ExpireTime = nil
	}
	return out
}

func status(courseID string, latest map[string]Result, now time.Time) CourseStatus {
	r, ok := latest[courseID]
	if !ok {
		return CourseStatus{CourseID: courseID, Standing: Missing, Reason: "never assessed"}
	}
	cs := CourseStatus{CourseID: courseID, Result: &r}
	total, pass := FormatTotal(r.TotalCenti), strconv.Itoa(int(r.PassingScore))
	switch {
	case !r.Passed:
		cs.Standing, cs.Reason = Failed, "failed with "+total+" < "+pass
	case r.ValidUntil != nil && !r.ValidUntil.After(now):
		cs.Standing = Expired
		cs.Reason = "passed with " + total + " ≥ " + pass + "; expired at " + r.ValidUntil.UTC().Format(time.RFC3339)
	default:
		cs.Standing, cs.Reason = Passed, "passed with "+total+" ≥ "+pass
	}
	return cs
}

// Summary says in words why the outcome is what it is, for the history:
// the courses that are not passed, or that all are.
func (o Outcome) Summary() string {
	var parts []string
	for _, c := range o.Courses {
		if c.Standing != Passed {
			parts = append(parts, resname.Format(resname.Courses, c.CourseID)+": "+c.Reason)
		}
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case len(o.Courses) == 0:
		return "no course is required for the role"
	}
	return "passed every required course"
}
