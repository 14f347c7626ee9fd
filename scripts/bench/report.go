package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// ratioRule compares a result with its baseline.
type ratioRule struct {
	label, base string
	p99         bool    // compare p99 latency instead of calls/s
	goal        float64 // the bound
	atMost      bool    // the ratio must be at most goal (else at least)
	name        string  // the goal's name in the summary
	what        string
}

func cmdReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	path := fs.String("results", "", "results file (JSON lines)")
	rssKiB := fs.Int64("rss-kib", -1, "the server's peak RSS (VmHWM) in KiB")
	serverLog := fs.String("server-log", "", "the server's log, scanned for warnings and errors; more logs after commas (the outbox comparison's servers)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	lines, err := readResults(*path)
	if err != nil {
		return err
	}
	// One row per label: the rounds of a label merged.
	rounds := map[string][]result{}
	var order []string
	for _, r := range lines {
		if rounds[r.Label] == nil {
			order = append(order, r.Label)
		}
		rounds[r.Label] = append(rounds[r.Label], r)
	}
	var results []result
	byLabel := map[string]*result{}
	for _, l := range order {
		m, err := mergeRounds(rounds[l])
		if err != nil {
			return err
		}
		results = append(results, m)
	}
	for i := range results {
		byLabel[results[i].Label] = &results[i]
	}
	rules := []ratioRule{
		{label: "create-grpc", base: "raw-create", goal: 0.85, name: "create", what: "CreateTicket gRPC / raw database/sql, calls/s at c=32"},
		{label: "create-json", base: "create-grpc", goal: 0.8, name: "gateway", what: "CreateTicket JSON / gRPC, calls/s"},
		{label: "get-json", base: "get-grpc", goal: 0.5, name: "gateway", what: "GetTicket JSON / gRPC, calls/s"},
		{label: "create-grpc outbox+webhook", base: "create-grpc no outbox", goal: 0.9, name: "outbox", what: "CreateTicket with outbox+webhook / without outbox"},
	}
	// The list goal compares, at each concurrency, the first list result
	// (the small table) with the last (the large one).
	lists := map[int][]string{}
	var listConcs []int
	for _, r := range results {
		if r.Scenario == "list-grpc" {
			if lists[r.Conc] == nil {
				listConcs = append(listConcs, r.Conc)
			}
			lists[r.Conc] = append(lists[r.Conc], r.Label)
		}
	}
	for _, c := range listConcs {
		if l := lists[c]; len(l) >= 2 {
			small, large := l[0], l[len(l)-1]
			rules = append(rules, ratioRule{label: large, base: small, p99: true, goal: 2, atMost: true, name: "list",
				what: fmt.Sprintf("ListTickets p99 %s / %s at c=%d", sizeOf(large), sizeOf(small), c)})
		}
	}
	// The table.
	head := []string{"scenario", "conc", "calls/s", "p50 ms", "p95 ms", "p99 ms", "server CPU s/1k", "mysqld CPU s/1k", "loadgen CPU s/1k", "errors", "ratio", "vs"}
	var rows [][]string
	for _, r := range results {
		conc := fmt.Sprint(r.Conc)
		if n := len(rounds[r.Label]); n > 1 {
			conc += fmt.Sprintf(" x%d", n)
		}
		ratio, vs := "", ""
		if r.Mode == "open" {
			conc = fmt.Sprintf("open %.0f/s", r.TargetRate)
			ratio, vs = fmt.Sprintf("%.2f", r.Rate/r.TargetRate), "target rate"
		}
		for _, rule := range rules {
			if rule.label != r.Label {
				continue
			}
			if v, lo, hi, n := ratioRounds(rule, rounds, byLabel); n > 0 {
				ratio = fmt.Sprintf("%.2f", v)
				op := ">="
				if rule.atMost {
					op = "<="
				}
				vs = fmt.Sprintf("%s (p99)", rule.base)
				if !rule.p99 {
					vs = rule.base
				}
				if n > 1 {
					vs += fmt.Sprintf(", median of %d rounds %.2f..%.2f", n, lo, hi)
				}
				vs += fmt.Sprintf(", goal %s %g", op, rule.goal)
			}
		}
		rows = append(rows, []string{r.Label, conc, fmt.Sprintf("%.1f", r.Rate), fmt.Sprintf("%.2f", r.P50), fmt.Sprintf("%.2f", r.P95),
			fmt.Sprintf("%.2f", r.P99), perK(r.ServerCPU, r.Calls), perK(r.MysqldCPU, r.Calls), genCPU(r), fmt.Sprint(r.Errors), ratio, vs})
	}
	printTable(head, rows)

	// The goals.
	fmt.Println("\nGoals:")
	for _, rule := range rules {
		v, lo, hi, n := ratioRounds(rule, rounds, byLabel)
		if n == 0 {
			fmt.Printf("  %-8s %-56s not measured\n", rule.name, rule.what)
			continue
		}
		met := v >= rule.goal
		op := ">="
		if rule.atMost {
			met, op = v <= rule.goal, "<="
		}
		spread := ""
		if n > 1 {
			spread = fmt.Sprintf("  rounds %.2f..%.2f", lo, hi)
		}
		fmt.Printf("  %-8s %-56s %6.2f  (goal %s %g)  %-7s%s\n", rule.name, rule.what, v, op, rule.goal, verdict(met), spread)
	}
	if *rssKiB >= 0 {
		mib := float64(*rssKiB) / 1024
		fmt.Printf("  %-8s %-56s %6.1f MiB  (goal < 200 MiB)  %s\n", "memory", "server peak RSS (VmHWM) over the whole run", mib, verdict(mib < 200))
	} else {
		fmt.Printf("  %-8s %-56s not measured\n", "memory", "server peak RSS (VmHWM)")
	}
	for _, r := range results {
		if r.Webhook != nil {
			printWebhook(r, len(rounds[r.Label]))
		}
	}

	// Notes: what each scenario reported, and the mixed breakdown.
	var notes []string
	for _, r := range results {
		if len(r.Kinds) > 0 && r.Scenario == "mixed" {
			var parts []string
			for _, k := range mixedKinds {
				if kr, ok := r.Kinds[k]; ok {
					parts = append(parts, fmt.Sprintf("%s %.0f%% p50 %.1f p99 %.1f", k, 100*float64(kr.Calls)/float64(r.Calls), kr.P50, kr.P99))
				}
			}
			notes = append(notes, fmt.Sprintf("%s: %s (ms)", r.Label, strings.Join(parts, "; ")))
		}
		if len(r.Kinds) > 0 && r.Scenario == "list-grpc" {
			var parts []string
			for _, k := range []string{"page1", "page2"} {
				if kr, ok := r.Kinds[k]; ok {
					parts = append(parts, fmt.Sprintf("%s p50 %.2f p99 %.2f", k, kr.P50, kr.P99))
				}
			}
			notes = append(notes, fmt.Sprintf("%s: %s (ms)", r.Label, strings.Join(parts, "; ")))
		}
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "  ") {
				notes = append(notes, n)
			} else {
				notes = append(notes, r.Label+": "+n)
			}
		}
		if n := float64(r.Calls); n > 0 && r.InnoDB != nil {
			d := r.InnoDB
			line := fmt.Sprintf("%s: mysqld per call: %.2f fsyncs, %.2f buffer-pool misses (disk reads), %.1f KB of redo", r.Label,
				float64(d["Innodb_data_fsyncs"])/n, float64(d["Innodb_buffer_pool_reads"])/n, float64(d["Innodb_os_log_written"])/n/1024)
			if w := d["Innodb_row_lock_waits"]; w > 0 {
				line += fmt.Sprintf("; %d row-lock waits (%d ms in all)", w, d["Innodb_row_lock_time"])
			}
			if w := d["Innodb_log_waits"] + d["Innodb_buffer_pool_wait_free"]; w > 0 {
				line += fmt.Sprintf("; %d waits for redo log space or free pages", w)
			}
			notes = append(notes, line)
		}
		if tl := timeline(r); tl != "" {
			notes = append(notes, r.Label+": "+tl)
		}
		if w := r.WindowS; w > 0 && r.OtherCPU/w > disturbedCPUs {
			notes = append(notes, fmt.Sprintf("%s: WARNING: %.2f CPUs busy outside the server, mysqld and the load generator during the window (other processes?): figures disturbed", r.Label, r.OtherCPU/w))
		}
		if r.FirstError != "" {
			notes = append(notes, fmt.Sprintf("%s: %d errors, first: %s", r.Label, r.Errors, short(r.FirstError, 200)))
		}
	}
	fmt.Println("\n(conc xN: N interleaved rounds, merged; the ratios of interleaved scenarios are the median of the rounds' ratios)")
	if len(notes) > 0 {
		fmt.Println("\nNotes:")
		for _, n := range notes {
			fmt.Println("  " + n)
		}
	}
	for i, l := range strings.Split(*serverLog, ",") {
		title := "Server log"
		if i > 0 {
			title += " " + filepath.Base(l)
		}
		if l != "" {
			scanLog(title, l, results)
		}
	}
	return nil
}

// ratioRounds returns a rule's ratio. A ratio is the median of the
// rounds' ratios when both sides ran in the same rounds (interleaved, so
// that drift in the machine's or MySQL's state hits both alike), else
// that of the merged results. It returns the ratio, the range of the
// rounds' ratios and their count (1 for merged results, 0 when not
// measured).
func ratioRounds(r ratioRule, rounds map[string][]result, byLabel map[string]*result) (med, lo, hi float64, n int) {
	val := func(x *result) float64 {
		if r.p99 {
			return x.P99
		}
		return x.Rate
	}
	var ratios []float64
	for _, a := range rounds[r.label] {
		for _, b := range rounds[r.base] {
			if a.Round != 0 && a.Round == b.Round && val(&b) > 0 {
				ratios = append(ratios, val(&a)/val(&b))
			}
		}
	}
	if len(ratios) == 0 {
		a, b := byLabel[r.label], byLabel[r.base]
		if a == nil || b == nil || val(b) == 0 {
			return 0, 0, 0, 0
		}
		v := val(a) / val(b)
		return v, v, v, 1
	}
	sort.Float64s(ratios)
	med = ratios[len(ratios)/2]
	if len(ratios)%2 == 0 {
		med = (ratios[len(ratios)/2-1] + ratios[len(ratios)/2]) / 2
	}
	return med, ratios[0], ratios[len(ratios)-1], len(ratios)
}

// mergeRounds merges the results of one label: sums of calls, windows
// and CPU, and percentiles over all the rounds' samples.
func mergeRounds(rs []result) (result, error) {
	if len(rs) == 1 {
		return rs[0], nil
	}
	m := rs[0]
	m.Notes = nil
	m.Seconds = nil
	m.InnoDB = map[string]int64{}
	m.Calls, m.Errors, m.WindowS = 0, 0, 0
	m.ServerCPU, m.MysqldCPU, m.GenCPU, m.OtherCPU = 0, 0, 0, 0
	seenNote := map[string]bool{}
	lat := make([][]time.Duration, len(m.KindNames))
	for _, r := range rs {
		m.Calls += r.Calls
		m.Errors += r.Errors
		m.WindowS += r.WindowS
		if m.FirstError == "" {
			m.FirstError = r.FirstError
		}
		addCPU := func(dst *float64, v float64) {
			if v < 0 || *dst < 0 {
				*dst = -1
			} else {
				*dst += v
			}
		}
		addCPU(&m.ServerCPU, r.ServerCPU)
		addCPU(&m.MysqldCPU, r.MysqldCPU)
		addCPU(&m.GenCPU, r.GenCPU)
		m.OtherCPU += r.OtherCPU
		for k, v := range r.InnoDB {
			m.InnoDB[k] += v
		}
		m.Seconds = append(m.Seconds, r.Seconds...)
		for _, n := range r.Notes {
			if !seenNote[n] {
				seenNote[n] = true
				m.Notes = append(m.Notes, n)
			}
		}
		if r.SamplesFile == "" {
			return m, fmt.Errorf("%s: round %d has no samples file", r.Label, r.Round)
		}
		byKind, err := readSamples(r.SamplesFile, len(m.KindNames))
		if err != nil {
			return m, err
		}
		for k := range byKind {
			lat[k] = append(lat[k], byKind[k]...)
		}
	}
	m.Rate = float64(m.Calls) / m.WindowS
	var all []time.Duration
	if len(m.KindNames) > 1 {
		m.Kinds = map[string]kindRes{}
	}
	for k, l := range lat {
		slices.Sort(l)
		all = append(all, l...)
		if len(m.KindNames) > 1 && len(l) > 0 {
			m.Kinds[m.KindNames[k]] = kindRes{Calls: len(l), P50: ms(pct(l, 50)), P99: ms(pct(l, 99))}
		}
	}
	slices.Sort(all)
	if len(all) > 0 {
		m.P50, m.P95, m.P99, m.Max = ms(pct(all, 50)), ms(pct(all, 95)), ms(pct(all, 99)), ms(all[len(all)-1])
	}
	m.Round = 0
	if m.Webhook != nil {
		w, err := mergeWebhook(rs)
		if err != nil {
			return m, err
		}
		m.Webhook = w
	}
	return m, nil
}

// mergeWebhook merges the rounds' webhook deliveries: sums of events and
// counts, lag percentiles over all the rounds' lags.
func mergeWebhook(rs []result) (*webhookRes, error) {
	m := &webhookRes{}
	var lags []time.Duration
	for _, r := range rs {
		w := r.Webhook
		if w == nil {
			continue
		}
		m.Events += w.Events
		m.Delivered += w.Delivered
		m.Duplicates += w.Duplicates
		m.VerifyFailures += w.VerifyFailures
		m.BadBodies += w.BadBodies
		m.SpanS += w.SpanS
		m.CatchUpS = max(m.CatchUpS, w.CatchUpS)
		if m.FirstFailure == "" {
			m.FirstFailure = w.FirstFailure
		}
		if w.LagFile != "" {
			l, err := readSamples(w.LagFile, 1)
			if err != nil {
				return nil, err
			}
			lags = append(lags, l[0]...)
		}
	}
	slices.Sort(lags)
	if len(lags) > 0 {
		m.P50, m.P99, m.Max = ms(pct(lags, 50)), ms(pct(lags, 99)), ms(lags[len(lags)-1])
	}
	return m, nil
}

// printWebhook prints a run's webhook deliveries under the goals: the
// lag (arrival at the receiver − the event's create_time) has no goal.
func printWebhook(r result, rounds int) {
	w := r.Webhook
	what := "delivery lag under " + r.Label
	if rounds > 1 {
		what += fmt.Sprintf(" x%d", rounds)
	}
	fmt.Printf("  %-8s %-56s p50 %.0f ms, p99 %.0f ms, max %.0f ms  (no goal)\n", "webhook", what, w.P50, w.P99, w.Max)
	rate := "n/a"
	if w.SpanS > 0 {
		rate = fmt.Sprintf("%.0f", float64(w.Delivered)/w.SpanS)
	}
	got := "all delivered"
	if w.Delivered < w.Events {
		got = fmt.Sprintf("NOT ALL DELIVERED: %d missing after the wait", w.Events-w.Delivered)
	}
	fmt.Printf("  %-8s %d events (%s), %s deliveries/s, caught up %.1f s after the load at worst;\n", "", w.Events, got, rate, w.CatchUpS)
	fmt.Printf("  %-8s %d signature failures, %d unreadable bodies, %d duplicates\n", "", w.VerifyFailures, w.BadBodies, w.Duplicates)
	if w.FirstFailure != "" {
		fmt.Printf("  %-8s first failure: %s\n", "", short(w.FirstFailure, 200))
	}
}

// sizeOf is the table size in a list label, "list-grpc 1M c=4" → "1M".
func sizeOf(label string) string {
	f := strings.Fields(label)
	if len(f) >= 2 {
		return f[1]
	}
	return label
}

func verdict(met bool) string {
	if met {
		return "MET"
	}
	return "NOT MET"
}

// genCPU is the load generator's CPU per 1000 calls; for the raw
// baseline the generator is the "server" itself.
func genCPU(r result) string {
	if r.Scenario == "raw-create" {
		return "(=server)"
	}
	return perK(r.GenCPU, r.Calls)
}

// perK formats CPU seconds per 1000 calls.
func perK(cpu float64, calls int) string {
	if cpu < 0 || calls == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", cpu/float64(calls)*1000)
}

func printTable(head []string, rows [][]string) {
	w := make([]int, len(head))
	for i, h := range head {
		w[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len(c))
		}
	}
	line := func(cells []string) {
		var b strings.Builder
		for i, c := range cells {
			if i > 0 {
				b.WriteString(" | ")
			}
			// Text columns left, numbers right.
			if i == 0 || i >= len(cells)-1 || i == 1 {
				fmt.Fprintf(&b, "%-*s", w[i], c)
			} else {
				fmt.Fprintf(&b, "%*s", w[i], c)
			}
		}
		fmt.Println(strings.TrimRight(b.String(), " "))
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", w[i])
	}
	fmt.Println(strings.ReplaceAll(strings.Join(sep, "-+-"), " ", "-"))
	for _, r := range rows {
		line(r)
	}
}

// timeline returns the per-second p99 of an open-loop result, or of any
// result with a stall (a second whose p99 is over 4 times the median
// second's and over 50 ms); "" otherwise.
func timeline(r result) string {
	if len(r.Seconds) == 0 {
		return ""
	}
	p99s := make([]float64, len(r.Seconds))
	minN, maxN := r.Seconds[0].Calls, r.Seconds[0].Calls
	for i, s := range r.Seconds {
		p99s[i] = s.P99
		minN, maxN = min(minN, s.Calls), max(maxN, s.Calls)
	}
	sorted := append([]float64(nil), p99s...)
	sort.Float64s(sorted)
	median, worst := sorted[len(sorted)/2], sorted[len(sorted)-1]
	stall := worst > 4*median && worst > 50
	if r.Mode != "open" && !stall {
		return ""
	}
	var b strings.Builder
	if stall {
		b.WriteString("STALL: ")
	}
	b.WriteString("per-second p99 ms:")
	for _, p := range p99s {
		fmt.Fprintf(&b, " %.0f", p)
	}
	fmt.Fprintf(&b, " (calls started per second %d..%d)", minN, maxN)
	if r.Seconds[0].InnoDB == nil {
		return b.String()
	}
	// What InnoDB did in the same seconds: its checkpoint age (% of the
	// redo capacity; past ~75% it flushes furiously, at the sync point
	// writes wait), dirty pages, redo written, flushes and waits.
	rows := []struct {
		name string
		v    func(*innodbSecond) string
	}{
		{"checkpoint age %", func(s *innodbSecond) string { return fmt.Sprintf("%.0f", s.CheckpointPct) }},
		{"dirty pages %", func(s *innodbSecond) string { return fmt.Sprintf("%.0f", s.DirtyPct) }},
		{"redo KB", func(s *innodbSecond) string { return fmt.Sprint(s.RedoKB) }},
		{"fsyncs", func(s *innodbSecond) string { return fmt.Sprint(s.Fsyncs) }},
		{"pages flushed", func(s *innodbSecond) string { return fmt.Sprint(s.PagesFlushed) }},
		{"free-page waits", func(s *innodbSecond) string { return fmt.Sprint(s.WaitFree) }},
		{"log waits", func(s *innodbSecond) string { return fmt.Sprint(s.LogWaits) }},
		{"undo history", func(s *innodbSecond) string { return fmt.Sprint(s.History) }},
	}
	for _, row := range rows {
		fmt.Fprintf(&b, "\n    InnoDB per second, %s:", row.name)
		for _, s := range r.Seconds {
			if s.InnoDB == nil {
				b.WriteString(" -")
				continue
			}
			b.WriteString(" " + row.v(s.InnoDB))
		}
	}
	return b.String()
}

// scanLog summarises the server log's warnings and errors (slow SQL is
// logged at WARN from 200 ms; failed background passes; server errors)
// by the measured window they fell in.
func scanLog(title, path string, results []result) {
	fh, err := os.Open(path)
	if err != nil {
		fmt.Printf("\n%s: %v\n", title, err)
		return
	}
	defer fh.Close()
	counts := map[string]int{}
	total := 0
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b := sc.Bytes()
		if !strings.Contains(string(b), `"level":"WARN"`) && !strings.Contains(string(b), `"level":"ERROR"`) {
			continue
		}
		var l map[string]any
		if json.Unmarshal(b, &l) != nil {
			continue
		}
		total++
		when := "outside the measured windows"
		if ts, ok := l["time"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				for _, r := range results {
					if !t.Before(r.Start) && t.Before(r.End) {
						when = r.Label
						break
					}
				}
			}
		}
		key := fmt.Sprintf("[%s] %v %v", when, l["level"], l["msg"])
		if s, ok := l["sql"].(string); ok {
			key += ": " + short(s, 150)
		}
		if s, ok := l["error"].(string); ok {
			key += ": " + short(s, 150)
		}
		counts[key]++
	}
	fmt.Printf("\n%s: %d warnings and errors", title, total)
	if total == 0 {
		fmt.Println(" (slow SQL is logged from 200 ms)")
		return
	}
	fmt.Println(":")
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return counts[keys[i]] > counts[keys[j]] })
	for i, k := range keys {
		if i == 20 {
			fmt.Printf("  ... and %d more kinds\n", len(keys)-20)
			break
		}
		fmt.Printf("  %6d x %s\n", counts[k], k)
	}
}
