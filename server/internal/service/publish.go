package service

import (
	"context"
	"log/slog"

	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// publisherLease is held by the replica publishing the feed to the
// broker, which keeps its position in the "publisher" event cursor.
const (
	publisherLease  = "event-publisher"
	cursorPublisher = "publisher"
)

// adminView is the whole feed, unredacted: what a broker receives.
var adminView = principal.Principal{Kind: principal.System, Role: principal.RoleAdmin, Name: "system/publisher"}

// publish sends the events after the publisher's position (from the
// oldest kept, the first time) to the broker
// in feed order, moving the position after each batch. A crash between a
// publish and the move publishes those events again; the broker drops
// them by id (Nats-Msg-Id).
func (s *Services) publish(ctx context.Context) (int, error) {
	pos, err := s.deps.DB.EventPosition(ctx, cursorPublisher)
	if err != nil {
		return 0, err
	}
	b := s.events.base
	// A publisher that was off for longer than the retention resumes
	// with the oldest event kept, and says what the broker missed.
	purged, err := s.deps.DB.EventPosition(ctx, store.CursorPurged)
	if err != nil {
		return 0, err
	}
	if pos < purged {
		b.log.WarnContext(ctx, "event publisher fell behind the retention; events were not published",
			slog.Int64("after_id", pos), slog.Int64("through_id", purged))
		pos = purged
	}
	n := 0
	for {
		evs, next, err := b.page(ctx, adminView, pos, nil, sequenceBatch)
		if err != nil {
			return n, err
		}
		for _, ev := range evs {
			body, err := eventJSON.Marshal(ev)
			if err != nil {
				return n, err
			}
			if err := s.deps.Publisher.Publish(ctx, ev.GetId(), ev.GetType(), body); err != nil {
				return n, err
			}
			n++
		}
		if next == pos {
			return n, nil
		}
		if err := store.Translate(store.SetEventPosition(s.deps.DB.Gorm(ctx), cursorPublisher, next)); err != nil {
			return n, err
		}
		pos = next
		if len(evs) < sequenceBatch {
			return n, nil
		}
	}
}
