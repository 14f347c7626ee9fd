package service

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/store"
)

// The complaints desk (--complaint-desk) is where a complaint goes when
// escalation finds nobody above it: no handler, no staff member who
// received it and no owner of its ticket, or none of them with a manager.
// Without it such a complaint would climb levels with nobody told.

// deskFlag names the setting in messages to operators.
const deskFlag = "--complaint-desk (AFTERSALES_COMPLAINT_DESK)"

// deskMembers limits q to the desk's members: the active staff of the
// company (partner-shop technicians do not answer for the company's
// complaints) that desk names, "staff/{id}" or a team, or, when desk is
// empty, the active managers.
func deskMembers(q *gorm.DB, desk string) *gorm.DB {
	q = q.Model(&store.Staff{}).Where("active = ? AND partner_id = ?", true, "")
	if id, ok := resname.ID(desk, resname.Staff); ok {
		return q.Where("id = ?", id)
	}
	if desk != "" {
		return q.Where("team = ?", desk)
	}
	return q.Where("role = ?", int32(aftersalesv1.Staff_MANAGER))
}

// deskTarget returns the id of the desk member a complaint escalated from
// below (a staff id, "" for nobody) goes to: the one with the fewest open
// complaints escalated to them (complaintflow.FromDesk); "" when the desk
// has no active member.
func (b *base) deskTarget(ctx context.Context, tx *gorm.DB, below string) (string, error) {
	var ids []string
	if err := deskMembers(tx, b.rules.ComplaintDesk).Pluck("id", &ids).Error; err != nil {
		return "", store.Translate(err)
	}
	if len(ids) == 0 {
		// Only possible when the desk lost its last member since the
		// start-up check, or before any staff existed: say so where the
		// operator looks.
		b.log.WarnContext(ctx, "complaint escalated to nobody: the complaints desk has no active member",
			"complaint_desk", deskName(b.rules.ComplaintDesk), "setting", deskFlag)
		return "", nil
	}
	var loads []struct {
		EscalatedToID string
		N             int
	}
	if err := tx.Model(&store.Complaint{}).Select("escalated_to_id, COUNT(*) AS n").
		Where("escalated_to_id IN ? AND state NOT IN ?", ids, []int32{int32(complaintflow.Resolved), int32(complaintflow.Closed)}).
		Group("escalated_to_id").Scan(&loads).Error; err != nil {
		return "", store.Translate(err)
	}
	open := make(map[string]int, len(loads))
	for _, l := range loads {
		open[l.EscalatedToID] = l.N
	}
	members := make([]complaintflow.DeskMember, len(ids))
	for i, id := range ids {
		members[i] = complaintflow.DeskMember{Staff: id, Open: open[id]}
	}
	return complaintflow.FromDesk(members, below), nil
}

// deskName says in words who the desk is.
func deskName(desk string) string {
	switch {
	case desk == "":
		return "the active managers"
	case strings.HasPrefix(desk, resname.Staff+"/"):
		return desk
	}
	return "team " + desk
}

// CheckComplaintDesk reports, for the operator starting the server, a
// complaints desk without an active member while the company has staff:
// complaints nobody answers for would then be escalated to nobody. A
// database without staff (a first start) passes, since nobody could be
// on any desk yet; the API that creates the staff must be reachable.
func (s *Services) CheckComplaintDesk(ctx context.Context) error {
	desk := s.deps.Rules.ComplaintDesk
	db := s.deps.DB.Gorm(ctx)
	var staff int64
	if err := db.Model(&store.Staff{}).Where("active = ? AND partner_id = ?", true, "").Count(&staff).Error; err != nil {
		return fmt.Errorf("check the complaints desk: %w", store.Translate(err))
	}
	if staff == 0 {
		s.deps.Logger.InfoContext(ctx, "no staff yet: the complaints desk is checked at the next start", "complaint_desk", deskName(desk))
		return nil
	}
	var members int64
	if err := deskMembers(db, desk).Count(&members).Error; err != nil {
		return fmt.Errorf("check the complaints desk: %w", store.Translate(err))
	}
	if members > 0 {
		return nil
	}
	var why string
	switch id, ok := resname.ID(desk, resname.Staff); {
	case desk == "":
		why = deskFlag + " is empty, which means the active managers (role MANAGER), and there are none"
	case ok:
		var st store.Staff
		err := store.Translate(db.Where("id = ?", id).Take(&st).Error)
		switch {
		case isNotFound(err):
			why = fmt.Sprintf("%s is %q: no such staff member", deskFlag, desk)
		case err != nil:
			return fmt.Errorf("check the complaints desk: %w", err)
		case !st.Active:
			why = fmt.Sprintf("%s is %q, who is not active", deskFlag, desk)
		default:
			why = fmt.Sprintf("%s is %q, a partner shop's technician, who does not answer for the company's complaints", deskFlag, desk)
		}
	default:
		why = fmt.Sprintf("%s is team %q, which has no active staff member of the company", deskFlag, desk)
	}
	options, err := deskOptions(db)
	if err != nil {
		return err
	}
	fix := fmt.Sprintf("Set it to a team (%s) or to staff/{id} of an active staff member (managers: %s)", options.teams, options.managers)
	if desk != "" {
		fix += ", or leave it empty for the active managers"
	}
	return fmt.Errorf("complaints desk: %s; complaints whose handler, receiver and ticket owner have no manager would be escalated to nobody. %s",
		why, fix)
}

// deskChoices lists what could be a desk, for the start-up error.
type deskChoices struct{ teams, managers string }

// deskOptions lists the teams with active company staff and the active
// managers, at most ten of each.
func deskOptions(db *gorm.DB) (deskChoices, error) {
	const most = 10
	var teams []struct {
		Team string
		N    int
	}
	if err := db.Model(&store.Staff{}).Select("team, COUNT(*) AS n").Where("active = ? AND partner_id = ? AND team <> ?", true, "", "").
		Group("team").Order("team").Limit(most + 1).Scan(&teams).Error; err != nil {
		return deskChoices{}, fmt.Errorf("check the complaints desk: %w", store.Translate(err))
	}
	var managers []store.Staff
	if err := deskMembers(db, "").Select("id", "display_name").Order("id").Limit(most + 1).Find(&managers).Error; err != nil {
		return deskChoices{}, fmt.Errorf("check the complaints desk: %w", store.Translate(err))
	}
	var t, m []string
	for _, x := range teams {
		t = append(t, fmt.Sprintf("%q: %d active", x.Team, x.N))
	}
	for _, x := range managers {
		m = append(m, fmt.Sprintf("%s %q", resname.Format(resname.Staff, x.ID), x.DisplayName))
	}
	return deskChoices{teams: listOrNone(t, most), managers: listOrNone(m, most)}, nil
}

// listOrNone joins at most most items, saying when there are more or
// none.
func listOrNone(items []string, most int) string {
	switch {
	case len(items) == 0:
		return "none exist"
	case len(items) > most:
		return strings.Join(items[:most], ", ") + ", …"
	}
	return strings.Join(items, ", ")
}
