package store

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The URL translation is unexported, so it is tested from inside the
// package; everything else is tested through the public API.

func TestMySQLConfigFromURL(t *testing.T) {
	cfg, err := mysqlConfig("mysql://app:p%40ss%3Aw%2Frd@db.example:3307/aftersales?timeout=2s&readTimeout=30s&parseTime=false")
	require.NoError(t, err)
	require.Equal(t, "app", cfg.User)
	require.Equal(t, "p@ss:w/rd", cfg.Passwd)
	require.Equal(t, "tcp", cfg.Net)
	require.Equal(t, "db.example:3307", cfg.Addr)
	require.Equal(t, "aftersales", cfg.DBName)
	require.Equal(t, 2*time.Second, cfg.Timeout, "user parameters are kept")
	require.Equal(t, 30*time.Second, cfg.ReadTimeout)
	requireForcedSettings(t, cfg.FormatDSN())

	cfg, err = mysqlConfig("mysql://root@localhost/db")
	require.NoError(t, err)
	require.Equal(t, "localhost:3306", cfg.Addr, "default port")
	require.Equal(t, defaultDialTimeout, cfg.Timeout, "default dial timeout")
}

func TestMySQLConfigFromDSN(t *testing.T) {
	cfg, err := mysqlConfig("mysql:root:pw@tcp(127.0.0.1:3306)/db?charset=latin1&loc=Local")
	require.NoError(t, err)
	require.Equal(t, "root", cfg.User)
	require.Equal(t, "pw", cfg.Passwd)
	require.Equal(t, "127.0.0.1:3306", cfg.Addr)
	require.Equal(t, "db", cfg.DBName)
	require.Equal(t, time.UTC, cfg.Loc)
	requireForcedSettings(t, cfg.FormatDSN())
}

// A Galera cluster addressed without a proxy: several hosts in either
// form, each with its port or 3306.
func TestMySQLConfigHostList(t *testing.T) {
	cfg, err := mysqlConfig("mysql://root@n1:4306,n2,n3:4308/db")
	require.NoError(t, err)
	require.Equal(t, "n1:4306,n2:3306,n3:4308", cfg.Addr)
	require.Equal(t, "db", cfg.DBName)

	cfg, err = mysqlConfig("mysql:root:pw@tcp(127.0.0.1:4306,[::1]:4307, n3)/db?timeout=1s")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:4306,[::1]:4307,n3:3306", cfg.Addr)
	require.Equal(t, "pw", cfg.Passwd)
	require.Equal(t, "db", cfg.DBName)
	require.Equal(t, time.Second, cfg.Timeout)
	requireForcedSettings(t, cfg.FormatDSN())
}

func requireForcedSettings(t *testing.T, dsn string) {
	t.Helper()
	_, rawQuery, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(rawQuery)
	require.NoError(t, err)
	require.Equal(t, "true", q.Get("parseTime"))
	require.Equal(t, "true", q.Get("interpolateParams"))
	require.Equal(t, "true", q.Get("clientFoundRows"))
	require.Equal(t, "utf8mb4", q.Get("charset"))
	require.Equal(t, "'+00:00'", q.Get("time_zone"))
	require.Empty(t, q.Get("loc"), "UTC is the driver default and is not printed")
}

func TestMySQLConfigErrors(t *testing.T) {
	for _, u := range []string{
		"mysql://root@localhost",          // no database
		"mysql:root@tcp(localhost:3306)",  // no slash
		"mysql://root@localhost/db?x=%zz", // bad query
		"mysql://root:secret@[::1/db",     // bad host
	} {
		_, err := mysqlConfig(u)
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "secret", u)
	}
}

func TestSQLiteDSN(t *testing.T) {
	for _, tc := range []struct{ url, path string }{
		{"sqlite:///var/lib/as/db.sqlite", "/var/lib/as/db.sqlite"},
		{"sqlite:data/as.db", "data/as.db"},
		{"file:data/as.db?_busy_timeout=100", "data/as.db"},
		{"file::memory:?cache=shared", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			dsn, path, err := sqliteDSN(tc.url)
			require.NoError(t, err)
			require.Equal(t, tc.path, path)
			require.True(t, strings.HasPrefix(dsn, "file:"), dsn)
			_, rawQuery, _ := strings.Cut(dsn, "?")
			q, err := url.ParseQuery(rawQuery)
			require.NoError(t, err)
			require.Equal(t, "WAL", q.Get("_journal_mode"))
			require.Equal(t, "immediate", q.Get("_txlock"))
			require.Equal(t, "1", q.Get("_foreign_keys"))
			require.Equal(t, "NORMAL", q.Get("_synchronous"))
			if strings.Contains(tc.url, "_busy_timeout") {
				require.Equal(t, "100", q.Get("_busy_timeout"), "explicit settings win")
			} else {
				require.Equal(t, "5000", q.Get("_busy_timeout"))
			}
		})
	}
	for _, u := range []string{"sqlite:", "postgres://x/y", "file:?x=1"} {
		_, _, err := sqliteDSN(u)
		require.Error(t, err, u)
	}
}
