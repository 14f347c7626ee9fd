package store_test

import (
	"io/fs"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestProductRegionBackfill: 00019 gives the products that predate
// Product.region the region the service derives: the install address's,
// else the owner's, else none; a region already set is kept.
func TestProductRegionBackfill(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			ctx := t.Context()
			sqlDB, err := db.Gorm(ctx).DB()
			require.NoError(t, err)
			fsys, err := fs.Sub(store.Migrations(), "migrations/"+dialect)
			require.NoError(t, err)
			gd := goose.DialectSQLite3
			if dialect == store.DialectMySQL {
				gd = goose.DialectMySQL
			}
			p, err := goose.NewProvider(gd, sqlDB, fsys, goose.WithDisableGlobalRegistry(true))
			require.NoError(t, err)
			_, err = p.DownTo(ctx, 18)
			require.NoError(t, err)

			now := time.Now().UTC().Truncate(time.Second)
			customer := func(id, address string) {
				require.NoError(t, db.Gorm(ctx).Exec("INSERT INTO customers (id, display_name, phone, email, address, contact_preferences, create_time, update_time, version) VALUES (?, 'c', '', '', ?, '', ?, ?, 1)",
					id, address, now, now).Error)
			}
			product := func(id, customer, install, region string) {
				require.NoError(t, db.Gorm(ctx).Exec("INSERT INTO products (id, customer_id, model, serial_number, retailer, install_address, region, create_time, update_time, version) VALUES (?, ?, 'M', ?, '', ?, ?, ?, ?, 1)",
					id, customer, "SN-"+id, install, region, now, now).Error)
			}
			customer("c1", `{"city":"Shanghai","region":"Shanghai"}`)
			customer("c2", "")
			customer("c3", `{"region":"  "}`)
			product("p1", "c1", "", "")                                        // the owner's
			product("p2", "c1", `{"region":"Zhejiang","city":"Hangzhou"}`, "") // installed elsewhere
			product("p3", "c2", `{"city":"Suzhou"}`, "")                       // neither has one
			product("p4", "c3", "", "")                                        // a blank region is none
			product("p5", "c1", "", "Jiangsu")                                 // already derived: kept
			product("p6", "c2", "not json", "")                                // unreadable: none

			_, err = p.Up(ctx)
			require.NoError(t, err)
			var rows []store.Product
			require.NoError(t, db.Gorm(ctx).Order("id").Find(&rows).Error)
			got := map[string]string{}
			for _, r := range rows {
				got[r.ID] = r.Region
			}
			require.Equal(t, map[string]string{"p1": "Shanghai", "p2": "Zhejiang", "p3": "", "p4": "", "p5": "Jiangsu", "p6": ""}, got)
		})
	}
}
