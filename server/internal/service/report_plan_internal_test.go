package service

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPlanRollups: for any window and top level, the planned rows add up
// to each day of the window once and to no day outside it, are of levels
// up to top, and are never more than the window's days.
func TestPlanRollups(t *testing.T) {
	date := func(y int, m time.Month, d int) int32 { return dayOf(time.Date(y, m, d, 0, 0, 0, 0, time.UTC)) }
	base := date(2025, 1, 1)
	r := rand.New(rand.NewPCG(1, 2))
	windows := []window{
		{date(2025, 12, 3), date(2026, 12, 3)},
		{date(2026, 2, 1), date(2026, 3, 1)},
		{date(2026, 2, 2), date(2026, 2, 28)},
		{date(2024, 1, 1), date(2025, 1, 1)}, // a leap year
		{date(2024, 3, 1), date(2025, 3, 1)},
	}
	for range 2000 {
		start := base + r.Int32N(700)
		windows = append(windows, window{start, start + 1 + r.Int32N(maxWindowDays)})
	}
	for _, top := range []level{levelDay, levelMonth, levelYear} {
		for _, w := range windows {
			p := planRollups(w, top)
			for d := base - 400; d < base+800+maxWindowDays; d++ {
				var n int64
				for l := levelDay; l <= top; l++ {
					start, _ := l.unit(d)
					n += p[planKey{l, start}]
				}
				if want := map[bool]int64{true: 1, false: 0}[d >= w.start && d < w.end]; n != want {
					t.Fatalf("window %v, top %d, plan %v: day %v counted %d times, want %d", w, top, p, dayStart(d).Format("2006-01-02"), n, want)
				}
			}
			for k, sign := range p {
				if k.level > top || (sign != 1 && sign != -1) {
					t.Fatalf("window %v, top %d: row %+v with sign %d", w, top, k, sign)
				}
				if start, _ := k.level.unit(k.day); start != k.day {
					t.Fatalf("window %v: row %+v does not start its %d", w, k, k.level)
				}
			}
			if len(p) > int(w.end-w.start) {
				t.Errorf("window %v, top %d: plan reads %d rows for %d days", w, top, len(p), w.end-w.start)
			}
		}
	}
	// The last 12 months to 2026-12-03: from days, 365 rows; from months
	// and days, 12 month rows, 2 days taken away and 2 added; with years,
	// December 2025 less 2 days, and 2026 less December plus its 2 days.
	twelve := windows[0]
	require.Len(t, planRollups(twelve, levelDay), 365)
	require.Len(t, planRollups(twelve, levelMonth), 16)
	require.Equal(t, rollupPlan{
		{levelMonth, date(2025, 12, 1)}: 1, {levelDay, date(2025, 12, 1)}: -1, {levelDay, date(2025, 12, 2)}: -1,
		{levelYear, date(2026, 1, 1)}: 1, {levelMonth, date(2026, 12, 1)}: -1, {levelDay, date(2026, 12, 1)}: 1, {levelDay, date(2026, 12, 2)}: 1,
	}, planRollups(twelve, levelYear))
	// A whole year is its year row; a whole month its month row.
	require.Equal(t, rollupPlan{{levelYear, date(2024, 1, 1)}: 1}, planRollups(windows[3], levelYear))
	require.Equal(t, rollupPlan{{levelMonth, date(2026, 2, 1)}: 1}, planRollups(windows[1], levelYear))
}

// TestPlanConditions: the plan's rows are read as runs of days and lists
// of month and year rows.
func TestPlanConditions(t *testing.T) {
	p := rollupPlan{{levelDay, 10}: 1, {levelDay, 11}: -1, {levelDay, 13}: 1, {levelMonth, 31}: 1, {levelMonth, 0}: -1, {levelYear, 0}: 1}
	conds, args := p.conditions(1)
	require.Equal(t, []string{
		"(group_kind = ? AND day >= ? AND day < ?)", "(group_kind = ? AND day >= ? AND day < ?)",
		"(group_kind = ? AND day IN ?)", "(group_kind = ? AND day IN ?)",
	}, conds)
	require.Equal(t, []any{int32(1), int32(10), int32(12), int32(1), int32(13), int32(14), int32(101), []int32{0, 31}, int32(201), []int32{0}}, args)
}

// TestParseCount: the counters' parser agrees with strconv on what it
// accepts and on what it refuses.
func TestParseCount(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "123456789012345678", "-123456789012345678",
		"9223372036854775807", "-9223372036854775808", "9223372036854775808", "", "-", "1.5", "12a", "+3", " 1"} {
		want, wantErr := strconv.ParseInt(s, 10, 64)
		got, err := parseCount([]byte(s))
		if (err != nil) != (wantErr != nil) || (err == nil && got != want) {
			t.Errorf("parseCount(%q) = %d, %v; strconv says %d, %v", s, got, err, want, wantErr)
		}
	}
}

// TestParseCounters: a row's counters are all there, in order, or the row
// is refused.
func TestParseCounters(t *testing.T) {
	var want counters
	parts := make([]string, len(want))
	for i := range want {
		want[i] = int64(i*1000 - 7)
		parts[i] = strconv.FormatInt(want[i], 10)
	}
	var got counters
	if err := parseCounters([]byte(strings.Join(parts, ",")), &got); err != nil || got != want {
		t.Fatalf("parseCounters = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{
		strings.Join(parts[1:], ","),        // one short
		strings.Join(parts, ",") + ",1",     // one too many
		strings.Join(parts, ",") + ",",      // a trailing comma
		"x," + strings.Join(parts[1:], ","), // not a number
	} {
		if err := parseCounters([]byte(bad), &got); err == nil {
			t.Errorf("parseCounters(%.40q...) accepted", bad)
		}
	}
}
