package service

import (
	"fmt"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
	"github.com/aftersales/aftersales/server/internal/store"
)

// Maintenance by usage. A plan with interval_usage gives each product's
// schedule row a due reading (next_due_usage) besides, or instead of, a
// due date. The loop only ever opens visits by date (a range of
// idx_maintenance_schedule_due), so a reading that reaches a due reading
// (less the plan's usage lead) makes the row due by date: next_due_time
// becomes now, unless it is due sooner already. The loop's next pass
// opens the visit, through the same unique key, recording the due reading
// on it.
//
// A schedule row thus means: visit open when next_due_time and
// next_due_usage are both NULL; otherwise due at next_due_time (NULL: not
// by date, a usage-only plan waiting for its reading) or at reading
// next_due_usage (NULL: not by usage), whichever comes first.

// readUsage checks a product's usage reading changed by UpdateProduct
// (from before) and, in its transaction, makes the product's visits due
// that the new reading reached. A meter does not run backwards: a lower
// reading is refused.
func (b *base) readUsage(tx *gorm.DB, row *store.Product, before int64) error {
	switch {
	case row.UsageReading == before:
		return nil
	case row.UsageReading < before:
		return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, apierr.Violation{
			Field:       "product.usage_reading",
			Description: fmt.Sprintf("must not be lower than the current reading %d: a usage meter does not run backwards", before),
		})
	}
	now := b.now()
	row.UsageReadTime = &now
	return dueByUsage(tx, row.ID, row.UsageReading, now)
}

// dueByUsage makes the product's schedule rows whose due reading, less
// their plan's usage lead, reading has reached due at now. One UPDATE,
// its conditions evaluated on the rows as they are when it locks them: a
// row whose visit a concurrent pass has just opened (both NULL) is left
// alone. A new product has no rows yet: the loop's walk schedules it
// from its reading then.
func dueByUsage(tx *gorm.DB, productID string, reading int64, now time.Time) error {
	return store.Translate(tx.Model(&store.MaintenanceSchedule{}).
		Where("product_id = ? AND next_due_usage IS NOT NULL", productID).
		Where("(next_due_time IS NULL OR next_due_time > ?)", now).
		Where("next_due_usage - (SELECT usage_lead FROM maintenance_plans WHERE maintenance_plans.id = maintenance_schedule.plan_id) <= ?", reading).
		Update("next_due_time", now).Error)
}

// nextSchedule is a product's next due date and reading under plan after
// a visit due at dueTime (and reading dueUsage; 0 when due by date) ended
// at end with the product at reading: months and usage each as the plan
// says, nil where it is not by them. catchUp makes the date now when the
// reading is already past the next due reading (a cancelled visit of a
// product used on meanwhile); a reminder, ended when it is opened, leaves
// that to the product's next reading instead, so that two visits are
// never due at the same instant.
func nextSchedule(plan *store.MaintenancePlan, o maintenanceflow.Outcome, dueTime time.Time, dueUsage int64,
	end time.Time, reading int64, catchUp bool,
) (*time.Time, *int64) {
	var next *time.Time
	var usage *int64
	if plan.IntervalMonths > 0 {
		t := maintenanceflow.NextDue(o, dueTime, end, int(plan.IntervalMonths))
		next = &t
	}
	if plan.IntervalUsage > 0 {
		u := maintenanceflow.NextDueUsage(o, dueUsage, reading, plan.IntervalUsage)
		usage = &u
		if catchUp && maintenanceflow.DueByUsage(reading, u, plan.UsageLead) && (next == nil || next.After(end)) {
			next = &end
		}
	}
	return next, usage
}

// firstSchedule is a new product's first due date and reading under
// plan: months after its purchase (or registration), and at reading
// interval_usage, due now if the product's reading has reached it.
func firstSchedule(plan *store.MaintenancePlan, p *store.Product, now time.Time) (*time.Time, *int64) {
	var next *time.Time
	var usage *int64
	if plan.IntervalMonths > 0 {
		t := maintenanceflow.FirstDue(p.PurchaseTime, p.CreateTime, int(plan.IntervalMonths))
		next = &t
	}
	if plan.IntervalUsage > 0 {
		u := plan.IntervalUsage
		usage = &u
		if maintenanceflow.DueByUsage(p.UsageReading, u, plan.UsageLead) && (next == nil || next.After(now)) {
			next = &now
		}
	}
	return next, usage
}

// visitDueUsage is the due reading of a visit opened from sched for a
// product at reading: the row's due reading when the reading reached it
// (less the lead), else 0, the visit came due by date.
func visitDueUsage(plan *store.MaintenancePlan, sched *store.MaintenanceSchedule, reading int64) int64 {
	if u := sched.NextDueUsage; u != nil && maintenanceflow.DueByUsage(reading, *u, plan.UsageLead) {
		return *u
	}
	return 0
}

// usageOf is a nullable reading's value, 0 when unset.
func usageOf(u *int64) int64 {
	if u == nil {
		return 0
	}
	return *u
}
