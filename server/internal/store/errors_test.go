package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func TestTranslate(t *testing.T) {
	secret := errors.New("SELECT * FROM secret_table WHERE password = 'hunter2'")
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"record not found", gorm.ErrRecordNotFound, store.ErrNotFound},
		{"gorm duplicate", gorm.ErrDuplicatedKey, store.ErrAlreadyExists},
		{"mysql duplicate", &mysql.MySQLError{Number: 1062, Message: "Duplicate entry 'x' for key 'PRIMARY'"}, store.ErrAlreadyExists},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, store.ErrConflict},
		{"mysql lock wait timeout", &mysql.MySQLError{Number: 1205}, store.ErrConflict},
		{"mysql read only", &mysql.MySQLError{Number: 1290}, store.ErrUnavailable},
		{"mysql syntax", &mysql.MySQLError{Number: 1064}, store.ErrInternal},
		{"bad conn", driver.ErrBadConn, store.ErrUnavailable},
		{"invalid conn", mysql.ErrInvalidConn, store.ErrUnavailable},
		{"wrapped bad conn", fmt.Errorf("query: %w", driver.ErrBadConn), store.ErrUnavailable},
		{"net error", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route")}, store.ErrUnavailable},
		{"deadline", context.DeadlineExceeded, store.ErrUnavailable},
		{"gorm misuse", gorm.ErrMissingWhereClause, store.ErrInternal},
		{"unknown", secret, store.ErrInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := store.Translate(tc.err)
			require.ErrorIs(t, got, tc.want)
			if !errors.Is(tc.err, context.DeadlineExceeded) {
				require.NotErrorIs(t, got, tc.err, "the cause must not be exposed through errors.Is")
			}
			require.NotContains(t, got.Error(), "hunter2")

			var se *store.Error
			require.ErrorAs(t, got, &se)
			require.Equal(t, tc.err, se.Cause(), "the cause is kept for logs")
			require.Same(t, got, store.Translate(got), "translating twice changes nothing")
		})
	}

	require.NoError(t, store.Translate(nil))
	require.Same(t, store.ErrConflict, store.Translate(store.ErrConflict))
	wrapped := fmt.Errorf("etag mismatch: %w", store.ErrConflict)
	require.Same(t, wrapped, store.Translate(wrapped))

	// Deadlines stay recognisable as such, besides being unavailability.
	require.ErrorIs(t, store.Translate(fmt.Errorf("x: %w", context.DeadlineExceeded)), context.DeadlineExceeded)
	require.ErrorIs(t, store.Translate(context.Canceled), context.Canceled)
}

func TestTranslateRealErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			g := db.Gorm(ctx)

			lease := store.Lease{Name: "n", Holder: "h", ExpiresAt: db.Now()}
			require.NoError(t, store.Translate(g.Create(&lease).Error))

			err := store.Translate(g.Create(&lease).Error)
			require.ErrorIs(t, err, store.ErrAlreadyExists)
			require.Equal(t, "store: already exists: duplicate key", err.Error())

			// A duplicate via raw SQL is recognised as well.
			err = store.Translate(g.Exec("INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)",
				"n", "h", db.Now()).Error)
			require.ErrorIs(t, err, store.ErrAlreadyExists)

			var got store.Lease
			err = store.Translate(g.Where("name = ?", "missing").Take(&got).Error)
			require.ErrorIs(t, err, store.ErrNotFound)

			err = store.Translate(g.Exec("SELECT * FROM no_such_table").Error)
			require.ErrorIs(t, err, store.ErrInternal)
			require.NotContains(t, err.Error(), "no_such_table")

			expired, cancel := context.WithTimeout(ctx, time.Nanosecond)
			defer cancel()
			<-expired.Done()
			err = store.Translate(db.Gorm(expired).Take(&got).Error)
			require.ErrorIs(t, err, store.ErrUnavailable)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
}

func TestUnavailableOnClosedPort(t *testing.T) {
	// Reserve a port and close it so nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = store.Open(t.Context(), store.Options{URL: "mysql://root:secret@" + addr + "/db"})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.NotContains(t, err.Error(), "secret")
	require.NotContains(t, err.Error(), addr)
}

func TestUnavailableWhileProxyStopped(t *testing.T) {
	cfg := storetest.MySQLConfig(t)
	proxy := storetest.NewTCPProxy(t, cfg.Addr)
	db := storetest.OpenOptions(t, store.Options{
		URL: storetest.MySQLURL(t, storetest.MySQLDatabase(t), proxy.Addr()),
	})
	ctx := t.Context()
	require.NoError(t, db.Ping(ctx))
	ok, err := db.AcquireLease(ctx, "l", "a", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)

	proxy.Stop()
	require.ErrorIs(t, db.Ping(ctx), store.ErrUnavailable)
	_, err = db.AcquireLease(ctx, "l", "a", time.Minute)
	require.ErrorIs(t, err, store.ErrUnavailable)
	err = db.InTx(ctx, func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error })
	require.ErrorIs(t, err, store.ErrUnavailable)

	// The pool recovers by itself once the database is back.
	proxy.Start()
	require.NoError(t, db.Ping(ctx))
	ok, err = db.AcquireLease(ctx, "l", "a", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
}

func TestUnavailableWhenConnectionDropsMidTransaction(t *testing.T) {
	cfg := storetest.MySQLConfig(t)
	proxy := storetest.NewTCPProxy(t, cfg.Addr)
	db := storetest.OpenOptions(t, store.Options{
		URL: storetest.MySQLURL(t, storetest.MySQLDatabase(t), proxy.Addr()),
	})
	ctx := t.Context()

	err := db.InTx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&store.Lease{Name: "x", Holder: "h", ExpiresAt: db.Now()}).Error; err != nil {
			return err
		}
		proxy.Stop()
		return tx.Create(&store.Lease{Name: "y", Holder: "h", ExpiresAt: db.Now()}).Error
	})
	require.ErrorIs(t, err, store.ErrUnavailable)

	proxy.Start()
	var n int64
	require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Count(&n).Error)
	require.Zero(t, n, "the interrupted transaction must not have committed")
}

// A deadlock is ErrConflict. (InTx reruns the victim, see
// TestInTxRetriesDeadlock; plain GORM transactions show the translation.)
func TestConflictOnMySQLDeadlock(t *testing.T) {
	db := storetest.Open(t, store.DialectMySQL)
	ctx := t.Context()
	for _, name := range []string{"a", "b"} {
		require.NoError(t, db.Gorm(ctx).Create(&store.Lease{Name: name, Holder: "h", ExpiresAt: db.Now()}).Error)
	}
	update := func(tx *gorm.DB, name string) error {
		return tx.Model(&store.Lease{}).Where("name = ?", name).Update("holder", "x").Error
	}

	// Two transactions lock a and b in opposite order; InnoDB aborts one.
	var locked sync.WaitGroup
	locked.Add(2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Go(func() {
			errs[i] = store.Translate(db.Gorm(ctx).Transaction(func(tx *gorm.DB) error {
				if err := update(tx, order[0]); err != nil {
					locked.Done()
					return err
				}
				locked.Done()
				locked.Wait()
				return update(tx, order[1])
			}))
		})
	}
	wg.Wait()
	require.True(t, errors.Is(errs[0], store.ErrConflict) != errors.Is(errs[1], store.ErrConflict),
		"exactly one transaction is the deadlock victim: %v", errs)
	require.True(t, errs[0] == nil || errs[1] == nil, "the other commits: %v", errs)
}

func TestUnavailableWhenSQLiteStaysLocked(t *testing.T) {
	url := storetest.URL(t, store.DialectSQLite)
	writer := storetest.OpenOptions(t, store.Options{URL: url})
	impatient := storetest.OpenOptions(t, store.Options{URL: url + "?_busy_timeout=50"})
	ctx := t.Context()

	release := make(chan struct{})
	holding := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- writer.InTx(ctx, func(*gorm.DB) error {
			close(holding) // BEGIN IMMEDIATE holds the write lock
			<-release
			return nil
		})
	}()
	<-holding
	_, err := impatient.AcquireLease(ctx, "l", "h", time.Minute)
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Equal(t, "store: database unavailable: database is locked", err.Error())
	close(release)
	require.NoError(t, <-done)
}
