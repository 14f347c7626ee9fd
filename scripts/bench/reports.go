package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// The reports benchmark (scripts/bench-reports.sh): the metrics-grpc
// scenario, and the steps around it: reports-reset empties the report
// tables like the server's RebuildReports, reports-catchup waits for the
// server's rollup loop to count every seeded row and records the size
// and the times, reports-report prints the table and the goal.

// metricsWindow is the report window measured: the last days whole UTC
// days (-metrics-days, 30 by default; 365 for the 12-month figure).
func metricsWindow(days int) (start, end time.Time) {
	end = time.Now().UTC().Truncate(24 * time.Hour)
	return end.AddDate(0, 0, -days), end
}

// metricsScenario calls GetServiceMetrics over metricsWindow grouped by
// staff. Its notes check the answer against the tickets table.
func (e *env) metricsScenario() *scenario {
	start, end := metricsWindow(e.f.metricsDays)
	req := &aftersalesv1.GetServiceMetricsRequest{
		StartTime: timestamppb.New(start), EndTime: timestamppb.New(end), GroupBy: aftersalesv1.Dimension_STAFF,
	}
	var rows, opened atomic.Int64
	return &scenario{
		kinds: []string{"metrics"},
		newOp: func(i int) op {
			w, err := e.grpcWorker(i)
			if err != nil {
				return func(context.Context) (int, error) { return 0, err }
			}
			c, _ := e.conn(i) // w's connection
			client := aftersalesv1.NewReportServiceClient(c)
			return func(ctx context.Context) (int, error) {
				ctx, cancel := w.callCtx(ctx)
				defer cancel()
				resp, err := client.GetServiceMetrics(ctx, req)
				if err == nil {
					var n int64
					for _, r := range resp.GetRows() {
						n += r.GetTicketsOpened()
					}
					rows.Store(int64(len(resp.GetRows())))
					opened.Store(n)
				}
				return 0, err
			}
		},
		notes: func() []string {
			var want int64
			if err := e.db.QueryRow("SELECT COUNT(*) FROM tickets WHERE create_time >= ? AND create_time < ?", start, end).Scan(&want); err != nil {
				return []string{"tickets table not counted: " + err.Error()}
			}
			return []string{fmt.Sprintf("window %s..%s: %d rows per answer, %d tickets opened in them (tickets table: %d)",
				start.Format(time.DateOnly), end.Format(time.DateOnly), rows.Load(), opened.Load(), want)}
		},
	}
}

// reportSources are the tables the rollup loop follows (as
// service.rollupSources; this program does not import the server): the
// catch-up waits until their latest change is counted.
var reportSources = []string{"tickets", "follow_ups", "complaints", "products"}

// cmdReportsReset empties the report tables and resets the loop's
// watermarks, as service.RebuildReports does (this program does not
// import the server), so the loop recounts everything. Run it with the
// server stopped.
func cmdReportsReset(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("reports-reset", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := f.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{"TRUNCATE TABLE report_facts", "TRUNCATE TABLE report_rollups", "TRUNCATE TABLE report_faults", "DELETE FROM report_watermarks"} {
		if _, err := db.Exec(q); err != nil {
			return err
		}
	}
	return nil
}

// perTicket is CPU seconds per ticket counted, in milliseconds, or "-"
// when the CPU was not measured.
func perTicket(cpuS float64, tickets int64) string {
	if cpuS <= 0 || tickets == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", 1000*cpuS/float64(tickets))
}

// sizeRes is one size of the reports benchmark.
type sizeRes struct {
	Label      string  `json:"label"`
	Tickets    int64   `json:"tickets"`
	FollowUps  int64   `json:"follow_ups"`
	Complaints int64   `json:"complaints"`
	Facts      int64   `json:"facts"`
	Rollups    int64   `json:"rollup_rows"`
	SeedS      float64 `json:"seed_s"`
	CatchUpS   float64 `json:"catchup_s"`
	// ServerCPUS and MysqldCPUS are the CPU seconds the server and
	// mysqld spent while the loop counted (0 when the pid is unknown).
	ServerCPUS float64 `json:"server_cpu_s"`
	MysqldCPUS float64 `json:"mysqld_cpu_s"`
	Load       string  `json:"load"`
}

// cmdReportsCatchUp waits until the rollup loop has counted every row of
// the source tables: until every watermark is past their latest
// update_time (the loop moves a watermark to its horizon, now − 1
// minute, once it has read everything before it). It appends the sizes
// and times to -out.
func cmdReportsCatchUp(args []string) error {
	var (
		f       dbFlags
		res     sizeRes
		out     string
		timeout time.Duration
		pids    [2]int // server, mysqld
	)
	fs := flag.NewFlagSet("reports-catchup", flag.ContinueOnError)
	f.register(fs)
	fs.StringVar(&res.Label, "label", "", "the size's name, e.g. 10k")
	fs.Float64Var(&res.SeedS, "seed-s", 0, "how long seeding took, to record")
	fs.StringVar(&out, "out", "", "append the result as a JSON line to this file")
	fs.DurationVar(&timeout, "timeout", 2*time.Hour, "give up after this long")
	fs.IntVar(&pids[0], "server-pid", 0, "server pid, for the CPU the counting cost it; 0 if unknown")
	fs.IntVar(&pids[1], "mysqld-pid", 0, "mysqld pid, likewise")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// cpu reads both processes' CPU time so far (0 for an unknown pid).
	cpu := func() (c [2]time.Duration) {
		for i, pid := range pids {
			if pid > 0 {
				c[i], _ = procCPU(pid)
			}
		}
		return c
	}
	cpu0 := cpu()
	db, err := f.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	var latest time.Time
	for _, src := range reportSources {
		var t sql.NullTime
		if err := db.QueryRow("SELECT MAX(update_time) FROM " + src).Scan(&t); err != nil {
			return err
		}
		if t.Time.After(latest) {
			latest = t.Time
		}
	}
	var last time.Time
	for ; ; time.Sleep(time.Second) {
		var n int
		var mark sql.NullTime
		if err := db.QueryRow("SELECT COUNT(*), MIN(update_time) FROM report_watermarks").Scan(&n, &mark); err != nil {
			return err
		}
		// The loop creates all its watermarks at once, so any row means
		// all are there, however many sources the server follows.
		if n > 0 && mark.Time.After(latest) {
			break
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("the rollups did not catch up in %s", timeout)
		}
		if time.Since(last) > 30*time.Second {
			var facts int64
			_ = db.QueryRow("SELECT COUNT(*) FROM report_facts").Scan(&facts)
			fmt.Fprintf(os.Stderr, "bench reports-catchup: %s: %d facts after %s\n", res.Label, facts, time.Since(start).Round(time.Second))
			last = time.Now()
		}
	}
	res.CatchUpS = time.Since(start).Seconds()
	cpu1 := cpu()
	res.ServerCPUS, res.MysqldCPUS = (cpu1[0] - cpu0[0]).Seconds(), (cpu1[1] - cpu0[1]).Seconds()
	for _, c := range []struct {
		q   string
		dst *int64
	}{
		{"SELECT COUNT(*) FROM tickets", &res.Tickets}, {"SELECT COUNT(*) FROM follow_ups", &res.FollowUps},
		{"SELECT COUNT(*) FROM complaints", &res.Complaints}, {"SELECT COUNT(*) FROM report_facts", &res.Facts},
		{"SELECT COUNT(*) FROM report_rollups", &res.Rollups},
	} {
		if err := db.QueryRow(c.q).Scan(c.dst); err != nil {
			return err
		}
	}
	res.Load = loadAvg()
	fmt.Fprintf(os.Stderr, "bench reports-catchup: %s: %d tickets, %d follow-ups, %d complaints counted in %.0f s (%d facts, %d rollup rows)\n",
		res.Label, res.Tickets, res.FollowUps, res.Complaints, res.CatchUpS, res.Facts, res.Rollups)
	if out == "" {
		return nil
	}
	fh, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer fh.Close()
	return json.NewEncoder(fh).Encode(res)
}

// loadAvg is the machine's load average, from /proc/loadavg.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// cmdReportsReport prints the reports benchmark: per size the data, the
// seeding and catch-up times and the latencies of GetServiceMetrics, then
// the large size's latencies against the small one's and the goal.
func cmdReportsReport(args []string) error {
	fs := flag.NewFlagSet("reports-report", flag.ContinueOnError)
	resultsPath := fs.String("results", "", "results file of bench run (JSON lines)")
	sizesPath := fs.String("sizes", "", "file of bench reports-catchup (JSON lines)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	results, err := readResults(*resultsPath)
	if err != nil {
		return err
	}
	b, err := os.ReadFile(*sizesPath)
	if err != nil {
		return err
	}
	var sizes []sizeRes
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var s sizeRes
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			return fmt.Errorf("%s: %w", *sizesPath, err)
		}
		sizes = append(sizes, s)
	}
	fmt.Println("-- data and rollups (catch-up = the server's rollup loop counting every row from empty tables)")
	var rows [][]string
	for _, s := range sizes {
		rows = append(rows, []string{s.Label, fmt.Sprint(s.Tickets), fmt.Sprint(s.FollowUps), fmt.Sprint(s.Complaints),
			fmt.Sprint(s.Facts), fmt.Sprint(s.Rollups), fmt.Sprintf("%.1f", s.SeedS), fmt.Sprintf("%.1f", s.CatchUpS),
			fmt.Sprintf("%.0f", float64(s.Tickets)/max(s.CatchUpS, 0.001)),
			perTicket(s.ServerCPUS, s.Tickets), perTicket(s.MysqldCPUS, s.Tickets), s.Load})
	}
	printTable([]string{"size", "tickets", "follow-ups", "complaints", "facts", "rollup rows", "seed s", "catch-up s", "tickets/s",
		"server CPU ms/ticket", "mysqld CPU ms/ticket", "load after"}, rows)

	fmt.Println()
	fmt.Println("-- GetServiceMetrics over gRPC, last 30 days (\"12mo\": last 365) grouped by STAFF, closed loop")
	rows = rows[:0]
	byLabel := map[string]result{}
	var labels []string
	for _, r := range results {
		byLabel[r.Label] = r
		labels = append(labels, r.Label)
		rows = append(rows, []string{r.Label, fmt.Sprint(r.Conc), fmt.Sprint(r.Calls), fmt.Sprintf("%.1f", r.Rate), fmt.Sprintf("%.2f", r.P50),
			fmt.Sprintf("%.2f", r.P95), fmt.Sprintf("%.2f", r.P99), perK(r.ServerCPU, r.Calls), perK(r.MysqldCPU, r.Calls),
			fmt.Sprintf("%.2f", max(0, r.OtherCPU/max(r.WindowS, 0.001))), fmt.Sprint(r.Errors)})
	}
	printTable([]string{"run", "conc", "calls", "calls/s", "p50 ms", "p95 ms", "p99 ms", "server CPU s/1k", "mysqld CPU s/1k", "other CPUs busy", "errors"}, rows)
	for _, r := range results {
		for _, n := range r.Notes {
			fmt.Printf("   %s: %s\n", r.Label, n)
		}
	}

	if len(sizes) < 2 {
		return errors.New("fewer than two sizes measured")
	}
	// The small size comes first, the large one is the one with the most
	// tickets, and the small one is measured again after it ("10k after").
	small, large := sizes[0], sizes[0]
	for _, s := range sizes {
		if s.Tickets > large.Tickets {
			large = s
		}
	}
	fmt.Println()
	fmt.Printf("-- goal: GetServiceMetrics at %s no more than 2x its latency at %s (measured before %s and again after it)\n",
		large.Label, small.Label, large.Label)
	// The 12-month answer at the large size against the 30-day one at the
	// small: year and month rows keep its row count near the 30-day one's.
	type goal struct{ yard, yardLabel, rest string }
	var goals []goal
	for _, l := range labels {
		rest, ok := strings.CutPrefix(l, small.Label+" ")
		if !ok || strings.HasPrefix(rest, "12mo ") {
			continue
		}
		yard := small.Label
		if r, ok := strings.CutPrefix(rest, "after "); ok {
			rest, yard = r, small.Label+" after"
		}
		goals = append(goals, goal{yard, l, rest}, goal{yard, l, "12mo " + rest})
	}
	for _, g := range goals {
		a, ok := byLabel[large.Label+" "+g.rest]
		if !ok {
			continue
		}
		s := byLabel[g.yardLabel]
		for _, p := range []struct {
			name   string
			lo, hi float64
		}{{"p50", s.P50, a.P50}, {"p95", s.P95, a.P95}, {"p99", s.P99, a.P99}} {
			ratio := p.hi / max(p.lo, 0.001)
			fmt.Printf("   %-9s %s: %7.2f ms at %-9s %7.2f ms at %s: ratio %.2f (goal <= 2.0) %s\n",
				g.rest, p.name, p.lo, g.yard+",", p.hi, large.Label, ratio, verdict(ratio <= 2))
		}
	}
	return nil
}
