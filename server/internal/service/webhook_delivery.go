package service

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/changefeed"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/webhook"
)

// Webhook delivery. Every replica runs the dispatcher; each subscription
// is delivered by whichever replica holds its lease, one event at a time
// in feed order, from its position (webhooks.delivered_seq), which moves
// only after the receiver answered 2xx: at least once, in order. A
// failing receiver is retried with exponential backoff and jitter
// (webhook.Backoff) and disabled when it has failed for the retry window.
// Each subscription has its own goroutine and the sender its own
// timeout, so one slow receiver delays only itself.

// eventJSON renders events for receivers as the gateway renders them.
var eventJSON = protojson.MarshalOptions{}

// drainLimit bounds the events one goroutine delivers before it hands the
// subscription back to the dispatcher, so that leases and changes of the
// subscription are looked at regularly.
const drainLimit = 100

type dispatcher struct {
	s       *webhookServer
	holder  string
	running sync.Map // subscription id → struct{}
	wg      sync.WaitGroup
}

// leaseTTL is how long a replica owns a subscription without renewing:
// longer than any one delivery, which it renews before.
func (d *dispatcher) leaseTTL() time.Duration { return 3 * d.s.feed.WebhookTimeout }

func webhookLease(id string) string { return "webhook/" + id }

// run dispatches until ctx ends, at every tick and whenever this replica
// sequenced new events.
func (d *dispatcher) run(ctx context.Context) error {
	ticker := time.NewTicker(d.s.feed.WebhookInterval)
	defer ticker.Stop()
	for {
		wake := d.s.events.wait()
		if err := d.dispatch(ctx); err != nil && ctx.Err() == nil {
			d.s.log.WarnContext(ctx, "webhook dispatch", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-ticker.C:
		case <-wake:
		}
	}
}

// dispatch starts a delivery goroutine for every enabled subscription
// that has events to deliver, is due, and is not already being delivered
// here or by another replica.
func (d *dispatcher) dispatch(ctx context.Context) error {
	top, err := d.s.top(ctx)
	if err != nil {
		return err
	}
	var subs []store.Webhook
	if err := d.s.db.Gorm(ctx).Where("enabled = ? AND delivered_seq < ?", true, top).Find(&subs).Error; err != nil {
		return store.Translate(err)
	}
	now := d.s.now()
	for i := range subs {
		sub := subs[i]
		if sub.NextAttemptTime != nil && sub.NextAttemptTime.After(now) {
			continue
		}
		if _, busy := d.running.LoadOrStore(sub.ID, struct{}{}); busy {
			continue
		}
		held, err := d.s.db.AcquireLease(ctx, webhookLease(sub.ID), d.holder, d.leaseTTL())
		if err != nil || !held {
			d.running.Delete(sub.ID)
			continue
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			defer d.running.Delete(sub.ID)
			// Keep going while there is a backlog, rather than wait for
			// the next tick after each batch.
			for ctx.Err() == nil {
				more, err := d.drain(ctx, sub.ID)
				if err != nil && ctx.Err() == nil {
					d.s.log.WarnContext(ctx, "webhook delivery", slog.String("webhook", sub.ID), slog.Any("error", err))
				}
				if !more || err != nil {
					break
				}
			}
			if ctx.Err() != nil {
				// Shutting down: let another replica take over at once.
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				_ = d.s.db.ReleaseLease(rctx, webhookLease(sub.ID), d.holder)
				cancel()
			}
		}()
	}
	return nil
}

// drain delivers a subscription's next events until it is up to date,
// a delivery fails, or drainLimit events were read; more reports the
// last case, when another batch may be waiting. Successful deliveries are
// recorded together, at least every flushEvery and at the end: one
// transaction per event would cost a commit (an fsync) per event, while a
// crash before a record only means those events are delivered again.
func (d *dispatcher) drain(ctx context.Context, id string) (more bool, err error) {
	var sub store.Webhook
	if err := d.s.db.Gorm(ctx).Where("id = ?", id).Take(&sub).Error; err != nil {
		return false, store.Translate(err)
	}
	if !sub.Enabled {
		return false, nil
	}
	var rows []store.Event
	err = eventScope(d.s.db.Gorm(ctx), webhookOwner(&sub)).Where("seq > ?", sub.DeliveredSeq).
		Order("seq").Limit(drainLimit).Find(&rows).Error
	if err != nil {
		return false, store.Translate(err)
	}
	types := splitTypes(sub.EventTypes)
	pos, attempts := sub.DeliveredSeq, sub.Attempts
	var done []*store.WebhookDelivery
	// flush records what was delivered since the last flush, and failed
	// when not nil. It records even when ctx ended (shutdown), briefly,
	// so that a replica taking over does not send those events again.
	flushed := time.Now()
	flush := func(failed *store.WebhookDelivery) (bool, error) {
		if pos == sub.DeliveredSeq && failed == nil {
			return true, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		ok, err := d.record(rctx, &sub, pos, done, failed)
		done, flushed = nil, time.Now()
		return ok, err
	}
	// The lease was taken by dispatch; renew it once a third of its time
	// has passed, not before every delivery.
	renewed := time.Now()
	for i := range rows {
		ev := &rows[i]
		if !changefeed.Match(types, ev.Type) {
			pos = *ev.Seq
			continue
		}
		if time.Since(renewed) > d.leaseTTL()/3 {
			if held, err := d.s.db.AcquireLease(ctx, webhookLease(id), d.holder, d.leaseTTL()); err != nil || !held {
				return false, err
			}
			renewed = time.Now()
		}
		delivery, err := d.s.deliver(ctx, &sub, ev, attempts, false)
		if err != nil {
			return false, err
		}
		if ctx.Err() != nil {
			// Cut off by shutdown: not the receiver's failure.
			_, err := flush(nil)
			return false, err
		}
		if !delivery.Success {
			_, err := flush(delivery)
			return false, err
		}
		done = append(done, delivery)
		pos, attempts = *ev.Seq, 0
		if time.Since(flushed) >= flushEvery {
			if ok, err := flush(nil); err != nil || !ok {
				return false, err
			}
		}
	}
	if ok, err := flush(nil); err != nil || !ok {
		return false, err
	}
	return len(rows) == drainLimit, nil
}

// flushEvery bounds how long delivered events wait to be recorded.
const flushEvery = time.Second

// record stores delivery attempts and moves the subscription in one
// transaction: to pos, past the events delivered (done) and skipped, and,
// when failed is not nil, to the next retry of the event after it. It
// reports false when the subscription moved meanwhile (changed by a user
// or by another replica), so that the caller stops.
func (d *dispatcher) record(ctx context.Context, sub *store.Webhook, pos int64, done []*store.WebhookDelivery, failed *store.WebhookDelivery) (bool, error) {
	ctx = principal.NewContext(ctx, principal.NewSystem("webhooks"))
	moved := false
	var saved *store.Webhook
	err := d.s.db.InTx(ctx, func(tx *gorm.DB) error {
		// InTx may rerun this: *sub changes only once one run commits.
		moved, saved = false, nil
		var row store.Webhook
		if err := lockRow(tx, &row, sub.ID); err != nil {
			return err
		}
		if row.Version != sub.Version || row.DeliveredSeq != sub.DeliveredSeq || !row.Enabled {
			moved = true
			return nil
		}
		now := d.s.now()
		attempts := done
		if failed != nil {
			attempts = append(attempts, failed)
		}
		if len(attempts) > 0 {
			if err := store.Translate(tx.Create(attempts).Error); err != nil {
				return err
			}
		}
		if pos != row.DeliveredSeq {
			row.DeliveredSeq = pos
			retryNow(&row)
		}
		if failed != nil {
			row.Attempts++
			if row.FailingSince == nil {
				row.FailingSince = &now
			}
			next := now.Add(webhook.Backoff(int(row.Attempts), nil))
			row.NextAttemptTime = &next
			if now.Sub(*row.FailingSince) >= d.s.feed.WebhookRetryWindow {
				return d.disable(ctx, tx, &row, failed)
			}
		}
		// Delivery progress is not a change of the subscription: no new
		// version (a user's etag stays valid), no audit record.
		saved = &row
		return store.Translate(tx.Select("delivered_seq", "attempts", "failing_since", "next_attempt_time").Save(&row).Error)
	})
	if err != nil {
		return false, err
	}
	if saved != nil {
		*sub = *saved
	}
	return !moved, nil
}

// disable turns off a subscription whose receiver has failed for the
// whole retry window, with an audit record and a webhook.disabled event.
func (d *dispatcher) disable(ctx context.Context, tx *gorm.DB, row *store.Webhook, last *store.WebhookDelivery) error {
	before := webhookProto(row)
	row.Enabled = false
	row.DisabledReason = "every delivery failed for " + d.s.feed.WebhookRetryWindow.String() + " (" + row.FailingSince.Format(time.RFC3339) +
		" to now, " + strconv.Itoa(int(row.Attempts)) + " attempts; last: " + last.Error + "); re-enable it to resume after event " + strconv.FormatInt(row.DeliveredSeq, 10)
	row.DisabledReason = truncate(row.DisabledReason, 500)
	row.NextAttemptTime = nil
	row.Touch(d.s.now())
	if err := store.Translate(tx.Save(row).Error); err != nil {
		return err
	}
	return d.s.auditAs(ctx, tx, resname.Format(resname.Webhooks, row.ID), before, webhookProto(row), changefeed.Disabled)
}
