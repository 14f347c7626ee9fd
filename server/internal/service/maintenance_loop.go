package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// The maintenance loop. Each pass, for every active plan:
//
//  1. Schedules: it gives the plan's model's products their first due
//     date and, for a plan by usage, due reading (maintenance_schedule),
//     walking the products in (update_time, id) order from the plan's
//     cursor (seed_time, seed_id) through idx_products_model_update. A
//     new plan thus reaches the products
//     registered before it, and the same walk reaches products registered
//     later and products whose model was corrected to the plan's (a
//     change bumps update_time, moving the product past the cursor):
//     product registration is untouched. A product already scheduled
//     keeps its date. Like the report rollups, the walk stops
//     maintenanceSettle before now, so a product whose transaction
//     commits a little after its update_time is not passed over.
//  2. Visits: it reads the schedule rows due by now + the plan's lead
//     time (a range of idx_maintenance_schedule_due) and opens each one's
//     visit in its own transaction: a ticket, or for a reminder-only plan
//     a reminder. A row comes due by usage when the product's reading
//     reaches its due reading: UpdateProduct then sets its date to now
//     (maintenance_usage.go). The visit's unique key (plan, product, due
//     date) makes a second runner (another replica, a retried pass)
//     fail to insert it, so no visit is ever opened twice; while a visit is open the
//     schedule row's next due date and reading are NULL, out of the
//     range and out of the readings' reach.
//
// A pass costs the products registered since the last one plus the
// visits that came due, never a scan of all products.

// maintenanceLease is the lease of the maintenance loop.
const maintenanceLease = "maintenance-visits"

const (
	// maintenanceSettle is how long after its update_time a product is
	// given its schedule (see rollupSettle).
	maintenanceSettle = time.Minute
	// seedBatch bounds the products one schedule transaction reads;
	// seedMaxBatches the batches of one plan in one pass.
	seedBatch      = 1000
	seedMaxBatches = 100
	// maxVisitsPerPass bounds the visits one pass opens (one
	// transaction each), so a pass stays well inside its lease; the next
	// pass goes on.
	maxVisitsPerPass = 1000
)

// OpenDueVisits runs one pass of the maintenance loop now, for tests
// and tools that do not wait for it. It returns how many visits it
// opened.
func (s *Services) OpenDueVisits(ctx context.Context) (int, error) { return s.maint.openDueVisits(ctx) }

// openDueVisits opens the visits that have come due.
func (s *maintenanceServer) openDueVisits(ctx context.Context) (int, error) {
	ctx = principal.NewContext(ctx, principal.NewSystem("maintenance"))
	var plans []store.MaintenancePlan
	if err := s.db.Gorm(ctx).Where("active = ?", true).Order("create_time").Order("id").Find(&plans).Error; err != nil {
		return 0, store.Translate(err)
	}
	for i := range plans {
		if err := s.seedSchedules(ctx, plans[i].ID); err != nil {
			return 0, err
		}
	}
	opened := 0
	for i := range plans {
		if opened >= maxVisitsPerPass {
			break
		}
		n, err := s.openPlanVisits(ctx, &plans[i], maxVisitsPerPass-opened)
		opened += n
		if err != nil {
			return opened, err
		}
	}
	return opened, nil
}

// seedSchedules gives the products of the plan's model changed since its
// cursor (registered, or corrected to the model) their first due date.
func (s *maintenanceServer) seedSchedules(ctx context.Context, planID string) error {
	for range seedMaxBatches {
		more := false
		err := s.db.InTx(ctx, func(tx *gorm.DB) error {
			more = false // InTx may rerun this
			var plan store.MaintenancePlan
			if err := lockRow(tx, &plan, planID); err != nil {
				return err
			}
			if !plan.Active {
				return nil
			}
			q := tx.Model(&store.Product{}).Select("id", "purchase_time", "create_time", "update_time", "usage_reading").
				Where("model = ? AND update_time < ?", plan.Model, s.now().Add(-maintenanceSettle))
			if t := plan.SeedTime; t != nil {
				q = q.Where("(update_time > ? OR (update_time = ? AND id > ?))", *t, *t, plan.SeedID)
			}
			var products []store.Product
			if err := q.Order("update_time").Order("id").Limit(seedBatch).Find(&products).Error; err != nil {
				return store.Translate(err)
			}
			if len(products) == 0 {
				return nil
			}
			rows := make([]store.MaintenanceSchedule, len(products))
			now := s.now()
			for i := range products {
				due, usage := firstSchedule(&plan, &products[i], now)
				rows[i] = store.MaintenanceSchedule{PlanID: plan.ID, ProductID: products[i].ID, NextDueTime: due, NextDueUsage: usage}
			}
			// A product already scheduled (the plan was active before,
			// or another runner got here first) keeps its date.
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500).Error; err != nil {
				return store.Translate(err)
			}
			last := products[len(products)-1]
			more = len(products) == seedBatch
			// The cursor is the loop's, not part of the resource: no new
			// version, no audit.
			return store.Translate(tx.Model(&store.MaintenancePlan{}).Where("id = ?", plan.ID).
				Updates(map[string]any{"seed_time": last.UpdateTime, "seed_id": last.ID}).Error)
		})
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// openPlanVisits opens up to limit visits of the plan that are due by
// now + its lead time, and returns how many it opened.
func (s *maintenanceServer) openPlanVisits(ctx context.Context, plan *store.MaintenancePlan, limit int) (int, error) {
	now := s.now()
	var due []store.MaintenanceSchedule
	if err := s.db.Gorm(ctx).Where("plan_id = ? AND next_due_time <= ?", plan.ID, now.Add(secs(plan.LeadSeconds))).
		Order("next_due_time").Limit(limit).Find(&due).Error; err != nil {
		return 0, store.Translate(err)
	}
	opened := 0
	var first error
	for _, d := range due {
		ok, err := s.openVisit(ctx, plan.ID, d.ProductID, now)
		switch {
		case ctx.Err() != nil:
			return opened, ctx.Err()
		case err != nil:
			// One visit that cannot be opened must not hold up the
			// others due after it; it is tried again next pass.
			s.log.WarnContext(ctx, "maintenance visit not opened", "plan", resname.Format(resname.MaintenancePlans, plan.ID),
				"product", d.ProductID, "error", err)
			first = cmp.Or(first, err)
		case ok:
			opened++
		}
	}
	return opened, first
}

// openVisit opens the visit of one product's schedule row, re-read under
// its lock, if it is still due: a ticket, or a reminder. It reports
// whether it opened one.
func (s *maintenanceServer) openVisit(ctx context.Context, planID, productID string, now time.Time) (bool, error) {
	actor := principal.FromContext(ctx)
	opened := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		opened = false // InTx may rerun this
		q := tx
		if tx.Dialector.Name() == store.DialectMySQL {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var sched store.MaintenanceSchedule
		if err := store.Translate(q.Where("plan_id = ? AND product_id = ?", planID, productID).Take(&sched).Error); err != nil {
			if isNotFound(err) {
				return nil
			}
			return err
		}
		var plan store.MaintenancePlan
		if err := store.Translate(tx.Where("id = ?", planID).Take(&plan).Error); err != nil {
			return err
		}
		if !plan.Active || sched.NextDueTime == nil || sched.NextDueTime.After(now.Add(secs(plan.LeadSeconds))) {
			return nil // ended or opened since the scan
		}
		schedule := tx.Model(&store.MaintenanceSchedule{}).Where("plan_id = ? AND product_id = ?", planID, productID)
		var p store.Product
		err := store.Translate(tx.Where("id = ?", productID).Take(&p).Error)
		if err != nil && !isNotFound(err) {
			return err
		}
		if isNotFound(err) || p.Model != plan.Model {
			// The product's model was corrected since: no longer the
			// plan's to service.
			return store.Translate(schedule.Delete(&store.MaintenanceSchedule{}).Error)
		}
		due := *sched.NextDueTime
		v := &store.MaintenanceVisit{
			ID: ids.New(), PlanID: plan.ID, ProductID: p.ID, CustomerID: p.CustomerID, SerialNumber: p.SerialNumber,
			DueTime: due, DueUsage: visitDueUsage(&plan, &sched, p.UsageReading), CreateTime: now,
		}
		var tk *store.Ticket
		if plan.ReminderOnly {
			v.NextDueTime, v.NextDueUsage = nextSchedule(&plan, maintenanceflow.Reminded, due, v.DueUsage, now, p.UsageReading, false)
			v.State, v.EndTime = int32(aftersalesv1.MaintenanceVisit_REMINDED), &now
		} else {
			tk = visitTicket(&plan, &p, v, now)
			if err := s.prepareTicket(tx, tk, now); err != nil {
				return err
			}
			// Opened lead time ahead of the work, the visit is not late
			// until the policy's resolution target has passed counted from
			// its due date; the response target (booking the visit) counts
			// from now.
			if d := due.Add(tk.ResolveDue.Sub(tk.CreateTime)); d.After(tk.ResolveDue) {
				tk.ResolveDue = d
			}
			if err := appendTicket(tx, tk, actor, now); err != nil {
				return err
			}
			v.State, v.TicketID = int32(aftersalesv1.MaintenanceVisit_OPEN), tk.ID
		}
		// The unique key (plan, product, due date): a second runner
		// fails here, and its transaction rolls back whole.
		if err := store.Translate(tx.Create(v).Error); err != nil {
			return err
		}
		// Open: the visit's end sets the next due date and reading (both
		// NULL meanwhile). Reminded: set now.
		if err := store.Translate(schedule.Updates(map[string]any{"next_due_time": v.NextDueTime, "next_due_usage": v.NextDueUsage}).Error); err != nil {
			return err
		}
		opened = true
		if tk == nil {
			return s.auditAs(ctx, tx, visitName(v), nil, visitProto(v), "reminded")
		}
		if err := s.audit(ctx, tx, visitName(v), nil, visitProto(v)); err != nil {
			return err
		}
		return s.audit(ctx, tx, resname.Format(resname.Tickets, tk.ID), nil, ticketProto(tk))
	})
	if errors.Is(err, store.ErrAlreadyExists) {
		return false, nil // opened by another runner
	}
	return opened && err == nil, err
}

// visitTicket is the ticket of a plan's visit v of product p:
// the plan's type, priority and title, its owner as first contact, in
// warranty when the plan is free of charge, else as the product's
// warranty says (as CreateTicket does). No channel: the company, not the
// customer, opened it.
func visitTicket(plan *store.MaintenancePlan, p *store.Product, v *store.MaintenanceVisit, now time.Time) *store.Ticket {
	warranty := ticketflow.Warranty(deref(p.WarrantyEndTime), now)
	if plan.FreeOfCharge {
		warranty = aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY
	}
	when := v.DueTime.Format("2 January 2006")
	if v.DueUsage > 0 {
		when = fmt.Sprintf("at %d %s (reading %d)", v.DueUsage, plan.UsageUnit, p.UsageReading)
	}
	desc := "Maintenance due " + when + " under " + resname.Format(resname.MaintenancePlans, plan.ID) + "."
	if plan.Description != "" {
		desc = plan.Description + "\n\n" + desc
	}
	return &store.Ticket{
		CustomerID: p.CustomerID, ProductID: p.ID, Type: plan.TicketType, Priority: plan.Priority,
		Title: plan.DisplayName, Description: desc, FirstContactID: plan.OwnerID, WarrantyStatus: int32(warranty),
		MaintenancePlanID: plan.ID,
	}
}
