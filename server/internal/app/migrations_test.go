package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestMigrateOnStartOff is a deployment that migrates once, with the
// migrate command, and starts its replicas with --migrate-on-start=false:
// a replica refuses a database that lacks any of its migrations, without
// writing to it, and serves one that has them all, or more (a newer
// release migrated it during a rolling update).
func TestMigrateOnStartOff(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) { testMigrateOnStartOff(t, dialect) })
	}
}

func testMigrateOnStartOff(t *testing.T, dialect string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	cfg := config.Default()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DatabaseURL = storetest.URL(t, dialect)
	cfg.MigrateOnStart = false

	// A database never migrated: refused, and left as it was.
	_, err := app.New(ctx, cfg, logger)
	require.ErrorContains(t, err, "the database schema is behind this release")
	require.ErrorContains(t, err, `run "aftersales migrate" first`)
	db, err := store.Open(ctx, store.Options{URL: cfg.DatabaseURL, Logger: logger})
	require.NoError(t, err)
	defer db.Close()
	tables, err := db.Gorm(ctx).Migrator().GetTables()
	require.NoError(t, err)
	require.Empty(t, tables, "a replica that does not migrate writes nothing, not even goose's version table")

	// The migrate command migrates whatever --migrate-on-start says (the
	// job and the replicas share one configuration).
	mcfg := cfg
	mcfg.Command = config.CommandMigrate
	require.NoError(t, app.Migrate(ctx, mcfg, logger))

	ta := startCtx(t, ctx, func(c *config.Config) {
		c.DatabaseURL = cfg.DatabaseURL
		c.MigrateOnStart = false
	})
	code, body := ta.get(t, "/readyz")
	require.Equal(t, http.StatusOK, code, body)

	// The newest migration not applied (as if this binary were a release
	// ahead of the job that migrated): refused, naming it.
	gdb := db.Gorm(ctx)
	var newest int64
	require.NoError(t, gdb.Raw("SELECT MAX(version_id) FROM goose_db_version").Scan(&newest).Error)
	require.NoError(t, gdb.Exec("DELETE FROM goose_db_version WHERE version_id = ?", newest).Error)
	_, err = app.New(ctx, cfg, logger)
	require.ErrorContains(t, err, fmt.Sprintf("1 pending (%d)", newest))

	// Back, plus one this binary does not know (a newer release's): served.
	require.NoError(t, gdb.Exec("INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, ?), (?, ?)", newest, true, newest+1000, true).Error)
	a, err := app.New(ctx, cfg, logger)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	stop()
	require.NoError(t, a.Run(runCtx), "a clean shutdown")
}
