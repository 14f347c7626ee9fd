package store_test

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// A URL that lists several hosts connects to the first that answers: a
// dead node at the head of the list costs a refused dial, not an outage.
func TestOpenSkipsDeadHost(t *testing.T) {
	cfg := storetest.MySQLConfig(t)
	dbname := storetest.MySQLDatabase(t)
	dead := closedAddr(t)
	live := strings.Split(cfg.Addr, ",")[0]

	db := storetest.OpenOptions(t, store.Options{URL: "mysql://" + cfg.User + "@" + dead + "," + live + "/" + dbname})
	var one int
	require.NoError(t, db.Gorm(t.Context()).Raw("SELECT 1").Scan(&one).Error)
	require.Equal(t, 1, one)
	require.NoError(t, db.Ping(t.Context()), "a plain MySQL server or a synced Galera node is ready")

	// Every host dead: unavailable, which callers may retry.
	_, err := store.Open(t.Context(), store.Options{URL: "mysql://" + cfg.User + "@" + dead + "," + closedAddr(t) + "/" + dbname})
	require.ErrorIs(t, err, store.ErrUnavailable)
}

// Two transactions that lock two rows in opposite orders deadlock; the
// database rolls one back (1213), and InTx runs it again, so both
// succeed and the caller never sees the conflict.
func TestInTxRetriesDeadlock(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		if dialect != store.DialectMySQL {
			continue // SQLite runs one write transaction at a time
		}
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			now := db.Now()
			for _, name := range []string{"a", "b"} {
				require.NoError(t, db.Gorm(ctx).Create(&store.Lease{Name: name, Holder: "-", ExpiresAt: now}).Error)
			}
			var (
				locked sync.WaitGroup // both hold their first row
				runs   atomic.Int32
			)
			locked.Add(2)
			lockBoth := func(first, second, holder string) error {
				return db.InTx(ctx, func(tx *gorm.DB) error {
					runs.Add(1)
					if err := tx.Model(&store.Lease{}).Where("name = ?", first).Update("holder", holder).Error; err != nil {
						return err
					}
					// Only the first run of each waits for the other, so
					// the rerun of the loser goes straight through.
					if runs.Load() <= 2 {
						locked.Done()
						locked.Wait()
					}
					return tx.Model(&store.Lease{}).Where("name = ?", second).Update("holder", holder).Error
				})
			}
			errs := make(chan error, 2)
			go func() { errs <- lockBoth("a", "b", "one") }()
			go func() { errs <- lockBoth("b", "a", "two") }()
			require.NoError(t, <-errs)
			require.NoError(t, <-errs)
			require.Equal(t, int32(3), runs.Load(), "the deadlock victim ran twice")
			require.Equal(t, int64(1), db.ConflictRetries())

			var holders []string
			require.NoError(t, db.Gorm(ctx).Model(&store.Lease{}).Order("name").Pluck("holder", &holders).Error)
			require.Equal(t, holders[0], holders[1], "one transaction's writes, whole")
		})
	}
}

// On a Galera cluster (scripts/galera.sh; storetest.MySQLHostsEnv set),
// a node that stops being Synced leaves the rotation: new connections
// move to the next node in the list, and a server pointed at that node
// alone is not ready. It comes back once synced again.
func TestGaleraNodeOutOfSync(t *testing.T) {
	hosts := os.Getenv(storetest.MySQLHostsEnv)
	if hosts == "" {
		t.Skipf("%s not set: not a Galera cluster", storetest.MySQLHostsEnv)
	}
	cfg := storetest.MySQLConfig(t)
	nodes := strings.Split(hosts, ",")
	require.GreaterOrEqual(t, len(nodes), 2)
	dbname := storetest.MySQLDatabase(t)
	url := func(addrs ...string) string {
		return "mysql://" + cfg.User + "@" + strings.Join(addrs, ",") + "/" + dbname
	}
	ctx := t.Context()
	port := func(db *store.DB) (p int) {
		require.NoError(t, db.Gorm(ctx).Raw("SELECT @@port").Scan(&p).Error)
		return p
	}
	_, firstPort, _ := net.SplitHostPort(nodes[0])
	_, secondPort, _ := net.SplitHostPort(nodes[1])

	cluster := storetest.OpenOptions(t, store.Options{URL: url(nodes...)})
	alone := storetest.OpenOptions(t, store.Options{URL: url(nodes[0])})
	require.Equal(t, firstPort, strconv.Itoa(port(cluster)))
	require.NoError(t, alone.Ping(ctx))

	admin, err := sql.Open("mysql", cfg.User+"@tcp("+nodes[0]+")/")
	require.NoError(t, err)
	defer admin.Close()
	_, err = admin.ExecContext(ctx, "SET GLOBAL wsrep_desync = ON")
	require.NoError(t, err)
	defer func() {
		_, err := admin.ExecContext(context.Background(), "SET GLOBAL wsrep_desync = OFF")
		require.NoError(t, err)
	}()

	require.ErrorIs(t, alone.Ping(ctx), store.ErrUnavailable, "a desynced node is not ready")
	require.Eventually(t, func() bool { return strconv.Itoa(port(cluster)) == secondPort },
		10*time.Second, 50*time.Millisecond, "connections move to the next node")

	_, err = admin.ExecContext(ctx, "SET GLOBAL wsrep_desync = OFF")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !errors.Is(alone.Ping(ctx), store.ErrUnavailable) },
		10*time.Second, 50*time.Millisecond, "ready again once synced")
}
