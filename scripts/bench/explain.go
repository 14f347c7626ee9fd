package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// cmdExplain makes calls to a server running with --log-level debug,
// which logs every SQL statement (with placeholders, never values),
// collects the statements each call ran, and EXPLAINs the ListTickets
// queries with the values the calls used. With -create it also prints
// the statements of one CreateTicket next to what the raw baseline runs,
// so a change in the server's SQL shows up here.
func cmdExplain(args []string) error {
	var f runFlags
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	f.db.register(fs)
	fs.StringVar(&f.grpcAddr, "grpc", "", "gRPC address of the debug-logging server")
	fs.StringVar(&f.keysFile, "keys", "", "API keys file")
	logPath := fs.String("log", "", "the debug-logging server's log")
	title := fs.String("title", "", "heading")
	withCreate := fs.Bool("create", false, "also trace CreateTicket")
	planOut := fs.String("plan-out", "", "with -create: write the statements of CreateTicket here, for run -raw-plan")
	withSLA := fs.Bool("sla", false, "also EXPLAIN the SLA job's queries: the server must run with a short --sla-check-interval and hold the job's lease")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := readKeys(f.keysFile)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := newEnv(ctx, &f, keys)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.load(ctx, "techs", "customers"); err != nil {
		return err
	}
	w, err := e.grpcWorker(0)
	if err != nil {
		return err
	}
	tr := &sqlTracer{path: *logPath}

	fmt.Printf("\n== EXPLAIN of ListTickets, %s ==\n", *title)
	filter := fmt.Sprintf(`state = IN_PROGRESS AND assignee = "staff/%s"`, e.techs[0])
	req := &aftersalesv1.ListTicketsRequest{PageSize: listPageSize, Filter: filter, OrderBy: "create_time desc"}
	tr.mark()
	cctx, cancel := w.callCtx(ctx)
	page1, err := w.client.ListTickets(cctx, req)
	cancel()
	if err != nil {
		return err
	}
	stmts1, err := tr.since()
	if err != nil {
		return err
	}
	n := len(page1.GetTickets())
	if n == 0 || page1.GetNextPageToken() == "" {
		return fmt.Errorf("the first page of %q has %d tickets and no next page; seed more", filter, n)
	}
	last := page1.GetTickets()[n-1]
	req.PageToken = page1.GetNextPageToken()
	tr.mark()
	cctx, cancel = w.callCtx(ctx)
	_, err = w.client.ListTickets(cctx, req)
	cancel()
	if err != nil {
		return err
	}
	stmts2, err := tr.since()
	if err != nil {
		return err
	}

	lastCT := last.GetCreateTime().AsTime().UTC().Format("2006-01-02 15:04:05.000000")
	lastID := strings.TrimPrefix(last.GetName(), "tickets/")
	pages := []struct {
		name  string
		stmts []string
		vals  []string
	}{
		{"first page", stmts1, []string{fmt.Sprint(stateInProgress), quote(e.techs[0]), fmt.Sprint(listPageSize + 1)}},
		{"next page (keyset after the first page's last ticket)", stmts2,
			[]string{fmt.Sprint(stateInProgress), quote(e.techs[0]), quote(lastCT), quote(lastCT), quote(lastID), fmt.Sprint(listPageSize + 1)}},
	}
	fmt.Printf("filter: %s, order_by: create_time desc, page_size: %d\n", filter, listPageSize)
	for _, p := range pages {
		fmt.Printf("\n-- %s: the server ran %d statements:\n", p.name, len(p.stmts))
		for _, s := range p.stmts {
			fmt.Println("   " + s)
		}
		for _, s := range p.stmts {
			if !strings.Contains(s, "FROM `tickets`") {
				continue
			}
			q, ok := bind(s, p.vals)
			if !ok {
				fmt.Printf("   (cannot bind %d values to this statement; not explained)\n", len(p.vals))
				continue
			}
			fmt.Println("\n   EXPLAIN " + q)
			if err := printQuery(ctx, e.db, "EXPLAIN "+q); err != nil {
				return err
			}
			// MariaDB's ANALYZE runs the query and adds the rows actually
			// read (r_rows); MySQL 8 spells it EXPLAIN ANALYZE.
			fmt.Println("   ANALYZE (executed: r_rows are the rows actually read)")
			if err := printQuery(ctx, e.db, "ANALYZE "+q); err != nil {
				if err2 := printQuery(ctx, e.db, "EXPLAIN ANALYZE "+q); err2 != nil {
					fmt.Printf("   (ANALYZE not supported: %v)\n", err)
				}
			}
		}
	}

	if *withSLA {
		if err := explainSLA(ctx, e.db, tr); err != nil {
			return err
		}
	}
	if *withCreate {
		// Two calls with the same key: the second shows what the server
		// runs once whatever it caches is warm.
		var traces [2][]string
		for i := range traces {
			tr.mark()
			cctx, cancel = w.callCtx(ctx)
			_, err = w.client.CreateTicket(cctx, &aftersalesv1.CreateTicketRequest{Ticket: e.newTicket(), RequestId: e.requestID()})
			cancel()
			if err != nil {
				return err
			}
			if traces[i], err = tr.since(); err != nil {
				return err
			}
		}
		stmts := traces[1]
		fmt.Printf("\n== SQL of one CreateTicket (traced from the server's debug log; START TRANSACTION is not logged) ==\n")
		fmt.Printf("   The raw baseline runs these same statements (auth lookups outside, the rest inside one transaction):\n")
		unknown := 0
		for _, s := range stmts {
			mark := "  "
			for _, q := range strings.Split(s, ";") {
				if q != commitStep.sql && !slices.ContainsFunc(rawSteps, func(r rawStep) bool { return r.sql == q }) {
					mark, unknown = "!!", unknown+1
					break
				}
			}
			fmt.Printf("   %s %s\n", mark, short(s, 150))
		}
		if !slices.Equal(traces[0], traces[1]) {
			fmt.Printf("   (the first call, cold, ran %d statements; the second, shown, %d)\n", len(traces[0]), len(traces[1]))
		}
		if unknown > 0 {
			fmt.Printf("   !! = unknown to the raw baseline (scripts/bench/raw.go): it refuses to run until it knows them\n")
		}
		if *planOut != "" {
			if err := os.WriteFile(*planOut, []byte(strings.Join(stmts, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

// openStates are the ticket states the SLA job scans (ticketflow's open
// states: NEW, ASSIGNED, ACCEPTED, IN_PROGRESS, PAUSED, REOPENED).
var openStates = []string{"1", "2", "3", "4", "5", "8"}

// explainSLA waits for the SLA job's scans in the debug log and explains
// them: they run every --sla-check-interval (30 s by default) on every
// ticket table size, under whatever load there is.
func explainSLA(ctx context.Context, db *sql.DB, tr *sqlTracer) error {
	fmt.Printf("\n== EXPLAIN of the SLA job's scans (server/internal/service/sla.go; every --sla-check-interval, 30s by default) ==\n")
	tr.offset, tr.jobs = 0, true
	defer func() { tr.jobs = false }()
	var stmts []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var err error
		if stmts, err = tr.since(); err != nil {
			return err
		}
		if len(stmts) >= 2 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(stmts) == 0 {
		fmt.Println("   (the job logged no scan within 10 s: it did not get its lease?)")
		return nil
	}
	now := quote(time.Now().UTC().Format("2006-01-02 15:04:05.000000"))
	seen := map[string]bool{}
	for _, s := range stmts {
		if seen[s] {
			continue
		}
		seen[s] = true
		q, ok := bindSLA(s, now)
		if !ok {
			fmt.Printf("\n   %s\n   (cannot tell the values of its placeholders; not explained)\n", s)
			continue
		}
		fmt.Println("\n   EXPLAIN " + q)
		if err := printQuery(ctx, db, "EXPLAIN "+q); err != nil {
			return err
		}
		fmt.Println("   ANALYZE (executed: r_rows are the rows actually read)")
		start := time.Now()
		if err := printQuery(ctx, db, "ANALYZE "+q); err != nil {
			fmt.Printf("   (ANALYZE not supported: %v)\n", err)
		} else {
			fmt.Printf("   took %s\n", time.Since(start).Round(time.Millisecond))
		}
	}
	return nil
}

// bindSLA fills the SLA scan's placeholders from what precedes each:
// the open states in the IN list, false for flags, now for due times and
// the job's batch of 200 for LIMIT.
func bindSLA(stmt, now string) (string, bool) {
	var b strings.Builder
	inList := -1
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		if c != '?' {
			b.WriteByte(c)
			continue
		}
		before := strings.TrimRight(stmt[:i], " ")
		switch {
		case strings.HasSuffix(before, "IN (") || (inList >= 0 && strings.HasSuffix(before, ",")):
			inList++
			if inList >= len(openStates) {
				return "", false
			}
			b.WriteString(openStates[inList])
			continue
		case strings.HasSuffix(before, "pause_clock =") || strings.HasSuffix(before, "_breached ="):
			b.WriteString("0")
		case strings.HasSuffix(before, "_due <"):
			b.WriteString(now)
		case strings.HasSuffix(before, "LIMIT"):
			b.WriteString("200")
		default:
			return "", false
		}
		inList = -1
	}
	return b.String(), true
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func short(s string, n int) string {
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

// bind replaces the statement's placeholders with vals, in order; false
// when their numbers differ.
func bind(stmt string, vals []string) (string, bool) {
	if strings.Count(stmt, "?") != len(vals) {
		return "", false
	}
	var b strings.Builder
	i := 0
	for _, r := range stmt {
		if r == '?' {
			b.WriteString(vals[i])
			i++
			continue
		}
		b.WriteRune(r)
	}
	return b.String(), true
}

// printQuery prints a result set as an indented table.
func printQuery(ctx context.Context, db *sql.DB, q string, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   "+strings.Join(cols, "\t"))
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(cols))
		for i, v := range vals {
			cells[i] = "NULL"
			if v.Valid {
				cells[i] = v.String
			}
		}
		fmt.Fprintln(tw, "   "+strings.Join(cells, "\t"))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return tw.Flush()
}

// backgroundSQL are parts of the statements only the server's background
// loops run: a call's own statements contain none of them (CreateTicket
// inserts its event, but the sequencer numbers it, later).
var backgroundSQL = []string{
	"`leases`", "idempotency_keys WHERE create_time",
	"`event_cursors`", "seq IS NULL", "seq IS NOT NULL", "MAX(seq)", "`webhooks` WHERE enabled",
}

// sqlTracer reads the statements a debug-logging server logged since
// the last mark.
type sqlTracer struct {
	path   string
	offset int64
	jobs   bool // collect the SLA job's scans instead of the calls' statements
}

func (t *sqlTracer) mark() {
	if st, err := os.Stat(t.path); err == nil {
		t.offset = st.Size()
	}
}

func (t *sqlTracer) since() ([]string, error) {
	// The statement is logged before the call returns; give the write a
	// moment anyway.
	time.Sleep(50 * time.Millisecond)
	fh, err := os.Open(t.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if _, err := fh.Seek(t.offset, io.SeekStart); err != nil {
		return nil, err
	}
	var out []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg string `json:"msg"`
			SQL string `json:"sql"`
		}
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "sql" && l.SQL != "" {
			// Background jobs (leases, SLA check, the change feed's
			// sequencer, retention and webhook dispatcher) may log in
			// between.
			if slices.ContainsFunc(backgroundSQL, func(p string) bool { return strings.Contains(l.SQL, p) }) ||
				strings.Contains(l.SQL, "_breached = ?") != t.jobs {
				continue
			}
			out = append(out, l.SQL)
		}
	}
	return out, sc.Err()
}
