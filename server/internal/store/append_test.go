package store_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestAppend: rows appended in a transaction are inserted, in order, when
// it commits, with the values and NULLs GORM would write, and not at all
// when it fails; a duplicate among them fails the transaction and takes
// its direct writes with it.
func TestAppend(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			now := db.Now()
			count := func(model any, where string, args ...any) int64 {
				var n int64
				require.NoError(t, db.Gorm(ctx).Model(model).Where(where, args...).Count(&n).Error)
				return n
			}

			require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
				if err := tx.Create(&store.Lease{Name: "direct/1", Holder: "h", ExpiresAt: now}).Error; err != nil {
					return err
				}
				if err := store.Append(tx, newEvent("tickets/a", now), &store.Lease{Name: "appended/1", Holder: "h", ExpiresAt: now}); err != nil {
					return err
				}
				if err := store.Append(tx, newEvent("tickets/b", now)); err != nil {
					return err
				}
				require.Zero(t, count(&store.Event{}, "resource IN ?", []string{"tickets/a", "tickets/b"}), "appended rows wait for the end of the transaction")
				return nil
			}))
			var evs []store.Event
			require.NoError(t, db.Gorm(ctx).Where("resource IN ?", []string{"tickets/a", "tickets/b"}).Order("id").Find(&evs).Error)
			require.Len(t, evs, 2)
			require.Equal(t, "tickets/a", evs[0].Resource, "inserted in the order appended")
			require.Nil(t, evs[0].Seq, "a nil pointer is NULL")
			require.Equal(t, now, evs[0].CreateTime.UTC())
			require.Equal(t, []byte{}, evs[0].Data)
			require.Positive(t, evs[0].ID, "the database numbers auto-increment keys")
			require.EqualValues(t, 1, count(&store.Lease{}, "name = ?", "appended/1"))

			errWork := errors.New("work failed")
			err := db.InTx(ctx, func(tx *gorm.DB) error {
				require.NoError(t, store.Append(tx, newEvent("tickets/c", now)))
				return errWork
			})
			require.ErrorIs(t, err, errWork)
			require.Zero(t, count(&store.Event{}, "resource = ?", "tickets/c"), "a failed transaction appends nothing")

			err = db.InTx(ctx, func(tx *gorm.DB) error {
				if err := tx.Create(&store.Lease{Name: "direct/2", Holder: "h", ExpiresAt: now}).Error; err != nil {
					return err
				}
				return store.Append(tx, newEvent("tickets/d", now), &store.Lease{Name: "appended/1", Holder: "again", ExpiresAt: now})
			})
			require.ErrorIs(t, err, store.ErrAlreadyExists)
			require.Zero(t, count(&store.Event{}, "resource = ?", "tickets/d"), "nothing of the batch stays")
			require.Zero(t, count(&store.Lease{}, "name = ?", "direct/2"), "nor the transaction's own writes")

			// Outside a transaction, Append inserts at once.
			require.NoError(t, store.Append(db.Gorm(ctx), &store.Lease{Name: "outside/1", Holder: "h", ExpiresAt: now.Add(time.Hour)}))
			require.EqualValues(t, 1, count(&store.Lease{}, "name = ?", "outside/1"))
		})
	}
}

// TestAfterCommit: functions queued in a transaction run once it has
// committed, when its writes are visible to other connections, and never
// when it rolls back.
func TestAfterCommit(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			var seen []int64
			visible := func() {
				var n int64
				require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name = ?", "after/1").Count(&n).Error)
				seen = append(seen, n)
			}
			require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
				store.AfterCommit(tx, visible)
				require.Empty(t, seen, "not before the commit")
				return store.Append(tx, &store.Lease{Name: "after/1", Holder: "h", ExpiresAt: db.Now()})
			}))
			require.Equal(t, []int64{1}, seen, "once, with the transaction's rows visible")

			err := db.InTx(ctx, func(tx *gorm.DB) error {
				store.AfterCommit(tx, visible)
				return errors.New("rolled back")
			})
			require.Error(t, err)
			require.Len(t, seen, 1, "never after a rollback")
		})
	}
}

// TestScanRow: ScanRow reads a row inside the transaction, including what
// the transaction itself wrote, scans NULLs into sql.Null types and times
// as times on both dialects, says when there is no row, and returns a
// statement's error translated.
func TestScanRow(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			expires := db.Now().Add(time.Hour)
			const query = "SELECT leases.holder, leases.expires_at, other.name FROM leases LEFT JOIN leases other ON other.name = ? WHERE leases.name = ?"
			require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
				require.NoError(t, tx.Create(&store.Lease{Name: "scan/1", Holder: "h1", ExpiresAt: expires}).Error)
				var (
					holder string
					at     time.Time
					other  sql.NullString
				)
				ok, err := store.ScanRow(tx, query, []any{"scan/none", "scan/1"}, &holder, &at, &other)
				require.NoError(t, err)
				require.True(t, ok)
				require.Equal(t, "h1", holder)
				require.Equal(t, expires, at.UTC())
				require.False(t, other.Valid, "the unmatched join is NULL")

				ok, err = store.ScanRow(tx, query, []any{"scan/1", "scan/none"}, &holder, &at, &other)
				require.NoError(t, err)
				require.False(t, ok, "no row")

				_, err = store.ScanRow(tx, "SELECT holder FROM no_such_table WHERE name = ?", []any{"x"}, &holder)
				require.ErrorIs(t, err, store.ErrInternal)
				return nil
			}))
		})
	}
}

// TestAppendAtomicOnConflicts: a transaction that writes a row another
// connection keeps writing, then appends rows, either commits whole or
// leaves nothing behind, wherever the conflict lands. On Galera the
// other connection is on another node, whose write sets roll the
// transaction back at any moment, in the middle of its appended INSERTs
// too (flushCommit); on one MySQL server the row lock orders the two.
func TestAppendAtomicOnConflicts(t *testing.T) {
	urls := storetest.ReplicaURLs(t, store.DialectMySQL, 2)
	a := storetest.OpenOptions(t, store.Options{URL: urls[0]})
	b := storetest.OpenOptions(t, store.Options{URL: urls[1]})
	ctx := t.Context()
	now := a.Now()
	require.NoError(t, a.Gorm(ctx).Create(&store.Lease{Name: "hot", Holder: "a", ExpiresAt: now}).Error)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// Errors (a lost certification) only make it try again.
			_ = b.Gorm(ctx).Exec("UPDATE leases SET holder = ? WHERE name = 'hot'", fmt.Sprint("b", i)).Error
		}
	}()
	const trials, rows = 300, 20
	errs := make([]error, trials)
	for i := range trials {
		errs[i] = a.InTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec("UPDATE leases SET holder = ? WHERE name = 'hot'", fmt.Sprint("a", i)).Error; err != nil {
				return err
			}
			for k := range rows {
				if err := store.Append(tx, &store.Lease{Name: fmt.Sprintf("t%d/%d", i, k), Holder: "a", ExpiresAt: now}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	close(stop)
	wg.Wait()

	failed := 0
	for i, err := range errs {
		var n int64
		require.NoError(t, a.Gorm(ctx).Model(&store.Lease{}).Where("name LIKE ?", fmt.Sprintf("t%d/%%", i)).Count(&n).Error)
		if err != nil {
			failed++
			require.ErrorIs(t, err, store.ErrConflict, "trial %d", i)
			require.Zero(t, n, "trial %d failed (%v) but left rows", i, err)
			continue
		}
		require.EqualValues(t, rows, n, "trial %d committed", i)
	}
	t.Logf("%d trials: %d reruns after a conflict, %d failed with ErrConflict", trials, a.ConflictRetries(), failed)
	if os.Getenv(storetest.MySQLHostsEnv) != "" {
		require.Positive(t, a.ConflictRetries(), "on Galera the two nodes' writes must have collided")
	}
}
