package service

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// endMaintenanceVisit is what a ticket's transition does to the
// maintenance visit that opened it, in the transition's transaction: a
// resolution ends the visit DONE and sets the product's next due date
// interval_months after it (and next due reading interval_usage after
// the product's reading); a cancellation ends it CANCELLED with the
// next due date interval_months after the date it missed (and reading
// interval_usage after the reading it missed). Tickets of no
// visit, and other transitions, are left alone.
func (b *base) endMaintenanceVisit(ctx context.Context, tx *gorm.DB, tk *store.Ticket, now time.Time) error {
	if tk.MaintenancePlanID == "" {
		return nil
	}
	outcome, state := maintenanceflow.Done, aftersalesv1.MaintenanceVisit_DONE
	switch ticketflow.State(tk.State) {
	case ticketflow.Resolved:
	case ticketflow.Cancelled:
		outcome, state = maintenanceflow.Cancelled, aftersalesv1.MaintenanceVisit_CANCELLED
	default:
		return nil
	}
	q := tx
	if tx.Dialector.Name() == store.DialectMySQL {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var v store.MaintenanceVisit
	if err := store.Translate(q.Where("ticket_id = ?", tk.ID).Take(&v).Error); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	// The plan's interval now: a changed interval applies to due dates
	// set from then on.
	var plan store.MaintenancePlan
	if err := store.Translate(tx.Select("id", "interval_months", "interval_usage", "usage_lead").Where("id = ?", v.PlanID).Take(&plan).Error); err != nil {
		return err
	}
	var p store.Product
	if err := store.Translate(tx.Select("id", "usage_reading").Where("id = ?", v.ProductID).Take(&p).Error); err != nil && !isNotFound(err) {
		return err
	}
	before := visitProto(&v)
	v.NextDueTime, v.NextDueUsage = nextSchedule(&plan, outcome, v.DueTime, v.DueUsage, now, p.UsageReading, true)
	v.State, v.EndTime = int32(state), &now
	if err := store.Translate(tx.Save(&v).Error); err != nil {
		return err
	}
	// The schedule follows the product's latest visit only: a ticket of
	// an older visit resolved again (after a reopen) must not move the
	// date a newer visit set or is waiting for.
	var later []string
	if err := tx.Model(&store.MaintenanceVisit{}).Where("plan_id = ? AND product_id = ? AND due_time > ?", v.PlanID, v.ProductID, v.DueTime).
		Limit(1).Pluck("id", &later).Error; err != nil {
		return store.Translate(err)
	}
	if len(later) == 0 {
		if err := store.Translate(tx.Model(&store.MaintenanceSchedule{}).Where("plan_id = ? AND product_id = ?", v.PlanID, v.ProductID).
			Updates(map[string]any{"next_due_time": v.NextDueTime, "next_due_usage": v.NextDueUsage}).Error); err != nil {
			return err
		}
	}
	return b.audit(ctx, tx, visitName(&v), before, visitProto(&v))
}
