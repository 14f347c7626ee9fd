package store_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func newEvent(resource string, now time.Time) *store.Event {
	return &store.Event{Type: "ticket.updated", Resource: resource, ResourceType: "ticket", Principal: "system/test", Data: []byte{}, CreateTime: now}
}

// positions returns resource → position of every numbered event.
func positions(t *testing.T, db *store.DB) map[string]int64 {
	var rows []store.Event
	require.NoError(t, db.Gorm(context.Background()).Where("seq IS NOT NULL").Find(&rows).Error)
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Resource] = *r.Seq
	}
	return out
}

// TestSequenceEventsInCommitOrder: an event whose transaction commits
// after a later-inserted one has been numbered gets a position above it,
// never a gap a reader has already passed. MySQL only: SQLite runs one
// write transaction at a time, so inserts commit in id order anyway.
func TestSequenceEventsInCommitOrder(t *testing.T) {
	if !slices.Contains(storetest.Dialects(t), store.DialectMySQL) {
		t.Skip("needs MySQL: SQLite commits in id order")
	}
	db := storetest.Open(t, store.DialectMySQL)
	ctx := context.Background()
	now := db.Now()

	// A inserts between two committed events and commits last, so its id
	// lies inside the range the first run numbers; the run must read past
	// its uncommitted row, neither wait for it nor number it.
	require.NoError(t, db.Gorm(ctx).Create(newEvent("tickets/z", now)).Error)
	inserted, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.InTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Create(newEvent("tickets/a", now)).Error; err != nil {
				return err
			}
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	require.NoError(t, db.Gorm(ctx).Create(newEvent("tickets/b", now)).Error)
	n, err := db.SequenceEvents(ctx, 100)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "only the committed events")
	b := positions(t, db)["tickets/b"]
	require.Positive(t, b)

	close(release)
	require.NoError(t, <-done)
	n, err = db.SequenceEvents(ctx, 100)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Greater(t, positions(t, db)["tickets/a"], b, "numbered after what readers may have read")

	// Retention: purged positions are never given again.
	require.NoError(t, db.Gorm(ctx).Create(newEvent("tickets/c", now.Add(time.Hour))).Error)
	_, err = db.PurgeEvents(ctx, now.Add(time.Minute), 100)
	require.NoError(t, err)
	purged, err := db.EventPosition(ctx, store.CursorPurged)
	require.NoError(t, err)
	_, err = db.SequenceEvents(ctx, 100)
	require.NoError(t, err)
	require.Equal(t, []string{"tickets/c"}, slices.Collect(maps.Keys(positions(t, db))))
	require.Greater(t, positions(t, db)["tickets/c"], purged)
}
