package store_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

func TestSchemaMatchesModels(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			storetest.AssertSchemaMatchesModels(t, db, append(store.ResourceModels(), &store.Lease{}, &store.IdempotencyKey{})...)
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect) // migrated once already
			require.NoError(t, db.Migrate(t.Context()))
			require.NoError(t, db.Migrate(t.Context()))

			var version int64
			require.NoError(t, db.Gorm(t.Context()).
				Raw("SELECT MAX(version_id) FROM goose_db_version").Scan(&version).Error)
			files, err := fs.Glob(store.Migrations(), "migrations/"+dialect+"/*.sql")
			require.NoError(t, err)
			require.EqualValues(t, len(files), version, "every migration applied once")
		})
	}
}

// TestMigrateConcurrently starts several replicas on one empty database
// at once; all must succeed.
func TestMigrateConcurrently(t *testing.T) {
	const replicas = 4
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			// On Galera each replica prefers another node.
			urls := storetest.ReplicaURLs(t, dialect, replicas)
			dbs := make([]*store.DB, replicas)
			for i := range dbs {
				db, err := store.Open(t.Context(), store.Options{URL: urls[i], Logger: storetest.Logger(t)})
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				dbs[i] = db
			}
			var wg sync.WaitGroup
			for _, db := range dbs {
				wg.Go(func() { assert.NoError(t, db.Migrate(t.Context())) })
			}
			wg.Wait()
			storetest.AssertSchemaMatchesModels(t, dbs[0], &store.Lease{}, &store.IdempotencyKey{})
		})
	}
}

// TestMigrateWaitsForMySQLLock holds the migration lock as another replica
// would while migrating, and checks that Migrate waits for it.
func TestMigrateWaitsForMySQLLock(t *testing.T) {
	// On Galera the holder prefers the first node, where every replica
	// takes the lock, and the migrator another node.
	urls := storetest.ReplicaURLs(t, store.DialectMySQL, 2) // skips without MySQL
	holder, err := store.Open(t.Context(), store.Options{URL: urls[0], Logger: storetest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = holder.Close() })
	migrator, err := store.Open(t.Context(), store.Options{URL: urls[1], Logger: storetest.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = migrator.Close() })

	locked, release, held := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		held <- holder.Gorm(context.Background()).Connection(func(conn *gorm.DB) error {
			var got int
			if err := conn.Raw("SELECT GET_LOCK(CONCAT('aftersales_migrate_', MD5(DATABASE())), 5)").
				Scan(&got).Error; err != nil || got != 1 {
				close(locked)
				return err
			}
			close(locked)
			<-release
			return conn.Exec("DO RELEASE_LOCK(CONCAT('aftersales_migrate_', MD5(DATABASE())))").Error
		})
	}()
	<-locked

	migrated := make(chan error)
	go func() { migrated <- migrator.Migrate(t.Context()) }()
	select {
	case err := <-migrated:
		t.Fatalf("Migrate did not wait for the lock: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.False(t, migrator.Gorm(t.Context()).Migrator().HasTable(&store.Lease{}))

	close(release)
	require.NoError(t, <-held)
	require.NoError(t, <-migrated)
	require.True(t, migrator.Gorm(t.Context()).Migrator().HasTable(&store.Lease{}))
}

// Galera replicates only InnoDB tables with primary keys (others are
// refused or drift apart between nodes), so every table the migrations
// create must be one; the migrations also must not lock tables, which
// Galera refuses.
func TestSchemaFitsGalera(t *testing.T) {
	db := storetest.Open(t, store.DialectMySQL) // skips without MySQL
	var bad []string
	require.NoError(t, db.Gorm(t.Context()).Raw(`
		SELECT CONCAT(t.table_name, ' (', t.engine, ')') FROM information_schema.tables t
		WHERE t.table_schema = DATABASE() AND (t.engine <> 'InnoDB' OR NOT EXISTS (
			SELECT 1 FROM information_schema.table_constraints c
			WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY'))`).
		Scan(&bad).Error)
	require.Empty(t, bad, "tables Galera cannot replicate")

	files, err := fs.Glob(store.Migrations(), "migrations/mysql/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := fs.ReadFile(store.Migrations(), f)
		require.NoError(t, err)
		sql := strings.ToUpper(string(b))
		for _, forbidden := range []string{"LOCK TABLES", "GET_LOCK", "ENGINE = MYISAM", "ENGINE=MYISAM", "ENGINE = MEMORY", "ENGINE=MEMORY"} {
			require.NotContains(t, sql, forbidden, f)
		}
	}
}
