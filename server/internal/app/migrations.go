package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"

	"github.com/aftersales/aftersales/server/internal/store"
)

// gooseTable is the version table goose keeps, its default, which
// store.Migrate uses.
const gooseTable = "goose_db_version"

// checkMigrated returns an error naming the migrations this binary has
// that db has not applied. It only reads: unlike goose's own HasPending,
// it never creates the version table, so a replica started with
// --migrate-on-start=false runs no DDL at all, and its database user
// needs none.
//
// Migrations the database has and this binary does not are fine: during a
// rolling update the new release's migration job runs first, while the
// old release's replicas keep serving, which is why migrations add and
// never drop or rename what a running release reads.
//
// It lives here rather than in package store because it is the server's
// start-up policy; it reads store's embedded migrations and goose's
// version table exactly as store.Migrate writes them.
func checkMigrated(ctx context.Context, db *store.DB, logger *slog.Logger) error {
	sqlDB, err := db.Gorm(ctx).DB()
	if err != nil {
		return err
	}
	gooseDialect, dbDialect := database.DialectSQLite3, goose.DialectSQLite3
	if db.Dialect() == store.DialectMySQL {
		gooseDialect, dbDialect = database.DialectMySQL, goose.DialectMySQL
	}
	fsys, err := fs.Sub(store.Migrations(), "migrations/"+db.Dialect())
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(dbDialect, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	versions, err := database.NewStore(gooseDialect, gooseTable)
	if err != nil {
		return err
	}
	rows, err := versions.ListMigrations(ctx, sqlDB)
	if err != nil {
		// A database never migrated has no version table.
		return fmt.Errorf("%w; with --migrate-on-start=false, run \"aftersales migrate\" first (reading the applied migrations: %v)", errNotMigrated, err)
	}
	// Newest row first: the first row of a version says whether it is
	// applied now (a down migration adds a row that says it is not).
	applied := map[int64]bool{}
	for _, r := range rows {
		if _, seen := applied[r.Version]; !seen {
			applied[r.Version] = r.IsApplied
		}
	}
	var pending []string
	var newest int64
	for _, src := range provider.ListSources() {
		if !applied[src.Version] {
			pending = append(pending, fmt.Sprint(src.Version))
		}
		newest = max(newest, src.Version)
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w: %d pending (%s); with --migrate-on-start=false, run \"aftersales migrate\" first",
			errNotMigrated, len(pending), strings.Join(pending, ", "))
	}
	var ahead []int64
	for v, ok := range applied {
		if ok && v > newest {
			ahead = append(ahead, v)
		}
	}
	if len(ahead) > 0 {
		slices.Sort(ahead)
		logger.InfoContext(ctx, "the database has migrations newer than this release (a rolling update?)", slog.Any("versions", ahead))
	}
	return nil
}

// errNotMigrated starts the error of checkMigrated.
var errNotMigrated = errors.New("the database schema is behind this release")
