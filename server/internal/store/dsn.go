package store

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Dialect names returned by (*DB).Dialect.
const (
	DialectMySQL  = "mysql"
	DialectSQLite = "sqlite"
)

// defaultDialTimeout bounds connection attempts when the URL does not set
// "timeout", so an unreachable server fails fast instead of waiting for
// the OS TCP timeout (minutes).
const defaultDialTimeout = 5 * time.Second

// sqliteBusyTimeout is how long a SQLite writer waits for the write lock
// before failing with ErrUnavailable.
const sqliteBusyTimeout = 5 * time.Second

// mysqlConfig translates a mysql:// URL or a "mysql:"-prefixed
// go-sql-driver DSN into a driver config, then forces the settings the
// rest of the package relies on, whatever the URL said.
func mysqlConfig(rawURL string) (*mysql.Config, error) {
	var cfg *mysql.Config
	if strings.HasPrefix(rawURL, "mysql://") {
		u, err := url.Parse(rawURL)
		if err != nil {
			return nil, fmt.Errorf("store: invalid mysql URL: %w", redactURLError(err))
		}
		// Parse only the query through the driver so every documented
		// DSN parameter (tls, timeout, …) works in URL form too. User,
		// password and host are set directly: a password may contain
		// characters that are not valid in the DSN form.
		cfg, err = mysql.ParseDSN("/?" + u.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("store: invalid mysql URL parameters: %w", err)
		}
		if u.User != nil {
			cfg.User = u.User.Username()
			cfg.Passwd, _ = u.User.Password()
		}
		cfg.Net = "tcp"
		cfg.Addr = withDefaultPorts(u.Host)
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
	} else {
		// The driver takes one address; a host list in tcp(h1,h2,h3) is
		// parsed here, or the driver would bracket it as one IPv6 host.
		dsn, hosts := strings.TrimPrefix(rawURL, "mysql:"), ""
		if before, rest, ok := strings.Cut(dsn, "@tcp("); ok {
			if list, after, ok := strings.Cut(rest, ")"); ok && strings.Contains(list, ",") {
				hosts = withDefaultPorts(list)
				dsn = before + "@tcp(" + strings.Split(hosts, ",")[0] + ")" + after
			}
		}
		var err error
		cfg, err = mysql.ParseDSN(dsn)
		if err != nil {
			// The driver's message never echoes the DSN, so it cannot
			// leak the password.
			return nil, fmt.Errorf("store: invalid mysql DSN: %w", err)
		}
		if hosts != "" {
			cfg.Addr = hosts
		}
	}
	if cfg.DBName == "" {
		return nil, errors.New("store: mysql URL must name a database")
	}

	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// One round trip per query instead of prepare/execute/close. Safe
	// because the connection charset is utf8mb4 (the driver refuses it
	// for multi-byte charsets that could be abused for injection).
	cfg.InterpolateParams = true
	// RowsAffected counts matched rows, not changed rows, like SQLite.
	// Conditional updates ("... WHERE version = ?", lease renewal) then
	// report success even when the new values equal the old ones.
	cfg.ClientFoundRows = true
	// Append's rows go to the database in one multi-statement round trip
	// (append.go). It widens what an injection could do, but there is no
	// SQL built from input here: GORM and Append render placeholders,
	// and the driver escapes every value it interpolates.
	cfg.MultiStatements = true
	if err := cfg.Apply(
		mysql.Charset("utf8mb4", ""),
		// DATETIME(6) keeps microseconds; truncate on the client so
		// MySQL (which rounds) and MariaDB (which truncates) agree.
		mysql.TimeTruncate(time.Microsecond),
	); err != nil {
		return nil, fmt.Errorf("store: mysql config: %w", err)
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	// Session time zone UTC, so NOW() and TIMESTAMP columns agree with
	// the UTC values the application writes.
	cfg.Params["time_zone"] = "'+00:00'"
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultDialTimeout
	}
	return cfg, nil
}

// withDefaultPorts normalises a comma-separated host list (the nodes of
// a Galera cluster, see nodeSet), giving each host without a port 3306.
func withDefaultPorts(hosts string) string {
	list := strings.Split(hosts, ",")
	for i, h := range list {
		h = strings.TrimSpace(h)
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "3306")
		}
		list[i] = h
	}
	return strings.Join(list, ",")
}

// sqliteDSN turns a sqlite URL (sqlite:///abs.db, sqlite:rel.db,
// file:path?query) into a mattn/go-sqlite3 DSN and returns the file path
// ("" for in-memory databases) so the caller can create its directory.
func sqliteDSN(rawURL string) (dsn, path string, err error) {
	rest := rawURL
	switch {
	case strings.HasPrefix(rest, "sqlite://"):
		rest = strings.TrimPrefix(rest, "sqlite://")
	case strings.HasPrefix(rest, "sqlite:"):
		rest = strings.TrimPrefix(rest, "sqlite:")
	case strings.HasPrefix(rest, "file:"):
		rest = strings.TrimPrefix(rest, "file:")
	default:
		return "", "", fmt.Errorf("store: unsupported database URL scheme")
	}
	path, rawQuery, _ := strings.Cut(rest, "?")
	if path == "" {
		return "", "", errors.New("store: sqlite URL must name a file")
	}
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", "", fmt.Errorf("store: invalid sqlite URL parameters: %w", err)
	}
	// These are applied by the driver to every new connection.
	for k, v := range map[string]string{
		// Readers do not block the writer and vice versa.
		"_journal_mode": "WAL",
		// WAL makes NORMAL durable against application crashes; only an
		// OS crash can lose the last transactions, never corrupt the file.
		"_synchronous": "NORMAL",
		// Wait for the write lock instead of failing at once.
		"_busy_timeout": strconv.Itoa(int(sqliteBusyTimeout / time.Millisecond)),
		// BEGIN IMMEDIATE takes the write lock up front. A deferred
		// transaction that reads and then writes can fail with
		// SQLITE_BUSY without waiting (the busy handler cannot help a
		// lock upgrade), so concurrent writers would fail instead of
		// queueing.
		"_txlock":       "immediate",
		"_foreign_keys": "1",
	} {
		if !query.Has(k) {
			query.Set(k, v)
		}
	}
	if path == ":memory:" || query.Get("mode") == "memory" {
		return "file:" + path + "?" + query.Encode(), "", nil
	}
	return "file:" + path + "?" + query.Encode(), filepath.Clean(path), nil
}

// redactURLError drops the URL (and thus any password) from url.Parse
// errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
