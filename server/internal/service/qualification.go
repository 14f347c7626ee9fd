package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/qualify"
	"github.com/aftersales/aftersales/server/internal/store"
)

// Qualification (只有考核合格才能上岗): the state stored on the staff row
// is what lists filter on; it is recomputed, in the transaction of its
// cause, whenever an assessment is recorded, a course's requirements
// change, a person's role changes, or (by the expiry loop) a pass
// expires. The gate never trusts it: it recomputes at the time of the
// assignment, so an expiry the loop has not processed yet already blocks.

// qualificationLease is the lease of the certification-expiry loop.
const qualificationLease = "qualification-expiry"

// qualificationBatch bounds one pass of the expiry loop.
const qualificationBatch = 200

// historySize is how many changes GetQualification shows.
const historySize = 50

// qualificationSuffix ends the name of a staff member's qualification.
const qualificationSuffix = "/qualification"

// eligibleStaff decides whether st may be given work: a ticket, a
// complaint to handle or a follow-up to perform. It is the one gate every
// assignment passes: the person must be active and QUALIFIED at now.
func eligibleStaff(tx *gorm.DB, st *store.Staff, now time.Time) error {
	name := resname.Format(resname.Staff, st.ID)
	if !st.Active {
		return apierr.Precondition(aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE, "STAFF", name, "staff member is not active")
	}
	out, err := evaluate(tx, st, now)
	if err != nil || out.State == qualify.Qualified {
		return err
	}
	pf := &errdetails.PreconditionFailure{}
	for _, c := range out.Courses {
		if c.Standing != qualify.Passed {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{
				Type: "COURSE", Subject: resname.Format(resname.Courses, c.CourseID), Description: c.Reason,
			})
		}
	}
	msg := fmt.Sprintf("%s is %s, not QUALIFIED: %s", name, out.State, out.Summary())
	return apierr.New(codes.FailedPrecondition, aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED, msg, pf)
}

// eligiblePartner decides whether a partner shop may be dispatched work:
// it must be active and have at least one active technician who is
// QUALIFIED at now.
func eligiblePartner(tx *gorm.DB, p *store.Partner, now time.Time) error {
	name := resname.Format(resname.Partners, p.ID)
	if !p.Active {
		return apierr.Precondition(aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE, "PARTNER", name, "partner is not active")
	}
	var techs []store.Staff
	if err := tx.Where("partner_id = ? AND active = ? AND role = ?", p.ID, true, int32(aftersalesv1.Staff_TECHNICIAN)).
		Order("create_time").Order("id").Find(&techs).Error; err != nil {
		return store.Translate(err)
	}
	for i := range techs {
		out, err := evaluate(tx, &techs[i], now)
		if err != nil {
			return err
		}
		if out.State == qualify.Qualified {
			return nil
		}
	}
	return apierr.Precondition(aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED, "PARTNER", name,
		"the shop has no qualified technician; its technicians must pass their required courses first")
}

// evaluate works out st's qualification at now from the assessments:
// the latest assessment of each course required for st's role.
func evaluate(tx *gorm.DB, st *store.Staff, now time.Time) (qualify.Outcome, error) {
	var courses []store.Course
	if err := tx.Where("required_roles LIKE ?", "%"+roleToken(st.Role)+"%").
		Order("create_time").Order("id").Find(&courses).Error; err != nil {
		return qualify.Outcome{}, store.Translate(err)
	}
	required := make([]string, len(courses))
	latest := map[string]qualify.Result{}
	for i, c := range courses {
		required[i] = c.ID
		var a []store.Assessment
		if err := tx.Where("staff_id = ? AND course_id = ?", st.ID, c.ID).
			Order("create_time DESC").Order("id DESC").Limit(1).Find(&a).Error; err != nil {
			return qualify.Outcome{}, store.Translate(err)
		}
		if len(a) == 1 {
			latest[c.ID] = resultOf(&a[0])
		}
	}
	return qualify.Evaluate(required, latest, now), nil
}

// resultOf is what an assessment row says about its course.
func resultOf(a *store.Assessment) qualify.Result {
	return qualify.Result{AssessmentID: a.ID, TotalCenti: a.TotalCenti, Passed: a.Passed, PassingScore: a.PassingScore, ValidUntil: a.ValidUntil}
}

// applyQualification sets out on st and, when the state changes, records
// the change in st's history, naming the assessment that caused it, if
// any. The caller touches and saves st. It reports whether anything
// stored on st changed.
func applyQualification(tx *gorm.DB, st *store.Staff, out qualify.Outcome, now time.Time, assessmentID string) (stateChanged, changed bool, err error) {
	from := qualify.State(st.QualificationState)
	changed = !sameTime(st.QualificationExpireTime, out.ExpireTime)
	st.QualificationExpireTime = out.ExpireTime
	if from == out.State {
		return false, changed, nil
	}
	st.QualificationState = int32(out.State)
	err = store.Translate(tx.Create(&store.QualificationChange{
		ID: ids.New(), StaffID: st.ID, FromState: int32(from), ToState: int32(out.State),
		Reason: out.Summary(), AssessmentID: assessmentID, CreateTime: now,
	}).Error)
	return true, true, err
}

// requalify recomputes the qualification of st, read or locked in tx,
// and saves it; a change of state is recorded in the history and the
// audit trail.
func (b *base) requalify(ctx context.Context, tx *gorm.DB, st *store.Staff, now time.Time, assessmentID string) error {
	out, err := evaluate(tx, st, now)
	if err != nil {
		return err
	}
	before := staffProto(st)
	stateChanged, changed, err := applyQualification(tx, st, out, now, assessmentID)
	if err != nil || !changed {
		return err
	}
	if stateChanged {
		st.Touch(now)
	}
	if err := store.Translate(tx.Save(st).Error); err != nil {
		return err
	}
	return b.audit(ctx, tx, resname.Format(resname.Staff, st.ID), before, staffProto(st))
}

// requalifyRoles recomputes everyone whose role is among roles, after a
// change of the courses required for them.
func (b *base) requalifyRoles(ctx context.Context, tx *gorm.DB, roles []int32, now time.Time) error {
	if len(roles) == 0 {
		return nil
	}
	var staffIDs []string
	if err := tx.Model(&store.Staff{}).Where("role IN ?", roles).Order("id").Pluck("id", &staffIDs).Error; err != nil {
		return store.Translate(err)
	}
	for _, id := range staffIDs {
		var st store.Staff
		if err := lockRow(tx, &st, id); err != nil {
			return err
		}
		if err := b.requalify(ctx, tx, &st, now, ""); err != nil {
			return err
		}
	}
	return nil
}

// CheckQualifications recomputes the staff whose qualification expired
// by now (a pass it rested on lapsed); it returns how many changed.
func (b *base) CheckQualifications(ctx context.Context) (int, error) {
	now := b.now()
	var staffIDs []string
	if err := b.db.Gorm(ctx).Model(&store.Staff{}).Where("qualification_expire_time <= ?", now).
		Order("qualification_expire_time").Limit(qualificationBatch).Pluck("id", &staffIDs).Error; err != nil {
		return 0, store.Translate(err)
	}
	ctx = principal.NewContext(ctx, principal.NewSystem("qualification"))
	changed := 0
	for _, id := range staffIDs {
		did := false
		err := b.db.InTx(ctx, func(tx *gorm.DB) error {
			did = false // InTx may rerun this
			var st store.Staff
			if err := lockRow(tx, &st, id); err != nil {
				return err
			}
			// Re-checked under the lock: an assessment may have renewed it.
			if st.QualificationExpireTime == nil || st.QualificationExpireTime.After(now) {
				return nil
			}
			if err := b.requalify(ctx, tx, &st, now, ""); err != nil {
				return err
			}
			did = true
			return nil
		})
		if err != nil {
			return changed, err
		}
		if did {
			changed++
		}
	}
	return changed, nil
}

func (s *staffServer) GetQualification(ctx context.Context, req *aftersalesv1.GetQualificationRequest) (*aftersalesv1.Qualification, error) {
	staffName, ok := strings.CutSuffix(req.GetName(), qualificationSuffix)
	id, err := parseName("name", staffName, resname.Staff)
	if !ok || err != nil || id == resname.Wildcard {
		return nil, apierr.InvalidField("name", "must be a resource name of the form staff/{id}/qualification")
	}
	db := s.db.Gorm(ctx)
	st, err := getRow[store.Staff](ctx, s.base, traineeScope(db, principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	now := s.now()
	out, err := evaluate(db, st, now)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var changes []store.QualificationChange
	if err := db.Where("staff_id = ?", id).Order("create_time DESC").Order("id DESC").Limit(historySize).Find(&changes).Error; err != nil {
		return nil, s.toStatus(ctx, store.Translate(err))
	}
	return qualificationProto(req.GetName(), id, out, changes), nil
}

func qualificationProto(name, staffID string, out qualify.Outcome, changes []store.QualificationChange) *aftersalesv1.Qualification {
	q := &aftersalesv1.Qualification{Name: name, State: out.State, ExpireTime: tsPtr(out.ExpireTime)}
	for _, c := range out.Courses {
		cs := &aftersalesv1.Qualification_CourseStatus{
			Course: resname.Format(resname.Courses, c.CourseID), Standing: c.Standing, Reason: c.Reason,
		}
		if c.Result != nil {
			cs.Assessment = refAssessment(staffID, c.Result.AssessmentID)
			cs.ValidUntil = tsPtr(c.Result.ValidUntil)
		}
		q.Courses = append(q.Courses, cs)
	}
	for i := range changes {
		c := &changes[i]
		q.History = append(q.History, &aftersalesv1.Qualification_Change{
			FromState: qualify.State(c.FromState), ToState: qualify.State(c.ToState), Reason: c.Reason,
			Assessment: refAssessment(c.StaffID, c.AssessmentID), ChangeTime: ts(c.CreateTime),
		})
	}
	return q
}

// roleToken is how a role appears in courses.required_roles (",3,4,").
func roleToken(role int32) string { return fmt.Sprintf(",%d,", role) }

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
