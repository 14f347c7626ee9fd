package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
)

// migrations holds one directory of goose SQL files per dialect. The two
// directories must stay equivalent; storetest.AssertSchemaMatchesModels
// checks both against the GORM models.
//
//go:embed migrations/mysql/*.sql migrations/sqlite/*.sql
var migrations embed.FS

// Migrations returns the embedded migration files, under
// migrations/{mysql,sqlite}/.
func Migrations() fs.FS { return migrations }

// sqliteMigrateMu serialises SQLite migrations within this process
// (several DB handles on one file, as in tests).
var sqliteMigrateMu sync.Mutex

// Migrate applies pending migrations. It is idempotent and safe to call
// from several replicas at once:
//
//   - MySQL: goose's Provider has no session locker for MySQL (only a
//     table-based Locker that polls every 5 s), and even with a locker
//     its HasPending check and version-table creation run unlocked, so
//     replicas booting together on an empty database race and goose
//     falls back to retrying. Migrate therefore holds a GET_LOCK advisory
//     lock on a dedicated connection around the whole run. The lock name
//     is derived from the database name, and the server releases it if
//     the process dies. (This needs two connections, which any sane pool
//     has.) GET_LOCK is per server, and on Galera per node, so with
//     several hosts every replica takes it on the same one: the first
//     in address order that answers (nodeSet.lockDB).
//   - SQLite is embedded and used by a single process; BEGIN IMMEDIATE
//     serialises the individual migrations on the file lock, and
//     callers within the process are serialised by a mutex. Two processes
//     migrating the same file at once could both try the same version;
//     the loser fails with "table already exists" and succeeds on
//     restart.
func (d *DB) Migrate(ctx context.Context) error {
	if d.dialect == DialectMySQL {
		lockDB, closeLockDB, err := d.nodes.lockDB(ctx, d.sql)
		if err != nil {
			return Translate(err)
		}
		defer closeLockDB()
		unlock, err := lockMySQL(ctx, lockDB)
		if err != nil {
			return Translate(err)
		}
		defer unlock()
	} else {
		sqliteMigrateMu.Lock()
		defer sqliteMigrateMu.Unlock()
	}

	fsys, err := fs.Sub(migrations, "migrations/"+d.dialect)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	dialect := goose.DialectSQLite3
	if d.dialect == DialectMySQL {
		dialect = goose.DialectMySQL
	}
	provider, err := goose.NewProvider(dialect, d.sql, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			d.log.InfoContext(ctx, "applied migration",
				"version", r.Source.Version, "duration", r.Duration)
		}
	}
	if err != nil {
		// The translated error hides the cause; the operator needs it.
		d.log.ErrorContext(ctx, "migration failed", "error", err)
		return Translate(err)
	}
	return nil
}

const (
	// mysqlLockName is the migration lock. GET_LOCK names are
	// server-wide and at most 64 characters, hence the hashed database
	// name.
	mysqlLockName = "CONCAT('aftersales_migrate_', MD5(DATABASE()))"
	// mysqlLockPoll bounds a single GET_LOCK wait, so a canceled context
	// is noticed between attempts.
	mysqlLockPoll = 5 * time.Second
)

// lockMySQL takes the migration lock on a dedicated connection and
// returns a function that releases it.
func lockMySQL(ctx context.Context, db *sql.DB) (unlock func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	for {
		var got sql.NullInt64
		err := conn.QueryRowContext(ctx,
			"SELECT GET_LOCK("+mysqlLockName+", ?)", int(mysqlLockPoll/time.Second)).Scan(&got)
		switch {
		case err != nil:
			_ = conn.Close()
			return nil, fmt.Errorf("acquire migration lock: %w", err)
		case !got.Valid:
			_ = conn.Close()
			return nil, errors.New("acquire migration lock: GET_LOCK returned NULL")
		case got.Int64 == 1:
			return func() {
				// Detached from ctx: the lock must be released even if the
				// caller gave up. Closing the connection would release it
				// too, but the pool may keep the connection.
				_, _ = conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+mysqlLockName+")")
				_ = conn.Close()
			}, nil
		}
		// Timed out waiting for another replica: poll again.
	}
}
