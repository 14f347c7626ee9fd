// Package storetest provides test helpers for code built on package
// store: fresh migrated databases for every dialect under test, a TCP
// proxy to simulate database outages, and a check that the migrated
// schema matches the GORM models.
//
// SQLite is always tested. MySQL is tested when AFTERSALES_TEST_MYSQL_DSN
// holds a go-sql-driver DSN without a database name, such as
// "root@tcp(127.0.0.1:3306)/"; every test gets its own database, dropped
// when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"log/slog"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store"
)

// MySQLDSNEnv names the environment variable that enables MySQL tests.
const MySQLDSNEnv = "AFTERSALES_TEST_MYSQL_DSN"

// MySQLHostsEnv, when set with MySQLDSNEnv, lists the nodes of a Galera
// cluster ("h1:p1,h2:p2,h3:p3") that the databases under test are
// reached through: each test's store URL names them all, starting at a
// random one, so the suite runs with failover on and spread over the
// nodes. MySQLDSNEnv (one of them) still creates and drops the test
// databases. scripts/galera.sh prints both.
const MySQLHostsEnv = "AFTERSALES_TEST_MYSQL_HOSTS"

// Dialects returns the dialects to test: always store.DialectSQLite, and
// store.DialectMySQL when MySQLDSNEnv is set.
func Dialects(t testing.TB) []string {
	t.Helper()
	dialects := []string{store.DialectSQLite}
	if os.Getenv(MySQLDSNEnv) != "" {
		dialects = append(dialects, store.DialectMySQL)
	}
	return dialects
}

// Open returns a freshly migrated, empty database of the given dialect,
// closed (and for MySQL dropped) when the test ends.
func Open(t testing.TB, dialect string) *store.DB {
	t.Helper()
	return OpenOptions(t, store.Options{URL: URL(t, dialect)})
}

// OpenOptions opens and migrates the database described by opts and
// closes it when the test ends. A nil opts.Logger logs to the test output.
func OpenOptions(t testing.TB, opts store.Options) *store.DB {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = Logger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := store.Open(ctx, opts)
	require.NoError(t, err, "open database")
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Migrate(ctx), "migrate database")
	return db
}

// Logger returns a logger that writes to the test's output, so it is
// only shown for failing or verbose tests.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// URL returns the URL of a new, empty (unmigrated) database of the given
// dialect: a SQLite file in a temporary directory, or a new MySQL
// database that is dropped when the test ends.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case store.DialectSQLite:
		return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
	case store.DialectMySQL:
		return MySQLURL(t, MySQLDatabase(t), "")
	}
	t.Fatalf("storetest: unknown dialect %q", dialect)
	return ""
}

// ReplicaURLs returns n URLs of one new, empty database, as n server
// replicas would reach it. On a Galera cluster (MySQLHostsEnv) replica i
// prefers node i, so the replicas write through different nodes and
// only certification, not row locks, keeps them apart.
func ReplicaURLs(t testing.TB, dialect string, n int) []string {
	t.Helper()
	urls := make([]string, n)
	if dialect != store.DialectMySQL || os.Getenv(MySQLHostsEnv) == "" {
		urls[0] = URL(t, dialect)
		for i := range urls {
			urls[i] = urls[0]
		}
		return urls
	}
	cfg := MySQLConfig(t)
	cfg.DBName = MySQLDatabase(t)
	nodes := strings.Split(os.Getenv(MySQLHostsEnv), ",")
	for i := range urls {
		first := i % len(nodes)
		cfg.Net, cfg.Addr = "tcp", strings.Join(append(slices.Clone(nodes[first:]), nodes[:first]...), ",")
		urls[i] = "mysql:" + cfg.FormatDSN()
	}
	return urls
}

// MySQLConfig returns the parsed MySQLDSNEnv and skips the test when it
// is unset.
func MySQLConfig(t testing.TB) *mysql.Config {
	t.Helper()
	dsn := os.Getenv(MySQLDSNEnv)
	if dsn == "" {
		t.Skipf("%s not set", MySQLDSNEnv)
	}
	cfg, err := mysql.ParseDSN(dsn)
	require.NoError(t, err, "parse %s", MySQLDSNEnv)
	return cfg
}

// MySQLDatabase creates a uniquely named MySQL database (as_test_<hex>)
// and drops it when the test ends. It skips the test when MySQLDSNEnv is
// unset.
func MySQLDatabase(t testing.TB) string {
	t.Helper()
	cfg := MySQLConfig(t)
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })

	name := "as_test_" + randomHex(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
	require.NoError(t, err, "create test database")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return name
}

// MySQLURL returns a store URL for database dbname on the server named by
// MySQLDSNEnv. If viaAddr is not empty, the URL connects to that address
// instead (typically a Proxy's Addr). It skips the test when MySQLDSNEnv
// is unset.
func MySQLURL(t testing.TB, dbname, viaAddr string) string {
	t.Helper()
	cfg := MySQLConfig(t)
	cfg.DBName = dbname
	if hosts := os.Getenv(MySQLHostsEnv); hosts != "" {
		list := strings.Split(hosts, ",")
		first := mathrand.IntN(len(list))
		cfg.Net, cfg.Addr = "tcp", strings.Join(append(slices.Clone(list[first:]), list[:first]...), ",")
	}
	if viaAddr != "" {
		cfg.Net, cfg.Addr = "tcp", viaAddr
	}
	return "mysql:" + cfg.FormatDSN()
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
