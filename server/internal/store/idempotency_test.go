package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

const testMethod = "/aftersales.v1.OrderService/CreateOrder"

var errWorkFailed = errors.New("work failed")

// createOrder plays an idempotent RPC handler as the service does: one
// transaction does the work (creating a row that must exist only once)
// and stores its response last; when it fails, the stored outcome of an
// earlier run, if any, is the answer.
func createOrder(ctx context.Context, db *store.DB, requestID string, request string,
	work func(tx *gorm.DB) ([]byte, error),
) (resp []byte, replayed bool, err error) {
	hash := sha256.Sum256([]byte(request))
	err = db.InTx(ctx, func(tx *gorm.DB) error {
		resp, err = work(tx)
		if err != nil || requestID == "" {
			return err
		}
		return db.SaveIdempotent(tx, testMethod, requestID, hash[:], "orders/1", resp)
	})
	if err == nil || requestID == "" {
		return resp, false, err
	}
	prior, perr := db.Replay(ctx, testMethod, requestID, hash[:])
	switch {
	case perr != nil:
		return nil, false, perr
	case prior != nil:
		return prior.Response, true, nil
	}
	return nil, false, err
}

// insertOrderLine is work that different callers do differently (a row
// of their own), so only a rollback keeps a duplicate's from staying.
func insertOrderLine(tx *gorm.DB, caller int) error {
	return tx.Create(&store.Lease{Name: fmt.Sprintf("orders/1/lines/%d", caller), Holder: "work", ExpiresAt: time.Now()}).Error
}

// insertOrderRow is the "work": a row with a fixed primary key, so a
// second execution would fail with a duplicate key.
func insertOrderRow(tx *gorm.DB) error {
	return tx.Create(&store.Lease{Name: "orders/1", Holder: "work", ExpiresAt: time.Now()}).Error
}

func TestIdempotentConcurrentDuplicatesExecuteOnce(t *testing.T) {
	const callers = 16
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()

			var (
				committed atomic.Int64
				wg        sync.WaitGroup
				start     = make(chan struct{})
				results   = make([][]byte, callers)
			)
			for i := range callers {
				wg.Go(func() {
					<-start
					resp, replayed, err := createOrder(ctx, db, "req-1", "same request", func(tx *gorm.DB) ([]byte, error) {
						time.Sleep(50 * time.Millisecond) // keep the transaction open while others arrive
						return fmt.Appendf(nil, "response from caller %d", i), insertOrderLine(tx, i)
					})
					assert.NoError(t, err)
					if !replayed {
						committed.Add(1)
					}
					results[i] = resp
				})
			}
			close(start)
			wg.Wait()

			require.EqualValues(t, 1, committed.Load(), "exactly one caller's work commits")
			var lines int64
			require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name LIKE ?", "orders/1/lines/%").Count(&lines).Error)
			require.EqualValues(t, 1, lines, "the others' work rolled back")
			require.NotEmpty(t, results[0])
			for i := range results {
				require.Equal(t, results[0], results[i], "caller %d got the stored response", i)
			}
		})
	}
}

func TestIdempotentReplayAndMismatch(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			work := func(tx *gorm.DB) ([]byte, error) { return []byte("first"), insertOrderRow(tx) }

			resp, replayed, err := createOrder(ctx, db, "req-1", "a", work)
			require.NoError(t, err)
			require.False(t, replayed)
			require.Equal(t, []byte("first"), resp)

			resp, replayed, err = createOrder(ctx, db, "req-1", "a", work)
			require.NoError(t, err)
			require.True(t, replayed)
			require.Equal(t, []byte("first"), resp)

			_, _, err = createOrder(ctx, db, "req-1", "b", work)
			require.ErrorIs(t, err, store.ErrIdempotencyMismatch)

			// Request ids are scoped per method.
			hash := sha256.Sum256([]byte("b"))
			require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
				return db.SaveIdempotent(tx, "/other/Method", "req-1", hash[:], "", nil)
			}))

			// An empty response is stored and replayed as empty.
			empty := func(*gorm.DB) ([]byte, error) { return []byte{}, nil }
			_, _, err = createOrder(ctx, db, "req-2", "c", empty)
			require.NoError(t, err)
			resp, replayed, err = createOrder(ctx, db, "req-2", "c", empty)
			require.NoError(t, err)
			require.True(t, replayed)
			require.Empty(t, resp)

			var key store.IdempotencyKey
			require.NoError(t, db.Gorm(ctx).Where("method = ? AND request_id = ?", testMethod, "req-1").Take(&key).Error)
			require.Equal(t, "orders/1", key.Resource)
			require.Equal(t, db.Now().Location(), key.CreateTime.Location())
		})
	}
}

func TestIdempotentAfterRollbackExecutesAgain(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()

			_, _, err := createOrder(ctx, db, "req-1", "a", func(*gorm.DB) ([]byte, error) {
				return nil, errWorkFailed
			})
			require.ErrorIs(t, err, errWorkFailed)

			resp, replayed, err := createOrder(ctx, db, "req-1", "a", func(tx *gorm.DB) ([]byte, error) {
				return []byte("second"), insertOrderRow(tx)
			})
			require.NoError(t, err)
			require.False(t, replayed, "the rolled back claim left nothing behind")
			require.Equal(t, []byte("second"), resp)
		})
	}
}

// TestIdempotentFirstRollsBackWhileOthersWait: duplicates queue on the
// key of a first run whose transaction then fails. One of them must
// commit its work; the rest replay it. On MySQL, InnoDB may pick deadlock
// victims among duplicates waiting on one key (its documented
// duplicate-insert behaviour); they get ErrConflict and a retry replays.
func TestIdempotentFirstRollsBackWhileOthersWait(t *testing.T) {
	const waiters = 8
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()

			var committed, conflicts atomic.Int64
			started := make(chan struct{})
			firstDone := make(chan error)
			go func() {
				// The first run holds the key (its record written, as the
				// last statement of its work) and then fails: a commit
				// that does not happen.
				hash := sha256.Sum256([]byte("a"))
				firstDone <- db.InTx(ctx, func(tx *gorm.DB) error {
					// What InTx does with the appended record just
					// before COMMIT.
					err := tx.Create(&store.IdempotencyKey{Method: testMethod, RequestID: "req-1", RequestHash: hash[:],
						Response: []byte("lost"), Resource: "orders/1", CreateTime: db.Now()}).Error
					if err != nil {
						return err
					}
					close(started)
					time.Sleep(200 * time.Millisecond) // let the others queue on the key
					return errWorkFailed
				})
			}()
			<-started

			var wg sync.WaitGroup
			for i := range waiters {
				wg.Go(func() {
					for {
						resp, replayed, err := createOrder(ctx, db, "req-1", "a", func(tx *gorm.DB) ([]byte, error) {
							return []byte("done"), insertOrderLine(tx, i)
						})
						if errors.Is(err, store.ErrConflict) {
							conflicts.Add(1)
							continue // deadlock victim: retry
						}
						assert.NoError(t, err)
						assert.Equal(t, []byte("done"), resp)
						if !replayed {
							committed.Add(1)
						}
						return
					}
				})
			}
			require.ErrorIs(t, <-firstDone, errWorkFailed)
			wg.Wait()
			require.EqualValues(t, 1, committed.Load())
			var lines int64
			require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Where("name LIKE ?", "orders/1/lines/%").Count(&lines).Error)
			require.EqualValues(t, 1, lines)
			t.Logf("%d deadlock victims retried", conflicts.Load())
		})
	}
}

func TestIdempotentWithoutRequestID(t *testing.T) {
	db := storetest.Open(t, store.DialectSQLite)
	ctx := t.Context()
	var executed int
	for range 2 {
		_, replayed, err := createOrder(ctx, db, "", "a", func(*gorm.DB) ([]byte, error) {
			executed++
			return []byte("x"), nil
		})
		require.NoError(t, err)
		require.False(t, replayed)
	}
	require.Equal(t, 2, executed)
}

func TestIdempotentMisuse(t *testing.T) {
	db := storetest.Open(t, store.DialectSQLite)
	ctx := t.Context()
	err := db.InTx(ctx, func(tx *gorm.DB) error {
		return db.SaveIdempotent(tx, testMethod, "req-1", []byte("short"), "", []byte("x"))
	})
	require.ErrorIs(t, err, store.ErrInternal)
	prior, err := db.Replay(ctx, testMethod, "req-1", []byte("short"))
	require.NoError(t, err)
	require.Nil(t, prior, "the refused record left nothing behind")
}

func TestPurgeIdempotencyKeys(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			clock := newFakeClock()
			db := storetest.OpenOptions(t, store.Options{URL: storetest.URL(t, dialect), Now: clock.Now})
			ctx := t.Context()
			hash := sha256.Sum256([]byte("a"))

			// More old keys than one purge batch, then a few recent ones.
			old := make([]store.IdempotencyKey, 2500)
			for i := range old {
				old[i] = store.IdempotencyKey{
					Method: testMethod, RequestID: fmt.Sprintf("old-%d", i),
					RequestHash: hash[:], CreateTime: db.Now(),
				}
			}
			require.NoError(t, db.Gorm(ctx).CreateInBatches(old, 500).Error)
			clock.Advance(time.Hour)
			cutoff := db.Now()
			for i := range 3 {
				require.NoError(t, db.InTx(ctx, func(tx *gorm.DB) error {
					return db.SaveIdempotent(tx, testMethod, fmt.Sprintf("new-%d", i), hash[:], "", nil)
				}))
			}

			n, err := db.PurgeIdempotencyKeys(ctx, cutoff)
			require.NoError(t, err)
			require.EqualValues(t, len(old), n)

			var left int64
			require.NoError(t, db.Gorm(ctx).Model(&store.IdempotencyKey{}).Count(&left).Error)
			require.EqualValues(t, 3, left)

			n, err = db.PurgeIdempotencyKeys(ctx, cutoff)
			require.NoError(t, err)
			require.Zero(t, n)
		})
	}
}
