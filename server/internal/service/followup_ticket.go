package service

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/followupflow"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// This file is where follow-ups and tickets meet: the follow-up a
// resolution schedules, who may perform it, and what its answers do to
// the ticket. Everything runs inside the caller's transaction.

// scheduleFollowUp schedules the follow-up of a ticket being resolved at
// now and returns its name. An automatic follow-up still waiting from an
// earlier resolution is cancelled: it would ask about work since redone.
func (b *base) scheduleFollowUp(ctx context.Context, tx *gorm.DB, tk *store.Ticket, now time.Time) (string, error) {
	if err := b.cancelAutomaticFollowUps(ctx, tx, tk.ID, "the ticket was resolved again", now); err != nil {
		return "", err
	}
	start := now.Add(b.rules.FollowUpDelay)
	row := &store.FollowUp{
		ID: ids.New(), TicketID: tk.ID, CustomerID: tk.CustomerID,
		Origin: int32(aftersalesv1.FollowUp_AUTOMATIC), Method: int32(aftersalesv1.FollowUp_PHONE),
		State: int32(followupflow.Scheduled), ScheduledTime: start, DueTime: start.Add(b.rules.FollowUpWindow),
		Attempts: "[]", CreateTime: now, UpdateTime: now, Version: 1,
	}
	// The resolution's event is written after this, so its actor, the
	// caller, is the resolver.
	w, err := resolutionWork(tx, tk, principal.FromContext(ctx).String())
	if err != nil {
		return "", err
	}
	if row.AssigneeID, err = pickFollowUpAssignee(tx, w, now); err != nil {
		return "", err
	}
	if row.AssigneeID == "" {
		// Not an error: the follow-up waits in the queue (ListFollowUps
		// `assignee = ""`) and announces itself as followup.due.
		b.log.WarnContext(ctx, "automatic follow-up left unassigned: no active qualified agent independent of the work",
			"follow_up", resname.Format(resname.FollowUps, row.ID), "ticket", resname.Format(resname.Tickets, tk.ID))
	}
	if err := store.Translate(tx.Create(row).Error); err != nil {
		return "", err
	}
	out := followUpProto(row, now)
	return out.GetName(), b.audit(ctx, tx, out.GetName(), nil, out)
}

// pickFollowUpAssignee chooses who performs an automatic follow-up of
// work w: the least-loaded active AGENT of the company (the call center
// makes the follow-up calls) who is QUALIFIED and independent of the
// work (followupflow.Assignees); "" when there is nobody. The stored
// qualification state narrows the candidates cheaply; the gate
// (eligibleStaff) still decides, at now, for the one chosen.
func pickFollowUpAssignee(tx *gorm.DB, w followupflow.Work, now time.Time) (string, error) {
	var agents []store.Staff
	if err := tx.Where("role = ? AND active = ? AND partner_id = ? AND qualification_state = ?",
		int32(aftersalesv1.Staff_AGENT), true, "", int32(aftersalesv1.Qualification_QUALIFIED)).Find(&agents).Error; err != nil {
		return "", store.Translate(err)
	}
	if len(agents) == 0 {
		return "", nil
	}
	byName := make(map[string]*store.Staff, len(agents))
	staffIDs := make([]string, len(agents))
	for i := range agents {
		staffIDs[i] = agents[i].ID
		byName[resname.Format(resname.Staff, agents[i].ID)] = &agents[i]
	}
	var loads []struct {
		AssigneeID string
		N          int
	}
	if err := tx.Model(&store.FollowUp{}).Select("assignee_id, COUNT(*) AS n").
		Where("state = ? AND assignee_id IN ?", int32(followupflow.Scheduled), staffIDs).
		Group("assignee_id").Scan(&loads).Error; err != nil {
		return "", store.Translate(err)
	}
	open := make(map[string]int, len(loads))
	for _, l := range loads {
		open[l.AssigneeID] = l.N
	}
	cands := make([]followupflow.Candidate, len(agents))
	for i, a := range agents {
		cands[i] = followupflow.Candidate{Staff: resname.Format(resname.Staff, a.ID), Open: open[a.ID]}
	}
	for _, name := range followupflow.Assignees(cands, w) {
		st := byName[name]
		err := eligibleStaff(tx, st, now)
		if err == nil {
			return st.ID, nil
		}
		if r := apierr.Reason(err); r != aftersalesv1.ErrorReason_STAFF_NOT_QUALIFIED && r != aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE {
			return "", err
		}
		// The stored state lagged (a certification expired and the loop
		// has not run yet): offer it to the next one.
	}
	return "", nil
}

// cancelAutomaticFollowUps withdraws the automatic follow-ups of a ticket
// that are still SCHEDULED, when the resolution they would ask about no
// longer stands (the ticket was reopened or resolved again). Follow-ups
// scheduled by hand keep their own purpose and stay.
func (b *base) cancelAutomaticFollowUps(ctx context.Context, tx *gorm.DB, ticketID, reason string, now time.Time) error {
	var rows []store.FollowUp
	if err := tx.Where("ticket_id = ? AND state = ? AND origin = ?", ticketID, int32(followupflow.Scheduled), int32(aftersalesv1.FollowUp_AUTOMATIC)).
		Find(&rows).Error; err != nil {
		return store.Translate(err)
	}
	for i := range rows {
		row := &rows[i]
		// Locked and read again: a concurrent change of the follow-up
		// (an assignee set) must not be overwritten by the stale copy.
		if err := lockRow(tx, row, row.ID); err != nil {
			return err
		}
		if row.State != int32(followupflow.Scheduled) {
			continue
		}
		before := followUpProto(row, now)
		cancelFollowUp(row, reason, now)
		if err := store.Translate(tx.Save(row).Error); err != nil {
			return err
		}
		if err := b.audit(ctx, tx, before.GetName(), before, followUpProto(row, now)); err != nil {
			return err
		}
	}
	return nil
}

// cancelFollowUp ends a follow-up as CANCELLED; the reason joins its note.
func cancelFollowUp(row *store.FollowUp, reason string, now time.Time) {
	row.State, row.EndTime = int32(followupflow.Cancelled), &now
	if reason != "" {
		if row.Note != "" {
			row.Note += "\n"
		}
		row.Note += "Cancelled: " + reason
	}
	row.Touch(now)
}

// workOf tells who did the work on a ticket: the actor of its latest
// resolution (and that technician's shop), its assignee and its partner.
func workOf(tx *gorm.DB, tk *store.Ticket) (followupflow.Work, error) {
	var evs []store.TicketEvent
	if err := tx.Where("ticket_id = ? AND type = ?", tk.ID, int32(aftersalesv1.TicketEvent_RESOLVED)).
		Order("create_time DESC").Order("id DESC").Limit(1).Find(&evs).Error; err != nil {
		return followupflow.Work{}, store.Translate(err)
	}
	resolver := ""
	if len(evs) > 0 {
		resolver = evs[0].Actor
	}
	return resolutionWork(tx, tk, resolver)
}

// resolutionWork is the work on tk resolved by resolver (a principal's
// name, "" when unknown): with the resolving technician's shop, the
// ticket's assignee and its partner.
func resolutionWork(tx *gorm.DB, tk *store.Ticket, resolver string) (followupflow.Work, error) {
	w := followupflow.Work{Resolver: resolver, Assignee: refName(resname.Staff, tk.AssigneeID), Partner: refName(resname.Partners, tk.PartnerID)}
	if id, ok := resname.ID(resolver, resname.Staff); ok {
		var st store.Staff
		err := store.Translate(tx.Where("id = ?", id).Take(&st).Error)
		if err != nil && !isNotFound(err) {
			return w, err
		}
		w.ResolverPartner = refName(resname.Partners, st.PartnerID)
	}
	return w, nil
}

// checkIndependent refuses staff member st as performer of a follow-up
// of tk if they took part in its work.
func checkIndependent(tx *gorm.DB, tk *store.Ticket, st *store.Staff) error {
	w, err := workOf(tx, tk)
	if err != nil {
		return err
	}
	name := resname.Format(resname.Staff, st.ID)
	if ok, why := followupflow.Independent(name, refName(resname.Partners, st.PartnerID), w); !ok {
		return apierr.Precondition(aftersalesv1.ErrorReason_NOT_INDEPENDENT, "INDEPENDENCE", name,
			why+"; a follow-up must be performed by someone independent of the work")
	}
	return nil
}

// checkAssignee decides whether staffID may be given the follow-up of tk:
// an existing staff member of the company, independent of the work, and
// eligible for work (the qualification gate).
func (b *base) checkAssignee(tx *gorm.DB, tk *store.Ticket, staffID, field, name string) error {
	var st store.Staff
	err := store.Translate(tx.Where("id = ?", staffID).Take(&st).Error)
	if isNotFound(err) {
		return badReference(field, name)
	} else if err != nil {
		return err
	}
	if err := checkIndependent(tx, tk, &st); err != nil {
		return err
	}
	if st.PartnerID != "" {
		return apierr.InvalidField(field, "must be a staff member of the company; partner-shop technicians do not perform follow-ups")
	}
	return eligibleStaff(tx, &st, b.now())
}

// checkPerformer refuses a staff caller who took part in the work from
// recording the follow-up of tk. Other callers (service accounts, the
// customer answering in the app) are independent by nature.
func checkPerformer(tx *gorm.DB, tk *store.Ticket, caller principal.Principal) error {
	if caller.Kind != principal.Staff {
		return nil
	}
	var st store.Staff
	if err := store.Translate(tx.Where("id = ?", caller.ID()).Take(&st).Error); err != nil {
		return err
	}
	return checkIndependent(tx, tk, &st)
}

// applySurvey records survey on the follow-up fu of the locked ticket tk,
// completing it, and applies the answers' consequences to the ticket in
// the same transaction: a problem that persists reopens it, an unhappy
// customer opens a complaint, a satisfied one closes it.
func (b *base) applySurvey(ctx context.Context, tx *gorm.DB, tk *store.Ticket, fu *store.FollowUp, s *aftersalesv1.Survey, caller principal.Principal, now time.Time) error {
	setSurvey(fu, s, now)
	fu.State, fu.PerformedBy, fu.EndTime = int32(followupflow.Completed), caller.String(), &now
	fuName := resname.Format(resname.FollowUps, fu.ID)
	out := followupflow.Consequences(s.GetSatisfaction(), s.GetIssueResolved(), aftersalesv1.Ticket_State(tk.State),
		followupflow.Thresholds{ComplaintAtOrBelow: b.rules.ComplaintAtOrBelow, CloseAtOrAbove: b.rules.CloseAtOrAbove})
	if out.Complaint {
		name, err := b.openComplaint(ctx, tx, complaintSeed{
			CustomerID: tk.CustomerID, TicketID: tk.ID, ProductID: tk.ProductID, FollowUpID: fu.ID,
			Channel:     complaintChannel(aftersalesv1.FollowUp_Method(fu.Method)),
			Category:    orDefault(s.GetComplaintCategory(), aftersalesv1.Complaint_OTHER),
			Severity:    orDefault(s.GetComplaintSeverity(), aftersalesv1.Complaint_MEDIUM),
			Title:       surveyTitle(s, tk),
			Description: s.GetComment(),
		})
		if err != nil {
			return err
		}
		fu.ComplaintID, _ = resname.ID(name, resname.Complaints)
	}
	action, typ := ticketflow.Reopen, aftersalesv1.TicketEvent_REOPENED
	switch {
	case out.Close:
		action, typ = ticketflow.Close, aftersalesv1.TicketEvent_CLOSED
	case !out.Reopen:
		return nil
	}
	from := ticketflow.State(tk.State)
	to, err := ticketflow.Next(from, action)
	if err != nil {
		return err
	}
	before := ticketProto(tk)
	ev := newEvent(tk, typ, caller, now)
	ev.FromState, ev.ToState = int32(from), int32(to)
	ev.setDetail("follow_up", fuName)
	if out.Reopen {
		ev.Message = "The follow-up found the problem not resolved."
		if err := b.cancelAutomaticFollowUps(ctx, tx, tk.ID, "the ticket was reopened", now); err != nil {
			return err
		}
	} else {
		ev.Message = "Closed by a satisfied follow-up."
		tk.CloseTime = &now
	}
	if s.GetComment() != "" {
		ev.Message += " Customer: " + s.GetComment()
	}
	tk.State = int32(to)
	if err := b.saveTicket(tx, tk, ev, now); err != nil {
		return err
	}
	return b.audit(ctx, tx, before.GetName(), before, ticketProto(tk))
}

// surveyTitle is the title of the complaint a survey opens.
func surveyTitle(s *aftersalesv1.Survey, tk *store.Ticket) string {
	t := fmt.Sprintf("Follow-up of tickets/%s: satisfaction %d of 5", tk.ID, s.GetSatisfaction())
	if !s.GetIssueResolved() {
		t += ", problem not resolved"
	}
	return t
}

// complaintChannel is the channel through which a follow-up heard the
// dissatisfaction.
func complaintChannel(m aftersalesv1.FollowUp_Method) aftersalesv1.Ticket_Channel {
	switch m {
	case aftersalesv1.FollowUp_APP:
		return aftersalesv1.Ticket_APP
	case aftersalesv1.FollowUp_EMAIL:
		return aftersalesv1.Ticket_EMAIL
	case aftersalesv1.FollowUp_VISIT, aftersalesv1.FollowUp_WRITTEN:
		// In person or on paper: no remote channel.
		return aftersalesv1.Ticket_WALK_IN
	}
	return aftersalesv1.Ticket_PHONE // PHONE, and SMS (a text to a phone)
}

// orDefault returns v, or def when v is its enum's zero value.
func orDefault[E ~int32](v, def E) E {
	if v == 0 {
		return def
	}
	return v
}
