package service

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// slaLease is the lease that makes exactly one replica run the SLA check
// at a time; the others skip their turn.
const slaLease = "sla-breach-check"

// slaBatch bounds one pass so a backlog never holds a long transaction;
// the next tick takes the rest.
const slaBatch = 200

// runSLA marks missed SLA targets and escalates, every interval, on
// whichever replica holds the lease. It returns when ctx ends.
func (s *ticketServer) runSLA(ctx context.Context, interval time.Duration, holder string) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			// Let another replica take over at once instead of waiting for
			// the lease to expire. ctx is done, so use a short fresh one.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			_ = s.db.ReleaseLease(rctx, slaLease, holder)
			cancel()
			return nil
		case <-ticker.C:
		}
		held, err := s.db.AcquireLease(ctx, slaLease, holder, 3*interval)
		if err != nil {
			s.log.WarnContext(ctx, "sla: lease", slog.Any("error", err))
			continue
		}
		if !held {
			continue
		}
		if n, err := s.CheckSLA(ctx); err != nil {
			s.log.WarnContext(ctx, "sla: check", slog.Any("error", err))
		} else if n > 0 {
			s.log.InfoContext(ctx, "sla: breaches recorded", slog.Int("tickets", n))
		}
	}
}

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
	changed := false
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		var row store.Ticket
		if err := lockRow(tx, &row, id); err != nil {
			return err
		}
		if !ticketflow.IsOpen(ticketflow.State(row.State)) {
			return nil
		}
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
		return store.Translate(tx.Save(&row).Error)
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
