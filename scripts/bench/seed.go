package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"
)

// Seeding writes rows straight into MySQL with multi-row INSERTs, into
// the schema the server's migrations created. Rows are shaped like the
// server writes them (server/internal/store/models.go and the service
// code): server-style ids whose UUIDv7 time is the row's create_time,
// state-consistent columns (assignee and partner from ASSIGNED on, first
// response from ACCEPTED on, resolution from RESOLVED on, close time for
// CLOSED and CANCELLED), SLA due times from the migration's default
// policies, and breach flags and escalation levels already set where a
// due time has passed, so the server's SLA job finds no backlog to work
// off during the measurements. Seeded tickets have no timeline events or
// audit records: no benchmarked call reads those.

// The staff the seed creates. Agents get the API keys (bench.sh creates
// one per agent); technicians are the assignees lists filter on.
const (
	seedAgents      = 8
	seedTechnicians = 10
	seedPartners    = 4
)

// Staff roles and ticket states, as stored (the aftersales.v1 enums).
const (
	roleManager    = 2
	roleAgent      = 3
	roleTechnician = 4

	qualified = 2 // Qualification.State QUALIFIED

	stateNew        = 1
	stateAssigned   = 2
	stateAccepted   = 3
	stateInProgress = 4
	statePaused     = 5
	stateResolved   = 6
	stateClosed     = 7
	stateCancelled  = 9
)

// stateMix is the share of each state among seeded tickets, in percent:
// most tickets of a two-year history are closed; the open ones are what a
// call center lists by state and assignee.
var stateMix = []struct{ state, pct int }{
	{stateNew, 8}, {stateAssigned, 12}, {stateAccepted, 8}, {stateInProgress, 12},
	{statePaused, 3}, {stateResolved, 12}, {stateClosed, 40}, {stateCancelled, 5},
}

// listStates are the states the list scenarios filter on; with
// seedTechnicians assignees each (state, assignee) pair holds 1.2% of the
// tickets: 120 at 10k, so the first two pages are full.
var listStates = []int{stateAssigned, stateInProgress}

// slaPolicy mirrors the default policies of migration 00001.
type slaPolicy struct {
	id               string
	response, resolv time.Duration
}

var slaPolicies = map[int]slaPolicy{
	1: {"low", 24 * time.Hour, 5 * 24 * time.Hour},
	2: {"normal", 8 * time.Hour, 3 * 24 * time.Hour},
	3: {"high", 4 * time.Hour, 24 * time.Hour},
	4: {"urgent", time.Hour, 8 * time.Hour},
}

// ticketColumns is the column list of the server's ticket INSERT (GORM
// writes every column of store.Ticket in declaration order).
const ticketColumns = "`id`,`customer_id`,`product_id`,`type`,`channel`,`priority`,`title`,`description`,`state`," +
	"`first_contact_id`,`assignee_id`,`partner_id`,`warranty_status`,`fee_currency`,`fee_labor_minor`,`fee_parts_minor`," +
	"`fee_description`,`fee_approval`,`fee_decide_time`,`fault_category`,`fault_code`,`resolution`,`parts_used`," +
	"`labor_seconds`,`charged_currency`,`charged_minor`,`sla_policy_id`,`response_due`,`resolve_due`," +
	"`first_response_time`,`response_breached`,`resolve_breached`,`paused_seconds`,`paused_at`,`pause_clock`," +
	"`pause_reason`,`escalation_level`,`create_time`,`update_time`,`resolve_time`,`close_time`,`version`"

const ticketColumnCount = 42

var titles = []string{
	"Washer leaks", "Fridge not cooling", "Dryer makes a loud noise", "Dishwasher will not drain",
	"Oven does not heat", "Air conditioner drips water", "Install new washer", "Annual maintenance visit",
	"Display shows error E21", "Door seal torn",
}

var descriptions = []string{
	"Water under the machine after every wash; customer has turned the supply off.",
	"Unit runs but the temperature stays above 12 degrees; food is spoiling.",
	"Grinding noise during the spin cycle since last week, getting louder.",
	"Standing water at the bottom after the cycle ends; filter was cleaned by the customer.",
	"Customer asks for a technician visit in the morning, access through the back door.",
}

type customerRef struct {
	customerID, productID string
	warrantyEnd           time.Time
}

type techRef struct{ id, partnerID string }

// seedRefs are the rows tickets point at.
type seedRefs struct {
	customers   []customerRef
	agents      []string
	technicians []techRef
}

func cmdSeed(args []string) error {
	var (
		f          dbFlags
		base       bool
		customers  int
		tickets    int
		inProgress int
		workers    int
		batch      int
		reports    bool
	)
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	f.register(fs)
	fs.BoolVar(&base, "base", false, "insert partners, staff, customers and their products; print the agents' names")
	fs.IntVar(&customers, "customers", 2000, "customers (each with one product) for -base")
	fs.IntVar(&tickets, "tickets", 0, "add tickets, spread over two years of history, until the table holds this many")
	fs.IntVar(&inProgress, "in-progress", 0, "add this many recent IN_PROGRESS tickets (work for the mixed workload's resolves)")
	fs.IntVar(&workers, "workers", 2, "concurrent INSERT connections")
	fs.IntVar(&batch, "batch", 1000, "rows per INSERT")
	fs.BoolVar(&reports, "reports", false, "with the tickets added, their complaints and follow-ups (see reportRows)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := f.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	s := &seeder{db: db, workers: workers, batch: batch, reports: reports, now: time.Now().UTC().Truncate(time.Microsecond), assigned: map[int]int{}}

	if base {
		agents, err := s.base(ctx, customers)
		if err != nil {
			return err
		}
		for _, a := range agents {
			fmt.Println("staff/" + a)
		}
	}
	if tickets == 0 && inProgress == 0 {
		return nil
	}
	refs, err := loadRefs(ctx, db)
	if err != nil {
		return err
	}
	if tickets > 0 {
		var have int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tickets").Scan(&have); err != nil {
			return err
		}
		if n := tickets - have; n > 0 {
			start := time.Now()
			// History: two years up to an hour ago, oldest first.
			if err := s.tickets(ctx, refs, n, s.now.Add(-730*24*time.Hour), s.now.Add(-time.Hour), 0); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "bench seed: %d tickets added (table now %d) in %s\n", n, tickets, time.Since(start).Round(100*time.Millisecond))
		}
	}
	if inProgress > 0 {
		// Recent work in progress: the last three days.
		if err := s.tickets(ctx, refs, inProgress, s.now.Add(-72*time.Hour), s.now.Add(-time.Hour), stateInProgress); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "bench seed: %d IN_PROGRESS tickets added\n", inProgress)
	}
	// Fresh statistics, as a production table that grew slowly would
	// have: a bulk load can outrun InnoDB's background recalculation.
	_, err = db.ExecContext(ctx, "ANALYZE TABLE tickets, follow_ups, complaints")
	return err
}

type seeder struct {
	db      *sql.DB
	workers int
	batch   int
	// reports adds complaints and follow-ups to the tickets.
	reports bool
	now     time.Time
	// assigned counts the tickets of each state given an assignee so
	// far: assignees take turns within each state, so every (state,
	// assignee) list holds the same number of tickets, give or take one.
	assigned map[int]int
}

// base inserts the partners, staff and customers with products.
func (s *seeder) base(ctx context.Context, customers int) ([]string, error) {
	r := rand.New(rand.NewPCG(1, 2))
	created := s.now.Add(-3 * 365 * 24 * time.Hour)

	var partners []string
	var rows [][]any
	for i := range seedPartners {
		id := idAt(created.Add(time.Duration(i) * time.Minute))
		partners = append(partners, id)
		rows = append(rows, []any{id, fmt.Sprintf("Repair shop %d", i+1), fmt.Sprintf("Region-%d", i+1),
			"Shop manager", "+862100000" + fmt.Sprint(i), fmt.Sprintf("shop%d@example.com", i+1),
			`{"regionCode":"CN","locality":"Shanghai"}`, true, created, created, int64(1)})
	}
	if err := s.insert(ctx, "partners", "`id`,`display_name`,`region`,`contact_name`,`phone`,`email`,`address`,`active`,`create_time`,`update_time`,`version`", 11, rows); err != nil {
		return nil, err
	}

	var agents []string
	rows = rows[:0]
	for i := range seedAgents + seedTechnicians + 1 {
		t := created.Add(time.Duration(i) * time.Hour)
		id := idAt(t)
		role, team, partner, name := roleAgent, "call-center", "", fmt.Sprintf("Agent %d", i+1)
		switch {
		case i == seedAgents+seedTechnicians:
			// The call center's manager: the server refuses to start on
			// a database with staff but no complaints desk, by default
			// the active managers.
			role, name = roleManager, "Call-center manager"
		case i >= seedAgents:
			role, team, partner, name = roleTechnician, "field", partners[i%seedPartners], fmt.Sprintf("Technician %d", i-seedAgents+1)
		default:
			agents = append(agents, id)
		}
		// QUALIFIED, as the API would store it: no course is required of
		// anyone in a seeded database, and automatic follow-ups go only to
		// agents stored as qualified.
		rows = append(rows, []any{id, name, role, team, "", partner, `["washers","fridges"]`, fmt.Sprintf("staff%d@example.com", i+1), true,
			qualified, t, t, int64(1)})
	}
	if err := s.insert(ctx, "staff", "`id`,`display_name`,`role`,`team`,`manager_id`,`partner_id`,`skills`,`email`,`active`,`qualification_state`,`create_time`,`update_time`,`version`", 13, rows); err != nil {
		return nil, err
	}

	var custRows, prodRows [][]any
	span := 2 * 365 * 24 * time.Hour
	for i := range customers {
		t := created.Add(time.Duration(float64(span) * float64(i) / float64(customers)))
		cid, pid := idAt(t), idAt(t.Add(time.Minute))
		custRows = append(custRows, []any{cid, fmt.Sprintf("Customer %d", i+1), fmt.Sprintf("+86138%08d", i),
			fmt.Sprintf("c%d@example.com", i+1), `{"regionCode":"CN","locality":"Shanghai","addressLines":["1 Century Ave"]}`,
			"", nil, t, t, int64(1)})
		purchase := t.Add(-time.Duration(r.IntN(365)) * 24 * time.Hour)
		warrantyEnd := purchase.Add(time.Duration(1+r.IntN(3)) * 365 * 24 * time.Hour)
		prodRows = append(prodRows, []any{pid, cid, []string{"WM-8000", "RF-300", "DW-55", "AC-12"}[i%4],
			"SN-" + pid, purchase, warrantyEnd, "Retailer", "", t, t, int64(1)})
	}
	if err := s.insert(ctx, "customers", "`id`,`display_name`,`phone`,`email`,`address`,`contact_preferences`,`external_id`,`create_time`,`update_time`,`version`", 10, custRows); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, "products", "`id`,`customer_id`,`model`,`serial_number`,`purchase_time`,`warranty_end_time`,`retailer`,`install_address`,`create_time`,`update_time`,`version`", 11, prodRows); err != nil {
		return nil, err
	}
	return agents, nil
}

func loadRefs(ctx context.Context, db *sql.DB) (*seedRefs, error) {
	refs := &seedRefs{}
	rows, err := db.QueryContext(ctx, "SELECT customer_id, id, warranty_end_time FROM products")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c customerRef
		var end sql.NullTime
		if err := rows.Scan(&c.customerID, &c.productID, &end); err != nil {
			rows.Close()
			return nil, err
		}
		c.warrantyEnd = end.Time
		refs.customers = append(refs.customers, c)
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, "SELECT id, role, partner_id FROM staff WHERE active ORDER BY id")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, partner string
		var role int
		if err := rows.Scan(&id, &role, &partner); err != nil {
			rows.Close()
			return nil, err
		}
		switch role {
		case roleAgent:
			refs.agents = append(refs.agents, id)
		case roleTechnician:
			refs.technicians = append(refs.technicians, techRef{id, partner})
		}
	}
	rows.Close()
	if len(refs.customers) == 0 || len(refs.agents) == 0 || len(refs.technicians) == 0 {
		return nil, fmt.Errorf("no customers, agents or technicians: seed -base first")
	}
	return refs, nil
}

// tickets inserts n tickets with create times spread evenly over
// [from, to), oldest first, in state forceState or else in stateMix's
// proportions. s.workers connections insert batches in parallel; the
// first error stops them all.
func (s *seeder) tickets(ctx context.Context, refs *seedRefs, n int, from, to time.Time, forceState int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan seedBatch, s.workers)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				if ctx.Err() != nil {
					continue // failed: let the producer finish
				}
				if err := s.insertBatch(ctx, b); err != nil {
					cancel(err)
				}
			}
		}()
	}
	s.produce(ctx, refs, n, from, to, forceState, batches)
	wg.Wait()
	return context.Cause(ctx)
}

// produce generates the tickets of tickets in batches, and closes
// batches.
func (s *seeder) produce(ctx context.Context, refs *seedRefs, n int, from, to time.Time, forceState int, batches chan<- seedBatch) {
	defer close(batches)
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	step := float64(to.Sub(from)) / float64(n)
	// The states in stateMix's proportions exactly, in a shuffled cycle
	// of 100.
	var cycle []int
	for _, m := range stateMix {
		for range m.pct {
			cycle = append(cycle, m.state)
		}
	}
	r.Shuffle(len(cycle), func(i, j int) { cycle[i], cycle[j] = cycle[j], cycle[i] })
	var b seedBatch
	for i := range n {
		ct := from.Add(time.Duration((float64(i) + r.Float64()) * step)).Truncate(time.Microsecond)
		state := forceState
		if state == 0 {
			state = cycle[i%len(cycle)]
		}
		row := s.ticketRow(r, refs, ct, state)
		b.tickets = append(b.tickets, row)
		if s.reports {
			fu, c := s.reportRows(r, refs, row)
			b.followUps, b.complaints = append(b.followUps, fu...), append(b.complaints, c...)
		}
		if len(b.tickets) == s.batch || i == n-1 {
			if ctx.Err() != nil {
				return
			}
			batches <- b
			b = seedBatch{}
		}
	}
}

func drawPriority(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 15:
		return 1
	case x < 75:
		return 2
	case x < 95:
		return 3
	}
	return 4
}

// jitter returns a random duration in [0, d).
func jitter(r *rand.Rand, d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(r.Int64N(int64(d)))
}

// ticketRow builds one ticket in state, created at ct, in the column
// order of ticketColumns.
func (s *seeder) ticketRow(r *rand.Rand, refs *seedRefs, ct time.Time, state int) []any {
	now := s.now
	clamp := func(t time.Time) time.Time { return minTime(t, now.Add(-time.Minute)) }
	c := refs.customers[r.IntN(len(refs.customers))]
	prio := drawPriority(r)
	pol := slaPolicies[prio]
	responseDue, resolveDue := ct.Add(pol.response), ct.Add(pol.resolv)
	warranty := 3 // UNKNOWN
	if !c.warrantyEnd.IsZero() {
		warranty = 2 // OUT_OF_WARRANTY
		if ct.Before(c.warrantyEnd) {
			warranty = 1 // IN_WARRANTY
		}
	}

	// The state machine: NEW → ASSIGNED → ACCEPTED → IN_PROGRESS (→
	// PAUSED) → RESOLVED → CLOSED; CANCELLED straight from NEW. Each step
	// is one version.
	assigned := state != stateNew && state != stateCancelled
	accepted := assigned && state != stateAssigned
	resolvedOrClosed := state == stateResolved || state == stateClosed
	version := map[int]int64{stateNew: 1, stateAssigned: 2, stateAccepted: 3, stateInProgress: 4,
		statePaused: 5, stateResolved: 5, stateClosed: 6, stateCancelled: 2}[state]

	t := ticketCols{update: ct}
	if assigned {
		tech := refs.technicians[s.assigned[state]%len(refs.technicians)]
		s.assigned[state]++
		t.assignee, t.partner = tech.id, tech.partnerID
		t.update = clamp(ct.Add(jitter(r, pol.response/2)))
	}
	var responded, resolved time.Time
	if accepted {
		responded = clamp(ct.Add(jitter(r, pol.response*6/5)))
		t.firstResponse, t.update = responded, responded
		t.responseBreached = responded.After(responseDue)
	}
	if state == statePaused {
		p := clamp(responded.Add(jitter(r, 48*time.Hour)))
		t.pausedAt, t.pauseReason, t.update = p, "waiting for parts", p
	}
	if resolvedOrClosed {
		resolved = clamp(maxTime(responded, ct.Add(jitter(r, pol.resolv*13/10))))
		t.resolveTime, t.update = resolved, resolved
		t.resolveBreached = resolved.After(resolveDue)
		t.faultCategory, t.faultCode = "LEAK", "P-12"
		t.resolution = "Replaced the drain pump seal; tested two cycles."
		t.partsUsed = `{"parts":[{"partNumber":"SEAL-42","description":"Drain pump seal","quantity":1}]}`
		t.laborSeconds = 2700
		if warranty == 2 {
			t.chargedCurrency, t.chargedMinor = "CNY", 18000
		}
	}
	if state == stateClosed {
		cl := clamp(resolved.Add(jitter(r, 72*time.Hour)))
		t.closeTime, t.update = cl, cl
	}
	if state == stateCancelled {
		cl := clamp(ct.Add(jitter(r, time.Hour)))
		t.closeTime, t.update = cl, cl
	}
	if !resolvedOrClosed && state != stateCancelled {
		// Open: what the SLA job would have recorded by now.
		if !accepted && responseDue.Before(now) {
			t.responseBreached = true
		}
		if resolveDue.Before(now) {
			t.resolveBreached = true
		}
	}
	var escalation int32
	if t.responseBreached {
		escalation++
	}
	if t.resolveBreached {
		escalation++
	}
	version += int64(escalation)

	return []any{
		idAt(ct), c.customerID, c.productID, 1 + r.IntN(4), 1 + r.IntN(5), prio,
		titles[r.IntN(len(titles))], descriptions[r.IntN(len(descriptions))], state,
		refs.agents[r.IntN(len(refs.agents))], t.assignee, t.partner, warranty,
		"", int64(0), int64(0), "", 0, nil,
		t.faultCategory, t.faultCode, t.resolution, t.partsUsed, t.laborSeconds, t.chargedCurrency, t.chargedMinor,
		pol.id, responseDue, resolveDue, t.firstResponse, t.responseBreached, t.resolveBreached,
		int64(0), t.pausedAt, true, t.pauseReason, escalation,
		ct, t.update, t.resolveTime, t.closeTime, version,
	}
}

// ticketCols are the state-dependent columns of a seeded ticket; nil
// times are SQL NULL.
type ticketCols struct {
	assignee, partner                  string
	firstResponse, pausedAt            any
	resolveTime, closeTime             any
	update                             time.Time
	faultCategory, faultCode           string
	resolution, partsUsed, pauseReason string
	laborSeconds, chargedMinor         int64
	chargedCurrency                    string
	responseBreached, resolveBreached  bool
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// seedBatch is a batch of tickets with their follow-ups and complaints.
type seedBatch struct{ tickets, followUps, complaints [][]any }

func (s *seeder) insertBatch(ctx context.Context, b seedBatch) error {
	if err := s.insert(ctx, "tickets", ticketColumns, ticketColumnCount, b.tickets); err != nil {
		return err
	}
	if err := s.insert(ctx, "follow_ups", followUpColumns, followUpColumnCount, b.followUps); err != nil {
		return err
	}
	return s.insert(ctx, "complaints", complaintColumns, complaintColumnCount, b.complaints)
}

// insert writes rows in multi-row INSERTs of up to s.batch rows.
func (s *seeder) insert(ctx context.Context, table, columns string, ncol int, rows [][]any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", ncol), ",") + ")"
	for len(rows) > 0 {
		n := min(len(rows), s.batch)
		var q strings.Builder
		q.WriteString("INSERT INTO `" + table + "` (" + columns + ") VALUES ")
		args := make([]any, 0, n*ncol)
		for i, row := range rows[:n] {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString(one)
			args = append(args, row...)
		}
		if _, err := s.db.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}
