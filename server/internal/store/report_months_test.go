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

// TestReportMonthsMigration: 00012 builds each grouping's month rows
// (group_kind + 100, at the month's first day) from the day rows counted
// before it, across month ends and a leap day, per scope and group value.
func TestReportMonthsMigration(t *testing.T) {
	day := func(y int, m time.Month, d int) int32 {
		return int32(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
	}
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
			_, err = p.DownTo(ctx, 11)
			require.NoError(t, err)

			days := []store.ReportRollup{
				{Scope: "", GroupKind: 0, Day: day(2026, 1, 31), TicketsOpened: 1},
				{Scope: "", GroupKind: 0, Day: day(2026, 2, 1), TicketsOpened: 2, ResponseB03: 4},
				{Scope: "", GroupKind: 0, Day: day(2026, 2, 28), TicketsOpened: 3, ResponseB03: 1},
				{Scope: "", GroupKind: 0, Day: day(2024, 2, 29), TicketsOpened: 5},
				{Scope: "p1", GroupKind: 1, Day: day(2026, 2, 10), GroupValue: "s1", Complaints: 7},
				{Scope: "p1", GroupKind: 1, Day: day(2026, 2, 11), GroupValue: "s2", Complaints: 1},
			}
			// Without the counters later migrations added (00017).
			require.NoError(t, db.Gorm(ctx).Omit("campaign_tickets_opened", "campaign_tickets_resolved").Create(&days).Error)
			_, err = p.Up(ctx)
			require.NoError(t, err)

			var months []store.ReportRollup
			require.NoError(t, db.Gorm(ctx).Where("group_kind >= 100").Order("scope, group_kind, day, group_value").Find(&months).Error)
			require.Equal(t, []store.ReportRollup{
				{Scope: "", GroupKind: 100, Day: day(2024, 2, 1), TicketsOpened: 5},
				{Scope: "", GroupKind: 100, Day: day(2026, 1, 1), TicketsOpened: 1},
				{Scope: "", GroupKind: 100, Day: day(2026, 2, 1), TicketsOpened: 5, ResponseB03: 5},
				{Scope: "p1", GroupKind: 101, Day: day(2026, 2, 1), GroupValue: "s1", Complaints: 7},
				{Scope: "p1", GroupKind: 101, Day: day(2026, 2, 1), GroupValue: "s2", Complaints: 1},
			}, months)
		})
	}
}
