package maintenanceflow_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/maintenanceflow"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 9, 30, 0, 0, time.UTC) }

func TestAddMonths(t *testing.T) {
	for _, c := range []struct {
		from   time.Time
		months int
		want   time.Time
	}{
		{day(2026, 1, 15), 1, day(2026, 2, 15)},
		{day(2026, 1, 31), 1, day(2026, 2, 28)},
		{day(2028, 1, 31), 1, day(2028, 2, 29)},
		{day(2026, 8, 31), 1, day(2026, 9, 30)},
		{day(2026, 3, 31), 12, day(2027, 3, 31)},
		{day(2026, 11, 30), 3, day(2027, 2, 28)},
		{day(2026, 5, 10), 120, day(2036, 5, 10)},
	} {
		require.Equal(t, c.want, maintenanceflow.AddMonths(c.from, c.months), "%s + %d months", c.from, c.months)
	}
}

func TestFirstAndNextDue(t *testing.T) {
	bought, registered := day(2025, 4, 1), day(2025, 6, 1)
	require.Equal(t, day(2026, 4, 1), maintenanceflow.FirstDue(&bought, registered, 12), "from the purchase")
	require.Equal(t, day(2026, 6, 1), maintenanceflow.FirstDue(nil, registered, 12), "from the registration without a purchase date")

	due, end := day(2026, 4, 1), day(2026, 4, 20)
	require.Equal(t, day(2026, 10, 20), maintenanceflow.NextDue(maintenanceflow.Done, due, end, 6), "after the work")
	require.Equal(t, day(2026, 10, 1), maintenanceflow.NextDue(maintenanceflow.Cancelled, due, end, 6), "after the missed due date")
	require.Equal(t, day(2026, 10, 1), maintenanceflow.NextDue(maintenanceflow.Reminded, due, end, 6), "after the date reminded of")
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		o                      maintenanceflow.Outcome
		due, reading, interval int64
		want                   int64
	}{
		{maintenanceflow.Done, 500, 480, 500, 980},       // after the reading at the work
		{maintenanceflow.Done, 500, 530, 500, 1030},      // late work: after the reading then
		{maintenanceflow.Cancelled, 500, 530, 500, 1000}, // after the missed due reading
		{maintenanceflow.Reminded, 500, 470, 500, 1000},  // after the reading reminded of
		{maintenanceflow.Cancelled, 0, 320, 500, 820},    // due by date: after the reading then
		{maintenanceflow.Done, 0, 320, 500, 820},
	} {
		require.Equal(t, c.want, maintenanceflow.NextDueUsage(c.o, c.due, c.reading, c.interval), "%+v", c)
	}
	for _, c := range []struct {
		reading, due, lead int64
		want               bool
	}{
		{0, 500, 50, false},
		{449, 500, 50, false},
		{450, 500, 50, true},
		{500, 500, 0, true},
		{499, 500, 0, false},
		{2000, 500, 50, true},
	} {
		require.Equal(t, c.want, maintenanceflow.DueByUsage(c.reading, c.due, c.lead), "%+v", c)
	}
}
