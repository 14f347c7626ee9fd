package store_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func TestOpenDefaultsToSQLiteInDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db := storetest.OpenOptions(t, store.Options{DataDir: dir})

	require.Equal(t, store.DialectSQLite, db.Dialect())
	require.FileExists(t, filepath.Join(dir, "aftersales.db"))
	require.NoError(t, db.Ping(t.Context()))
}

func TestOpenSQLiteURLForms(t *testing.T) {
	dir := t.TempDir()
	for _, url := range []string{
		"sqlite://" + filepath.Join(dir, "a.db"), // sqlite:///abs/path
		"sqlite:" + filepath.Join(dir, "b.db"),
		"file:" + filepath.Join(dir, "c.db") + "?_busy_timeout=1000",
	} {
		t.Run(url, func(t *testing.T) {
			db := storetest.OpenOptions(t, store.Options{URL: url})
			require.Equal(t, store.DialectSQLite, db.Dialect())

			// The connection pragmas are in force on every connection.
			var mode string
			require.NoError(t, db.Gorm(t.Context()).Raw("PRAGMA journal_mode").Scan(&mode).Error)
			require.Equal(t, "wal", mode)
			var fk int
			require.NoError(t, db.Gorm(t.Context()).Raw("PRAGMA foreign_keys").Scan(&fk).Error)
			require.Equal(t, 1, fk)
		})
	}
	for _, name := range []string{"a.db", "b.db", "c.db"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
}

func TestOpenRejectsBadURLs(t *testing.T) {
	for _, url := range []string{
		"postgres://localhost/db",
		"mysql://user:secret@localhost:3306", // no database
		"sqlite:",
	} {
		_, err := store.Open(t.Context(), store.Options{URL: url})
		require.Error(t, err, url)
		require.NotContains(t, err.Error(), "secret")
	}
}

func TestMySQLSessionSettings(t *testing.T) {
	db := storetest.Open(t, store.DialectMySQL) // skips without MySQL
	require.Equal(t, store.DialectMySQL, db.Dialect())

	var tz, charset string
	require.NoError(t, db.Gorm(t.Context()).Raw("SELECT @@session.time_zone, @@session.character_set_client").
		Row().Scan(&tz, &charset))
	require.Equal(t, "+00:00", tz)
	require.Equal(t, "utf8mb4", charset)
}

func TestNowUsesInjectedClockInUTC(t *testing.T) {
	local := time.FixedZone("X", 3*3600)
	fixed := time.Date(2030, 1, 2, 3, 4, 5, 123456789, local)
	db := storetest.OpenOptions(t, store.Options{
		URL: storetest.URL(t, store.DialectSQLite),
		Now: func() time.Time { return fixed },
	})
	got := db.Now()
	require.Equal(t, time.UTC, got.Location())
	require.True(t, got.Equal(fixed.Truncate(time.Microsecond)), got)
}

func TestInTx(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			count := func() int64 {
				var n int64
				require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Count(&n).Error)
				return n
			}
			insert := func(tx *gorm.DB, name string) error {
				return tx.Create(&store.Lease{Name: name, Holder: "h", ExpiresAt: db.Now()}).Error
			}

			t.Run("commits on nil", func(t *testing.T) {
				require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error { return insert(tx, "a") }))
				require.EqualValues(t, 1, count())
			})

			t.Run("rolls back and returns caller errors unchanged", func(t *testing.T) {
				errValidation := errors.New("validation failed")
				err := db.InTx(ctx, func(tx *gorm.DB) error {
					require.NoError(t, insert(tx, "b"))
					return errValidation
				})
				require.Same(t, errValidation, err)
				require.EqualValues(t, 1, count())
			})

			t.Run("translates database errors", func(t *testing.T) {
				err := db.InTx(ctx, func(tx *gorm.DB) error {
					require.NoError(t, insert(tx, "c"))
					return insert(tx, "a")
				})
				require.ErrorIs(t, err, store.ErrAlreadyExists)
				require.EqualValues(t, 1, count())
			})

			t.Run("passes sentinels through", func(t *testing.T) {
				err := db.InTx(ctx, func(*gorm.DB) error { return store.ErrConflict })
				require.Same(t, store.ErrConflict, err)
			})

			t.Run("rolls back on panic", func(t *testing.T) {
				require.Panics(t, func() {
					_ = db.InTx(ctx, func(tx *gorm.DB) error {
						require.NoError(t, insert(tx, "d"))
						panic("boom")
					})
				})
				require.EqualValues(t, 1, count())
			})
		})
	}
}

func TestSQLiteReadsDuringWriteTransaction(t *testing.T) {
	db := storetest.Open(t, store.DialectSQLite)
	ctx := t.Context()
	err := db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&store.Lease{Name: "a", Holder: "h", ExpiresAt: db.Now()}).Error; err != nil {
			return err
		}
		// Another connection reads the last committed state without
		// waiting for this transaction.
		var n int64
		if err := db.Gorm(ctx).Model(&store.Lease{}).Count(&n).Error; err != nil {
			return err
		}
		require.Zero(t, n)
		return nil
	})
	require.NoError(t, err)
}

func TestSQLiteTransactionsQueueWithinDeadline(t *testing.T) {
	db := storetest.Open(t, store.DialectSQLite)
	holding, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.InTx(t.Context(), func(*gorm.DB) error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := db.InTx(ctx, func(*gorm.DB) error { return nil })
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	close(release)
	require.NoError(t, <-done)
	require.NoError(t, db.InTx(t.Context(), func(*gorm.DB) error { return nil }))
}

// TestLoggedSQLHasNoValues checks that the debug log of statements shows
// placeholders and never the values, which may be customer data or key
// ids, for every way the services query: model queries, Scan and Pluck.
func TestLoggedSQLHasNoValues(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			var logs bytes.Buffer
			db := storetest.OpenOptions(t, store.Options{
				URL:    storetest.URL(t, dialect),
				Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			})
			logs.Reset() // the migrations' statements
			g := db.Gorm(t.Context())
			const secret = "secret-value-7f3a"
			var c store.Customer
			require.ErrorIs(t, store.Translate(g.Where("id = ?", secret).Take(&c).Error), store.ErrNotFound)
			var row struct{ ID string }
			require.NoError(t, g.Table("customers c").Select("c.id").Where("c.id = ?", secret).Scan(&row).Error)
			var ids []string
			require.NoError(t, g.Model(&store.Customer{}).Where("display_name = ?", secret).Pluck("id", &ids).Error)

			out := logs.String()
			require.Equal(t, 3, strings.Count(out, "id = ?")+strings.Count(out, "display_name = ?"), "each statement is logged with its placeholder:\n%s", out)
			require.NotContains(t, out, secret)
		})
	}
}

// TestMySQLTransactionsEndClean: a MySQL transaction runs on a connection
// of its own and commits in the round trip of its appended rows, without
// database/sql's Tx to roll it back. Whatever ends it (commit, an error of
// the caller's, a duplicate among the appended rows, a panic, the caller's
// context ending between statements or during one), its connection goes
// back to the pool with no transaction open, or not at all: with a pool
// of one connection, every later statement would otherwise run inside the
// failed transaction and vanish with it.
func TestMySQLTransactionsEndClean(t *testing.T) {
	url := storetest.URL(t, store.DialectMySQL)       // skips without MySQL
	storetest.OpenOptions(t, store.Options{URL: url}) // migrates: the migration lock needs a second connection
	ctx := t.Context()
	db, err := store.Open(ctx, store.Options{URL: url, MaxOpenConns: 1, Logger: storetest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	now := db.Now()
	lease := func(name string) *store.Lease { return &store.Lease{Name: name, Holder: "h", ExpiresAt: now} }
	requireClean := func(t *testing.T, absent ...string) {
		t.Helper()
		var open int
		require.NoError(t, db.Gorm(ctx).Raw("SELECT @@in_transaction").Row().Scan(&open))
		require.Zero(t, open, "the pool's connection has a transaction open")
		for _, name := range absent {
			var n int64
			require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name = ?", name).Count(&n).Error)
			require.Zero(t, n, "%s was rolled back", name)
		}
	}

	t.Run("commit", func(t *testing.T) {
		require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Create(lease("ok/direct")).Error; err != nil {
				return err
			}
			return store.Append(tx, lease("ok/appended"))
		}))
		requireClean(t)
		var n int64
		require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name LIKE ?", "ok/%").Count(&n).Error)
		require.EqualValues(t, 2, n)
	})
	t.Run("commit with nothing appended", func(t *testing.T) {
		require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error { return tx.Create(lease("ok/alone")).Error }))
		requireClean(t)
		var n int64
		require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name = ?", "ok/alone").Count(&n).Error)
		require.EqualValues(t, 1, n)
	})
	t.Run("caller error", func(t *testing.T) {
		err := db.InTx(ctx, func(tx *gorm.DB) error {
			require.NoError(t, tx.Create(lease("err/direct")).Error)
			return errors.New("validation failed")
		})
		require.EqualError(t, err, "validation failed")
		requireClean(t, "err/direct")
	})
	t.Run("duplicate among the appended rows", func(t *testing.T) {
		err := db.InTx(ctx, func(tx *gorm.DB) error {
			require.NoError(t, tx.Create(lease("dup/direct")).Error)
			return store.Append(tx, lease("dup/appended"), lease("ok/appended"))
		})
		require.ErrorIs(t, err, store.ErrAlreadyExists)
		requireClean(t, "dup/direct", "dup/appended")
	})
	t.Run("panic", func(t *testing.T) {
		require.Panics(t, func() {
			_ = db.InTx(ctx, func(tx *gorm.DB) error {
				require.NoError(t, tx.Create(lease("panic/direct")).Error)
				panic("boom")
			})
		})
		requireClean(t, "panic/direct")
	})
	t.Run("context ends between statements", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		err := db.InTx(cctx, func(tx *gorm.DB) error {
			require.NoError(t, tx.Create(lease("cancel/direct")).Error)
			cancel()
			return store.Append(tx, lease("cancel/appended"))
		})
		require.ErrorIs(t, err, context.Canceled)
		requireClean(t, "cancel/direct", "cancel/appended")
	})
	t.Run("context ends during a statement", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		err := db.InTx(cctx, func(tx *gorm.DB) error {
			require.NoError(t, tx.Create(lease("slow/direct")).Error)
			return tx.Exec("SELECT SLEEP(2)").Error
		})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		requireClean(t, "slow/direct")
	})
	// START TRANSACTION travels with the first statement: that
	// statement's result is still its own, and it is inside the
	// transaction.
	t.Run("first statement an update", func(t *testing.T) {
		require.NoError(t, db.Gorm(ctx).Create([]*store.Lease{lease("first/1"), lease("first/2")}).Error)
		err := db.InTx(ctx, func(tx *gorm.DB) error {
			res := tx.Model(&store.Lease{}).Where("name LIKE ?", "first/%").Update("holder", "changed")
			require.NoError(t, res.Error)
			require.EqualValues(t, 2, res.RowsAffected, "the update's count, not START TRANSACTION's")
			return errors.New("undo")
		})
		require.EqualError(t, err, "undo")
		requireClean(t)
		var changed int64
		require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("holder = ?", "changed").Count(&changed).Error)
		require.Zero(t, changed, "the first statement was rolled back with the rest")
	})
	t.Run("first statement a query", func(t *testing.T) {
		require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
			var open int
			require.NoError(t, tx.Raw("SELECT @@in_transaction").Scan(&open).Error)
			require.Equal(t, 1, open, "the query ran after START TRANSACTION, and its rows are its own")
			var names []string
			require.NoError(t, tx.Model(&store.Lease{}).Where("name LIKE ?", "first/%").Order("name").Pluck("name", &names).Error)
			require.Equal(t, []string{"first/1", "first/2"}, names)
			return nil
		}))
		requireClean(t)
	})
	t.Run("first statement through Row", func(t *testing.T) {
		// A *sql.Row holds one statement: START TRANSACTION goes alone
		// first, and the query runs inside the transaction.
		require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
			var open int
			require.NoError(t, tx.Raw("SELECT @@in_transaction").Row().Scan(&open))
			require.Equal(t, 1, open)
			return nil
		}))
		requireClean(t)
	})
	t.Run("first statement fails", func(t *testing.T) {
		err := db.InTx(ctx, func(tx *gorm.DB) error {
			return tx.Create(lease("first/1")).Error
		})
		require.ErrorIs(t, err, store.ErrAlreadyExists)
		requireClean(t)
	})
	t.Run("no statement", func(t *testing.T) {
		require.NoError(t, db.InTx(ctx, func(*gorm.DB) error { return nil }))
		require.EqualError(t, db.InTx(ctx, func(*gorm.DB) error { return errors.New("refused") }), "refused")
		requireClean(t)
	})
}
