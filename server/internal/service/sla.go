package service

import (
	"context"
	"time"

	"github.com/aftersales/aftersales/pkg/resname"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// slaLease is the lease that makes exactly one replica run the SLA check
// at a time; the others skip their turn.
const slaLease = "sla-breach-check"

// purgeLease is the lease of the idempotency-key purge.
const purgeLease = "idempotency-purge"

// slaBatch bounds one pass so a backlog never holds a long transaction;
// the next tick takes the rest.
const slaBatch = 200

// CheckSLA records every SLA target missed by now and escalates each
// breached ticket once per target; it returns how many tickets changed.
// A paused ticket whose policy stops the clock is never due.
func (s *ticketServer) CheckSLA(ctx context.Context) (int, error) {
	now := s.now()
	db := s.db.Gorm(ctx).Model(&store.Ticket{}).
		Where("state IN ?", openStateValues()).
		Where("(paused_at IS NULL OR pause_clock = ?)", false)
	// Two queries rather than one OR, so each uses its own
	// (breached, due) index.
	var responseIDs, resolveIDs []string
	if err := db.Session(&gorm.Session{}).Where("response_breached = ? AND first_response_time IS NULL AND response_due < ?", false, now).
		Limit(slaBatch).Pluck("id", &responseIDs).Error; err != nil {
		return 0, store.Translate(err)
	}
	if err := db.Session(&gorm.Session{}).Where("resolve_breached = ? AND resolve_due < ?", false, now).
		Limit(slaBatch).Pluck("id", &resolveIDs).Error; err != nil {
		return 0, store.Translate(err)
	}
	changed := 0
	seen := map[string]bool{}
	for _, id := range append(responseIDs, resolveIDs...) {
		if seen[id] {
			continue
		}
		seen[id] = true
		ok, err := s.breach(ctx, id, now)
		if err != nil {
			return changed, err
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

// breach re-checks one ticket under its row lock (it may have changed
// since the scan) and records what it missed.
func (s *ticketServer) breach(ctx context.Context, id string, now time.Time) (bool, error) {
	actor := principal.NewSystem("sla")
	ctx = principal.NewContext(ctx, actor)
	changed := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		changed = false // InTx may rerun this
		var row store.Ticket
		if err := lockRow(tx, &row, id); err != nil {
			return err
		}
		if !ticketflow.IsOpen(ticketflow.State(row.State)) {
			return nil
		}
		before := ticketProto(&row)
		response, resolve := clockOf(&row).Breaches(now)
		var missed []string
		if response && !row.ResponseBreached {
			row.ResponseBreached = true
			missed = append(missed, "response")
		}
		if resolve && !row.ResolveBreached {
			row.ResolveBreached = true
			missed = append(missed, "resolve")
		}
		if len(missed) == 0 {
			return nil
		}
		for _, target := range missed {
			ev := newEvent(&row, aftersalesv1.TicketEvent_SLA_BREACHED, actor, now)
			ev.Message = target + " target missed"
			ev.setDetail("target", target)
			ev.notify(row.FirstContactID)
			ev.notify(row.AssigneeID)
			if err := store.Translate(tx.Create(ev.row()).Error); err != nil {
				return err
			}
			row.EscalationLevel++
			esc := newEvent(&row, aftersalesv1.TicketEvent_ESCALATED, actor, now)
			esc.Message = "escalated automatically: " + target + " target missed"
			esc.setDetail("escalation_level", itoa(int64(row.EscalationLevel)))
			esc.notify(row.FirstContactID)
			if err := store.Translate(tx.Create(esc.row()).Error); err != nil {
				return err
			}
		}
		row.UpdateTime, row.Version = now, row.Version+1
		changed = true
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return err
		}
		return s.audit(ctx, tx, resname.Format(resname.Tickets, row.ID), before, ticketProto(&row))
	})
	return changed, err
}

func openStateValues() []int32 {
	var out []int32
	for _, s := range ticketflow.OpenStates() {
		out = append(out, int32(s))
	}
	return out
}
