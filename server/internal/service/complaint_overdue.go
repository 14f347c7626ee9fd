package service

import (
	"context"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// complaintLease is the lease that makes exactly one replica run the
// overdue-complaint check at a time.
const complaintLease = "complaint-overdue-check"

// complaintBatch bounds one pass, like slaBatch.
const complaintBatch = 200

// CheckComplaints marks every complaint whose deadline passed by now as
// overdue and escalates it; one still overdue an acknowledgement period
// later climbs another level. It returns how many complaints changed.
// complaints.next_check_time (indexed) holds when each open complaint
// must next be looked at, so a pass reads only those that are due.
func (s *complaintServer) CheckComplaints(ctx context.Context) (int, error) {
	now := s.now()
	var due []string
	if err := s.db.Gorm(ctx).Model(&store.Complaint{}).Where("next_check_time <= ?", now).
		Order("next_check_time").Limit(complaintBatch).Pluck("id", &due).Error; err != nil {
		return 0, store.Translate(err)
	}
	changed := 0
	for _, id := range due {
		ok, err := s.checkOverdue(ctx, id, now)
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

// checkOverdue re-checks one complaint under its row lock (it may have
// been answered since the scan) and escalates it when it is overdue.
func (s *complaintServer) checkOverdue(ctx context.Context, id string, now time.Time) (bool, error) {
	actor := principal.NewSystem("complaints")
	ctx = principal.NewContext(ctx, actor)
	changed := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		changed = false // InTx may rerun this
		var row store.Complaint
		if err := lockRow(tx, &row, id); err != nil {
			return err
		}
		if row.NextCheckTime == nil || row.NextCheckTime.After(now) {
			return nil
		}
		ack, resolve := complaintflow.Overdue(complaintflow.State(row.State), row.AcknowledgeDue, row.ResolveDue, now)
		if !ack && !resolve {
			// Nothing is late (the deadlines moved): look again when
			// one may be. Not a change anyone needs to see.
			planCheck(&row, now)
			return store.Translate(tx.Model(&row).Update("next_check_time", row.NextCheckTime).Error)
		}
		before := complaintProto(&row)
		var events []*complaintEvent
		for _, missed := range []struct {
			late bool
			flag *bool
			what string
		}{
			{ack, &row.AcknowledgeOverdue, "acknowledgement"},
			{resolve, &row.ResolveOverdue, "resolution"},
		} {
			if !missed.late || *missed.flag {
				continue
			}
			*missed.flag = true
			ev := newComplaintEvent(&row, aftersalesv1.ComplaintEvent_OVERDUE, actor, now)
			ev.Message, ev.Internal = missed.what+" deadline missed", true
			ev.setDetail("deadline", missed.what)
			ev.notify(row.HandlerID)
			ev.notify(row.ReceivedByID)
			events = append(events, ev)
		}
		esc := newComplaintEvent(&row, aftersalesv1.ComplaintEvent_ESCALATED, actor, now)
		esc.Message = "escalated automatically: overdue"
		if err := s.escalateComplaint(ctx, tx, &row, esc); err != nil {
			return err
		}
		// Still overdue one acknowledgement period from now, it climbs
		// again.
		next := now.Add(s.complaintDeadline(aftersalesv1.Complaint_Severity(row.Severity)).Acknowledge)
		row.NextCheckTime = &next
		if err := s.save(tx, &row, now, append(events, esc)...); err != nil {
			return err
		}
		changed = true
		return s.audit(ctx, tx, resname.Format(resname.Complaints, row.ID), before, complaintProto(&row))
	})
	return changed, err
}
