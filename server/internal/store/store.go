// Package store is the storage foundation of the aftersales server: it
// opens MySQL (or MySQL-compatible engines) or an embedded SQLite file
// through GORM, runs the embedded schema migrations, runs transactions,
// and maps every database error to a small set of sentinels (see
// Translate) so that GORM and driver errors never reach service code.
//
// It also provides the infrastructure used across resources: leases for
// leader election among replicas (AcquireLease) and idempotency keys for
// request_id handling (Idempotent).
//
// Adding a table: add its CREATE TABLE, as its own commented block, to
// both migrations/mysql and migrations/sqlite (in 00001_init.sql until
// the first release, in a new numbered file after it), declare the GORM
// model, and list the model in a test calling
// storetest.AssertSchemaMatchesModels for every dialect.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	gormmysql "gorm.io/driver/mysql"
	gormsqlite "gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// DefaultDataDir is where the embedded SQLite database lives when
// Options.URL and Options.DataDir are empty.
const DefaultDataDir = "./data"

// sqliteFileName is the database file inside Options.DataDir.
const sqliteFileName = "aftersales.db"

// Options configures Open. The zero value opens ./data/aftersales.db.
type Options struct {
	// URL selects the database:
	//
	//	mysql://user:pass@host:port/dbname?param=value
	//	mysql:user:pass@tcp(host:port)/dbname?param=value   (go-sql-driver DSN)
	//	sqlite:///abs/path.db, sqlite:rel/path.db, file:path.db?param=value
	//
	// Empty means SQLite at DataDir/aftersales.db. MySQL query parameters
	// are those of go-sql-driver/mysql; parseTime, loc, charset,
	// interpolateParams, clientFoundRows and time_zone are always
	// overridden because the package depends on them.
	URL string
	// DataDir holds the embedded SQLite database when URL is empty. It is
	// created if missing. Default DefaultDataDir.
	DataDir string

	// MaxOpenConns caps open connections. Default: 50 for MySQL;
	// max(4, GOMAXPROCS) for SQLite. Use at least 2: Migrate holds the
	// MySQL migration lock on one connection while migrating on another.
	MaxOpenConns int
	// MaxIdleConns is the number of idle connections kept. Default:
	// MaxOpenConns, so bursts do not pay for reconnecting.
	MaxIdleConns int
	// ConnMaxLifetime recycles connections. Default: 5 minutes for MySQL
	// (rebalances after failover, stays below proxy idle timeouts);
	// unlimited for SQLite, which has no server to rebalance.
	ConnMaxLifetime time.Duration

	// Logger receives warnings (slow queries, driver errors) and
	// migration progress. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock used for every timestamp the package writes
	// (leases, idempotency keys, GORM autoCreateTime/autoUpdateTime).
	// Default time.Now. Results are converted to UTC and truncated to
	// microseconds, the precision of DATETIME(6).
	Now func() time.Time
}

// DB is an open database. It is safe for concurrent use.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string
	now     func() time.Time
	log     *slog.Logger
	// writeSlot (SQLite only) admits one InTx at a time; see InTx.
	writeSlot chan struct{}
	// nodes (MySQL only) picks the host of each new connection.
	nodes *nodeSet
	// conflictRetries counts transactions rerun by InTx.
	conflictRetries atomic.Int64
}

// Open connects to the database described by opts and checks that it
// answers. It does not migrate; call Migrate. If the database cannot be
// reached, the error matches ErrUnavailable and the caller may retry.
func Open(ctx context.Context, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	clock := opts.Now
	if clock == nil {
		clock = time.Now
	}
	d := &DB{
		log: log,
		now: func() time.Time { return clock().UTC().Truncate(time.Microsecond) },
	}

	var (
		dialector gorm.Dialector
		err       error
	)
	switch {
	case strings.HasPrefix(opts.URL, "mysql:"):
		d.dialect = DialectMySQL
		dialector, err = d.openMySQL(opts)
	case opts.URL == "":
		dir := opts.DataDir
		if dir == "" {
			dir = DefaultDataDir
		}
		d.dialect = DialectSQLite
		dialector, err = d.openSQLite("sqlite:"+filepath.Join(dir, sqliteFileName), opts)
	default:
		d.dialect = DialectSQLite
		dialector, err = d.openSQLite(opts.URL, opts)
	}
	if err != nil {
		return nil, err
	}

	// Ping with the caller's context before GORM initialises: the
	// dialectors query the server version without a context.
	if err := d.sql.PingContext(ctx); err != nil {
		_ = d.Close()
		return nil, Translate(err)
	}

	d.gorm, err = gorm.Open(dialector, &gorm.Config{
		// Single statements are atomic already; multi-statement writes go
		// through InTx. This saves a BEGIN/COMMIT round trip per write.
		SkipDefaultTransaction: true,
		// Prepared statements would cost an extra round trip on first use
		// per connection and pin server-side statements; with
		// interpolateParams the MySQL driver sends one text query instead.
		// SQLite parses in microseconds, so the cache buys little there
		// and GORM's statement cache has been a source of bugs with
		// transactions.
		PrepareStmt: false,
		// Turn driver duplicate-key errors into gorm.ErrDuplicatedKey;
		// Translate then maps them to ErrAlreadyExists.
		TranslateError: true,
		NowFunc:        d.now,
		Logger:         newGormLogger(log),
		// We already pinged with a context above.
		DisableAutomaticPing: true,
	})
	if err != nil {
		_ = d.Close()
		return nil, Translate(err)
	}
	return d, nil
}

func (d *DB) openMySQL(opts Options) (gorm.Dialector, error) {
	cfg, err := mysqlConfig(opts.URL)
	if err != nil {
		return nil, err
	}
	cfg.Logger = mysqlLogger{d.log}
	d.nodes, err = newNodeSet(cfg, d.log)
	if err != nil {
		return nil, fmt.Errorf("store: mysql config: %w", err)
	}
	d.nodes.watch()
	d.sql = sql.OpenDB(d.nodes)
	setPool(d.sql, opts, 50, 5*time.Minute)
	return gormmysql.New(gormmysql.Config{Conn: d.sql, DSNConfig: cfg}), nil
}

func (d *DB) openSQLite(url string, opts Options) (gorm.Dialector, error) {
	dsn, path, err := sqliteDSN(url)
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("store: create data directory: %w", err)
		}
	}
	d.sql, err = sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// SQLite has one writer at a time, but in WAL mode readers run in
	// parallel with it, so a small pool lets reads proceed while a write
	// transaction is open; InTx queues the writers (see writeSlot). A
	// pool of one would serialise every read behind every write and
	// deadlock code that reads through DB.Gorm while a transaction is
	// open; a large pool only adds per-connection page caches.
	setPool(d.sql, opts, max(4, runtime.GOMAXPROCS(0)), 0)
	d.writeSlot = make(chan struct{}, 1)
	return gormsqlite.New(gormsqlite.Config{Conn: d.sql}), nil
}

// setPool applies opts' pool settings, falling back to the given defaults.
func setPool(db *sql.DB, opts Options, defaultOpen int, defaultLifetime time.Duration) {
	open := opts.MaxOpenConns
	if open <= 0 {
		open = defaultOpen
	}
	idle := opts.MaxIdleConns
	if idle <= 0 {
		idle = open
	}
	lifetime := opts.ConnMaxLifetime
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	db.SetMaxOpenConns(open)
	db.SetMaxIdleConns(min(idle, open))
	db.SetConnMaxLifetime(lifetime)
}

// Dialect returns DialectMySQL or DialectSQLite.
func (d *DB) Dialect() string { return d.dialect }

// Now returns the current time from the injected clock, in UTC truncated
// to microseconds. Use it for timestamps written to the database so they
// agree with the ones this package and GORM write.
func (d *DB) Now() time.Time { return d.now() }

// Gorm returns a GORM handle bound to ctx for reads and single-statement
// writes outside a transaction. Pass errors from it through Translate.
func (d *DB) Gorm(ctx context.Context) *gorm.DB { return d.gorm.WithContext(ctx) }

// InTx runs fn in a transaction and commits if fn returns nil; otherwise,
// or if fn panics, it rolls back. Database errors, from fn or from
// BEGIN/COMMIT, are translated (see Translate); any other error returned
// by fn, such as a validation error, is returned unchanged.
//
// fn must use tx, not DB.Gorm, for everything that belongs to the
// transaction, and must not call InTx. It may wait under contention
// (SQLite runs one transaction at a time, MySQL waits on row locks).
//
// A transaction that loses a deadlock, or on Galera fails certification
// against a write committed on another node (also error 1213), was
// rolled back whole, so InTx runs fn again, up to txAttempts times in
// all. fn must therefore be safe to rerun: it may set variables it
// captured, but must not accumulate into them (append to a slice from
// outside, count) or act outside the database. Only then does
// ErrConflict reach the caller.
func (d *DB) InTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return d.inTx(ctx, nil, fn)
}

// txAttempts bounds how often InTx runs a transaction that keeps losing
// deadlocks or certification: a hot row under heavy contention fails
// with ErrConflict (ABORTED) rather than holding the caller for long.
const txAttempts = 4

// inTx is InTx with transaction options, which apply to MySQL only: a
// SQLite write transaction is serializable whatever is asked.
func (d *DB) inTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	for attempt := 1; ; attempt++ {
		err := d.runTx(ctx, opts, fn)
		if attempt == txAttempts || !retryable(err) {
			return err
		}
		// Back off a little, with jitter, so the transactions that
		// collided do not collide again in lockstep.
		wait := time.Duration(attempt) * (2*time.Millisecond + rand.N(8*time.Millisecond))
		select {
		case <-ctx.Done():
			return Translate(ctx.Err())
		case <-time.After(wait):
		}
		d.conflictRetries.Add(1)
	}
}

// retryable reports whether err is a deadlock or a certification or
// write conflict, which roll the whole transaction back. Lock wait
// timeouts are not retried: the caller has waited long enough.
func retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.kind == ErrConflict && (e.reason == "deadlock" || e.reason == "write conflict")
}

// ConflictRetries is how many transactions InTx has rerun after a
// deadlock or certification conflict since Open (for metrics).
func (d *DB) ConflictRetries() int64 { return d.conflictRetries.Load() }

// runTx runs fn in one transaction.
func (d *DB) runTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	if d.dialect == DialectMySQL {
		return d.runMySQLTx(ctx, opts, fn)
	}
	// SQLite transactions are BEGIN IMMEDIATE, so they run one at a
	// time anyway. Queueing them here, in order, beats having them poll
	// the file lock in SQLite's busy handler, whose sleeps grow to 100
	// ms: measured with 16 writers, the worst transaction latency drops
	// from hundreds of milliseconds to tens, while reads outside
	// transactions still run in parallel. The wait is bounded like
	// busy_timeout.
	timer := time.NewTimer(sqliteBusyTimeout)
	defer timer.Stop()
	select {
	case d.writeSlot <- struct{}{}:
		defer func() { <-d.writeSlot }()
	case <-ctx.Done():
		return Translate(ctx.Err())
	case <-timer.C:
		return &Error{kind: ErrUnavailable, reason: "database is locked", cause: errors.New("timed out waiting for the SQLite write slot")}
	}
	var fnErr error
	txCtx, queue := withAppends(ctx)
	err := d.gorm.WithContext(txCtx).Transaction(func(tx *gorm.DB) error {
		if fnErr = fn(tx); fnErr == nil {
			fnErr = d.flush(tx, queue)
		}
		return fnErr
	})
	if fnErr != nil {
		return translateFromTx(fnErr)
	}
	if err == nil {
		queue.committed()
	}
	return Translate(err)
}

// runMySQLTx runs fn in one transaction on a connection of its own,
// without database/sql's Tx: START TRANSACTION goes in the same round
// trip as the transaction's first statement (beginWithFirst), with its
// isolation options, and COMMIT in the same round trip as the rows fn
// appended (flushCommit): two round trips less per write. A transaction
// that fails, or whose fn panics, is rolled back; a connection whose
// rollback fails (it broke, or the caller's context ended mid-statement
// and the driver closed it) is discarded rather than returned to the
// pool with a transaction open.
func (d *DB) runMySQLTx(ctx context.Context, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	conn, err := d.sql.Conn(ctx)
	if err != nil {
		return Translate(err)
	}
	defer conn.Close()
	begin := "START TRANSACTION"
	if opts != nil && opts.Isolation != sql.LevelDefault {
		level, ok := isolationLevels[opts.Isolation]
		if !ok {
			return fmt.Errorf("%w: isolation level %s", ErrInternal, opts.Isolation)
		}
		begin = "SET TRANSACTION ISOLATION LEVEL " + level + ";" + begin
	}
	pool := &beginWithFirst{Conn: conn, begin: begin}
	done := false
	defer func() {
		// Nothing to roll back when nothing was sent.
		if !done && pool.begin == "" {
			rollback(conn)
		}
	}()
	txCtx, queue := withAppends(ctx)
	tx := d.gorm.WithContext(txCtx)
	tx.Statement.ConnPool = pool
	if err := fn(tx); err != nil {
		return translateFromTx(err)
	}
	if err := d.flushCommit(tx, queue); err != nil {
		// After the caller's context ended, whatever the driver says
		// (the connection it closed, say) is the caller's deadline or
		// cancellation, not a database error.
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return translateFromTx(err)
	}
	done = true
	queue.committed()
	return nil
}

// beginWithFirst is a transaction's connection that sends START
// TRANSACTION (and its isolation level) in one multi-statement with the
// transaction's first statement, not in a round trip of its own: a
// CreateTicket's transaction took three round trips (START TRANSACTION,
// its lookup, its INSERTs with the COMMIT) and now takes two. MySQL runs a
// multi-statement's statements in order and stops at the first that
// fails; the driver skips the leading statements' OK results, so a
// query's rows are its own, and an Exec's RowsAffected and LastInsertId
// are its last statement's, the caller's. A statement that fails leaves
// the transaction to runMySQLTx's rollback, begun or not. It needs the
// driver's interpolateParams (always set, dsn.go): a prepared statement
// cannot hold two.
type beginWithFirst struct {
	*sql.Conn
	// begin is what starts the transaction, "" once it has been sent.
	begin string
}

// first returns query with what starts the transaction in front, the
// first time.
func (c *beginWithFirst) first(query string) string {
	if c.begin == "" {
		return query
	}
	query = c.begin + ";" + query
	c.begin = ""
	return query
}

// started sends what starts the transaction on its own, for the calls
// that cannot carry it: a *sql.Row or *sql.Stmt holds one statement.
func (c *beginWithFirst) started(ctx context.Context) error {
	if c.begin == "" {
		return nil
	}
	begin := c.begin
	c.begin = ""
	_, err := c.Conn.ExecContext(ctx, begin)
	return err
}

func (c *beginWithFirst) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.Conn.ExecContext(ctx, c.first(query), args...)
}

func (c *beginWithFirst) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.Conn.QueryContext(ctx, c.first(query), args...)
}

// QueryRowContext starts the transaction on its own first (nothing here
// reads through it: GORM uses it only for Row()). START TRANSACTION fails
// only with its connection, and the query then fails on it too: a
// *sql.Row cannot carry the first error.
func (c *beginWithFirst) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	_ = c.started(ctx)
	return c.Conn.QueryRowContext(ctx, query, args...)
}

func (c *beginWithFirst) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := c.started(ctx); err != nil {
		return nil, err
	}
	return c.Conn.PrepareContext(ctx, query)
}

// isolationLevels are the levels runMySQLTx can ask for, as MySQL names
// them.
var isolationLevels = map[sql.IsolationLevel]string{
	sql.LevelReadUncommitted: "READ UNCOMMITTED",
	sql.LevelReadCommitted:   "READ COMMITTED",
	sql.LevelRepeatableRead:  "REPEATABLE READ",
	sql.LevelSerializable:    "SERIALIZABLE",
}

// rollback rolls back conn's transaction, or makes the pool discard the
// connection when that fails: a connection must never go back with a
// transaction open. It has a context of its own, so that a caller's
// ended one does not leave the transaction to the connection's next user.
func rollback(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// rollbackTimeout bounds a ROLLBACK: MySQL undoes a small transaction at
// once, and one that takes longer is better ended by closing the
// connection (the server rolls it back when the connection goes).
const rollbackTimeout = 5 * time.Second

// Ping reports whether the database may serve, for readiness probes: it
// answers and, on a Galera node, is Synced (a node outside the primary
// component would refuse queries or serve stale reads).
func (d *DB) Ping(ctx context.Context) error {
	if d.dialect != DialectMySQL {
		return Translate(d.sql.PingContext(ctx))
	}
	return Translate(nodeReady(ctx, d.sql))
}

// Close stops the node monitor and closes all connections.
func (d *DB) Close() error {
	if d.nodes != nil {
		d.nodes.close()
	}
	return Translate(d.sql.Close())
}
