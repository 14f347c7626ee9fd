package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// bench failover (scripts/failover.sh): mixed writes through the Go
// client, spread over several server replicas, while one database node
// and one replica are killed; then it checks what a failover must not
// break and prints the figures. Its exit status is non-zero when a check
// fails.
//
// Each worker owns the tickets and complaints it creates and is the only
// one to change them, so it knows the state each must end in: the last
// one the server acknowledged. Every logical call has its own request_id,
// kept across retries; a call that fails with UNAVAILABLE or ABORTED is
// retried (the client library retries UNAVAILABLE itself first) until it
// is acknowledged, so nothing is given up and every outcome is checked.

type failoverFlags struct {
	db            dbFlags
	replicas      string
	keys          string
	conc          int
	duration      time.Duration
	killDBAt      time.Duration
	killDB        string
	killDBReplica int
	killReplicaAt time.Duration
	replicaPID    int
	settle        time.Duration
}

// failoverTicket is what a worker knows of a ticket it created.
type failoverTicket struct {
	name, title string
	state       aftersalesv1.Ticket_State
	priority    aftersalesv1.Ticket_Priority
	// acks lists the calls acknowledged for the ticket (when, through
	// which replica, with what answer), printed when the check finds the
	// ticket lost or changed.
	acks []string
	// keys are the acknowledged calls' idempotency keys.
	keys []ackedKey
}

// ackedKey is the idempotency key of an acknowledged call (lostCalls),
// with when and through which replica it was acknowledged.
type ackedKey struct {
	method, requestID string
	at                time.Time
	via               string
}

// ack records an acknowledged call on t; requestID is "" for a call
// without one (UpdateTicket).
func (r *failoverRun) ack(t *failoverTicket, method, requestID string, p *peer.Peer, got *aftersalesv1.Ticket) {
	addr := "?"
	if p != nil && p.Addr != nil {
		addr = p.Addr.String()
	}
	now := time.Now()
	t.acks = append(t.acks, fmt.Sprintf("%.3fs %s via %s: %s/%s etag %s request_id %q",
		now.Sub(r.start).Seconds(), path.Base(method), addr, got.GetState(), got.GetPriority(), got.GetEtag(), requestID))
	if requestID != "" {
		t.keys = append(t.keys, ackedKey{method, requestID, now, addr})
	}
}

// callError is an error a client saw, after the client library's own
// retries.
type callError struct {
	at   time.Time
	code codes.Code
	msg  string
}

type failoverRun struct {
	f       *failoverFlags
	e       *env
	clients []*client.Client
	addrs   []string // the replicas' gRPC addresses, as -replicas lists them
	start   time.Time

	mu       sync.Mutex
	calls    int
	errs     []callError
	tickets  []failoverTicket
	kills    map[string]time.Time
	creates  int
	replayed int
}

func cmdFailover(args []string) error {
	var f failoverFlags
	fs := flag.NewFlagSet("failover", flag.ContinueOnError)
	f.db.register(fs)
	fs.StringVar(&f.replicas, "replicas", "", "gRPC addresses of the server replicas, comma-separated")
	fs.StringVar(&f.keys, "keys", "", "file with one agent API key per line")
	fs.IntVar(&f.conc, "c", 16, "workers")
	fs.DurationVar(&f.duration, "duration", 60*time.Second, "length of the load")
	fs.DurationVar(&f.killDBAt, "kill-db-at", 15*time.Second, "when to run -kill-db")
	fs.StringVar(&f.killDB, "kill-db", "", "shell command that kills a database node")
	fs.IntVar(&f.killDBReplica, "kill-db-replica", -1, "index in -replicas of the replica whose node -kill-db kills")
	fs.DurationVar(&f.killReplicaAt, "kill-replica-at", 30*time.Second, "when to SIGKILL -replica-pid")
	fs.IntVar(&f.replicaPID, "replica-pid", 0, "pid of the server replica to kill")
	fs.DurationVar(&f.settle, "settle", 10*time.Second, "wait after the load for the background loops before checking")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addrs := strings.Split(f.replicas, ",")
	if f.replicas == "" || f.conc <= 0 {
		return errors.New("-replicas and a positive -c are required")
	}
	keys, err := readKeys(f.keys)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := newEnv(ctx, &runFlags{db: f.db}, keys)
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.load(ctx, "customers", "techs"); err != nil {
		return err
	}

	r := &failoverRun{f: &f, e: e, addrs: addrs, kills: map[string]time.Time{}}
	for _, key := range keys {
		c, err := replicaClient(ctx, addrs, key)
		if err != nil {
			return err
		}
		defer c.Close()
		r.clients = append(r.clients, c)
	}

	r.start = time.Now()
	loadCtx, stop := context.WithTimeout(ctx, f.duration)
	defer stop()
	var wg sync.WaitGroup
	for i := range f.conc {
		wg.Go(func() { r.worker(loadCtx, i) })
	}
	r.schedule(loadCtx, addrs)
	wg.Wait()
	elapsed := time.Since(r.start)

	time.Sleep(f.settle)
	failures, dbLost := r.check(ctx)
	r.print(elapsed)
	if dbLost > 0 {
		fmt.Printf("the database lost %d acknowledged commit(s) (see DATABASE LOST above)\n", dbLost)
	}
	if len(failures) > 0 {
		for _, msg := range failures {
			fmt.Println("FAIL:", msg)
		}
		return fmt.Errorf("%d checks failed", len(failures))
	}
	if dbLost > 0 {
		return exitError{code: exitDatabaseLost, err: fmt.Errorf("the server lost nothing, but the database lost %d acknowledged commit(s)", dbLost)}
	}
	fmt.Println("PASS: no duplicate creates, no lost acknowledged writes, background jobs ran once each, every event in the feed in write order, clients saw only UNAVAILABLE/ABORTED")
	return nil
}

// exitDatabaseLost is bench failover's exit status when every check
// passed except that the database lost acknowledged commits: failover.sh
// runs the test once more then (see there).
const exitDatabaseLost = 3

// replicaClient is the Go client over all replicas, balanced round-robin
// by gRPC: a replica that dies drops out of the rotation, and the
// client's UNAVAILABLE retries go to the others.
func replicaClient(ctx context.Context, addrs []string, key string) (*client.Client, error) {
	res := manual.NewBuilderWithScheme("replicas")
	var state resolver.State
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	res.InitialState(state)
	return client.New(ctx, "replicas:///aftersales", client.WithInsecure(), client.WithBearerToken(key),
		client.WithDialOptions(grpc.WithResolvers(res), grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`)))
}

// schedule kills the database node and the replica at their times.
func (r *failoverRun) schedule(ctx context.Context, addrs []string) {
	type kill struct {
		at   time.Duration
		what string
		do   func() error
	}
	var kills []kill
	if r.f.killDB != "" {
		kills = append(kills, kill{r.f.killDBAt, "database node", func() error {
			return exec.Command("bash", "-c", r.f.killDB).Run()
		}})
	}
	if r.f.replicaPID > 0 {
		kills = append(kills, kill{r.f.killReplicaAt, "server replica", func() error {
			return syscall.Kill(r.f.replicaPID, syscall.SIGKILL)
		}})
	}
	sort.Slice(kills, func(i, j int) bool { return kills[i].at < kills[j].at })
	for _, k := range kills {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(r.start.Add(k.at))):
		}
		now := time.Now()
		if err := k.do(); err != nil {
			fmt.Fprintf(os.Stderr, "bench failover: kill %s: %v\n", k.what, err)
			continue
		}
		r.mu.Lock()
		r.kills[k.what] = now
		r.mu.Unlock()
		fmt.Fprintf(os.Stderr, "bench failover: killed the %s at %.1fs\n", k.what, now.Sub(r.start).Seconds())
	}
}

// call runs one logical call until it is acknowledged or the load ends:
// do must reuse its request (and request_id) on every attempt.
func (r *failoverRun) call(ctx context.Context, do func(context.Context) error) bool {
	for {
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := do(cctx)
		cancel()
		r.mu.Lock()
		r.calls++
		if err != nil {
			st := status.Convert(err)
			r.errs = append(r.errs, callError{at: time.Now(), code: st.Code(), msg: st.Message()})
		}
		r.mu.Unlock()
		if err == nil {
			return true
		}
		if c := status.Code(err); c != codes.Unavailable && c != codes.Aborted {
			return false
		}
		if ctx.Err() != nil && time.Since(r.start) > r.f.duration+30*time.Second {
			return false // the service never came back
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// worker creates tickets and takes some through assignment and a
// priority change, and files complaints, each call retried until
// acknowledged.
func (r *failoverRun) worker(ctx context.Context, i int) {
	c := r.clients[i%len(r.clients)]
	for n := 0; ctx.Err() == nil; n++ {
		t := r.e.newTicket()
		t.Title = fmt.Sprintf("%s w%d n%d", r.e.runID, i, n)
		t.Priority = aftersalesv1.Ticket_URGENT
		create := &aftersalesv1.CreateTicketRequest{Ticket: t, RequestId: r.e.requestID()}
		var got *aftersalesv1.Ticket
		var p peer.Peer // the replica that answered the last attempt
		if !r.call(ctx, func(cctx context.Context) (err error) {
			got, err = c.Tickets.CreateTicket(cctx, create, grpc.Peer(&p))
			return err
		}) {
			continue
		}
		ft := failoverTicket{name: got.GetName(), title: t.Title, state: got.GetState(), priority: got.GetPriority()}
		r.ack(&ft, aftersalesv1.TicketService_CreateTicket_FullMethodName, create.GetRequestId(), &p, got)
		r.mu.Lock()
		r.creates++
		r.mu.Unlock()

		if n%2 == 0 {
			assign := &aftersalesv1.AssignTicketRequest{Name: ft.name, Assignee: "staff/" + r.e.techs[mrand.IntN(len(r.e.techs))], RequestId: r.e.requestID()}
			if r.call(ctx, func(cctx context.Context) (err error) {
				got, err = c.Tickets.AssignTicket(cctx, assign, grpc.Peer(&p))
				return err
			}) {
				ft.state = got.GetState()
				r.ack(&ft, aftersalesv1.TicketService_AssignTicket_FullMethodName, assign.GetRequestId(), &p, got)
			}
		}
		if n%3 == 0 {
			// An update without an etag sets a value: repeating it is
			// harmless, so the client library may retry it as well.
			update := &aftersalesv1.UpdateTicketRequest{
				Ticket:     &aftersalesv1.Ticket{Name: ft.name, Priority: aftersalesv1.Ticket_HIGH},
				UpdateMask: fieldMask("priority"),
			}
			if r.call(ctx, func(cctx context.Context) (err error) {
				got, err = c.Tickets.UpdateTicket(cctx, update, grpc.Peer(&p))
				return err
			}) {
				ft.priority = got.GetPriority()
				r.ack(&ft, aftersalesv1.TicketService_UpdateTicket_FullMethodName, "", &p, got)
			}
		}
		if n%4 == 0 && ft.state == aftersalesv1.Ticket_ASSIGNED && got.GetWarrantyStatus() == aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY {
			// The technician's work, to the resolution that schedules the
			// ticket's automatic follow-up.
			accept := &aftersalesv1.AcceptTicketRequest{Name: ft.name, RequestId: r.e.requestID()}
			start := &aftersalesv1.StartTicketRequest{Name: ft.name, RequestId: r.e.requestID()}
			resolve := &aftersalesv1.ResolveTicketRequest{
				Name: ft.name, RequestId: r.e.requestID(),
				Resolution: &aftersalesv1.Resolution{
					FaultCategory: "LEAK", FaultCode: "P-12", Summary: "Replaced the drain pump seal; tested two cycles.",
					Parts: []*aftersalesv1.PartUsage{{PartNumber: "SEAL-42", Description: "Drain pump seal", Quantity: 1}},
					Labor: durationpb.New(45 * time.Minute),
				},
			}
			// Each request (and its request_id) is built once and resent
			// as it is on every retry.
			steps := []struct {
				method, requestID string
				do                func(context.Context) (*aftersalesv1.Ticket, error)
			}{
				{aftersalesv1.TicketService_AcceptTicket_FullMethodName, accept.GetRequestId(), func(cctx context.Context) (*aftersalesv1.Ticket, error) {
					return c.Tickets.AcceptTicket(cctx, accept, grpc.Peer(&p))
				}},
				{aftersalesv1.TicketService_StartTicket_FullMethodName, start.GetRequestId(), func(cctx context.Context) (*aftersalesv1.Ticket, error) {
					return c.Tickets.StartTicket(cctx, start, grpc.Peer(&p))
				}},
				{aftersalesv1.TicketService_ResolveTicket_FullMethodName, resolve.GetRequestId(), func(cctx context.Context) (*aftersalesv1.Ticket, error) {
					return c.Tickets.ResolveTicket(cctx, resolve, grpc.Peer(&p))
				}},
			}
			for _, step := range steps {
				var st *aftersalesv1.Ticket
				if !r.call(ctx, func(cctx context.Context) (err error) {
					st, err = step.do(cctx)
					return err
				}) {
					break
				}
				ft.state = st.GetState()
				r.ack(&ft, step.method, step.requestID, &p, st)
			}
		}
		if n%5 == 0 {
			cust := strings.TrimPrefix(t.GetCustomer(), "customers/")
			complaint := &aftersalesv1.CreateComplaintRequest{RequestId: r.e.requestID(), Complaint: &aftersalesv1.Complaint{
				Customer: "customers/" + cust, Category: aftersalesv1.Complaint_RESPONSE_DELAY, Severity: aftersalesv1.Complaint_HIGH,
				Title: t.Title, Description: "Waited at home all morning.",
			}}
			r.call(ctx, func(cctx context.Context) error {
				_, err := c.Complaints.CreateComplaint(cctx, complaint)
				return err
			})
		}
		r.mu.Lock()
		r.tickets = append(r.tickets, ft)
		r.mu.Unlock()
	}
}

// check compares the database and the API with what was acknowledged.
func (r *failoverRun) check(ctx context.Context) (fails []string, dbLost int) {
	failf := func(format string, a ...any) { fails = append(fails, fmt.Sprintf(format, a...)) }
	db := r.e.db

	// Duplicate creates: one row per title (each title is one logical
	// create, retried with one request_id).
	for _, table := range []string{"tickets", "complaints"} {
		var dups int
		q := "SELECT COUNT(*) FROM (SELECT title FROM " + table + " WHERE title LIKE ? GROUP BY title HAVING COUNT(*) > 1) d"
		if err := db.QueryRowContext(ctx, q, r.e.runID+" %").Scan(&dups); err != nil {
			failf("count duplicate %s: %v", table, err)
		} else if dups > 0 {
			failf("%d %s created twice", dups, table)
		}
	}

	// Lost writes: every acknowledged ticket is readable, through a
	// surviving replica, with the state and priority last acknowledged.
	// A ticket that is not is the server's failure, unless the database
	// has no trace of its lost calls (lostCalls) and the killed node may
	// have taken them with it (lostInCrash): MariaDB Galera loses a
	// commit it reported done now and then when a node dies (README,
	// "MariaDB Galera Cluster"). Those are counted apart.
	c := r.clients[0]
	lost := 0
	// The reads below go through r.call; their errors (NOT_FOUND for a
	// lost ticket) are the check's, not what clients saw under load.
	r.mu.Lock()
	calls, errs := r.calls, len(r.errs)
	r.mu.Unlock()
	for _, t := range r.tickets {
		var got *aftersalesv1.Ticket
		ok := r.call(context.Background(), func(cctx context.Context) (err error) {
			got, err = c.Tickets.GetTicket(cctx, &aftersalesv1.GetTicketRequest{Name: t.name})
			return err
		})
		var problem string
		switch {
		case !ok:
			problem = fmt.Sprintf("acknowledged %s is not readable", t.name)
		case got.GetTitle() != t.title || got.GetState() != t.state || got.GetPriority() != t.priority:
			problem = fmt.Sprintf("%s: got %s/%s %q, acknowledged %s/%s %q", t.name, got.GetState(), got.GetPriority(), got.GetTitle(), t.state, t.priority, t.title)
		default:
			continue
		}
		missing, err := lostCalls(ctx, db, t.name, t.keys)
		if err != nil {
			failf("look up the traces of %s's calls: %v", t.name, err)
		}
		if len(missing) > 0 && r.lostInCrash(missing) {
			dbLost++
			fmt.Printf("DATABASE LOST A COMMIT: %s; the database has neither the idempotency key nor the audit record of the acknowledged %s, which the server writes in the call's own transaction, acknowledged through the killed node's replica within %v before its kill\n",
				problem, methods(missing), crashBefore)
			r.explain(ctx, db, t)
			continue
		}
		if len(missing) > 0 {
			problem += fmt.Sprintf(" (no trace of the acknowledged %s, away from the database node's kill)", methods(missing))
		}
		lost++
		if lost <= 3 {
			failf("%s", problem)
			fmt.Printf("LOST OR CHANGED: %s\n", problem)
			r.explain(ctx, db, t)
		}
	}
	if lost > 3 {
		failf("%d acknowledged tickets lost or changed in all", lost)
	}
	r.mu.Lock()
	r.calls, r.errs = calls, r.errs[:errs]
	r.mu.Unlock()

	// Background jobs, once each: the SLA loop breaches a ticket's
	// response target once (one SLA_BREACHED event per ticket and
	// target), and every ticket of the run that was due and never
	// answered was breached.
	fails = append(fails, r.checkOnce(ctx, db)...)

	// What clients saw.
	for _, e := range r.errs {
		if e.code != codes.Unavailable && e.code != codes.Aborted {
			failf("a client saw %s: %s", e.code, e.msg)
			break
		}
	}
	return fails, dbLost
}

// lostCalls returns the acknowledged calls of which the database has no
// trace: neither the idempotency key nor an audit record of the call's
// method on the ticket, both of which the server writes in the call's own
// transaction. Only a database that lost the commit has neither; one
// without the other would be the server's doing.
func lostCalls(ctx context.Context, db *sql.DB, name string, keys []ackedKey) ([]ackedKey, error) {
	var lost []ackedKey
	for _, k := range keys {
		var hasKey, audits int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM idempotency_keys WHERE method = ? AND request_id = ?", k.method, k.requestID).Scan(&hasKey)
		if err == nil {
			err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_records WHERE resource = ? AND method = ?", name, k.method).Scan(&audits)
		}
		if err != nil {
			return nil, err
		}
		if hasKey == 0 && audits == 0 {
			lost = append(lost, k)
		}
	}
	return lost, nil
}

// crashBefore and crashAfter bound when a commit the database node's
// crash may have lost was acknowledged: shortly before the kill, or
// just after it for answers in flight.
const crashBefore, crashAfter = 3 * time.Second, 2 * time.Second

// lostInCrash reports whether every call in missing was acknowledged
// through the replica whose node was killed (-kill-db-replica), close to
// the kill: the commits that node's crash may have taken with it. A call
// with no trace acknowledged anywhere else is the server's failure: the
// commits an earlier version of this test counted as Galera's losses
// looked just like what the server's one-packet INSERTs and COMMIT did
// when another node's write rolled them back (acknowledged, and nothing
// committed: store.DB.flushCommit).
func (r *failoverRun) lostInCrash(missing []ackedKey) bool {
	r.mu.Lock()
	killed, ok := r.kills["database node"]
	r.mu.Unlock()
	if !ok || r.f.killDBReplica < 0 || r.f.killDBReplica >= len(r.addrs) {
		return false
	}
	via := r.addrs[r.f.killDBReplica]
	for _, k := range missing {
		if k.via != via || k.at.Before(killed.Add(-crashBefore)) || k.at.After(killed.Add(crashAfter)) {
			return false
		}
	}
	return true
}

// methods names the calls' methods, for a report.
func methods(calls []ackedKey) string {
	names := make([]string, len(calls))
	for i, k := range calls {
		names[i] = path.Base(k.method)
	}
	return strings.Join(names, ", ")
}

// explain prints what is known of a ticket the check found lost or
// changed: the calls acknowledged on it, and the database's own record
// of it (timeline, audit records, idempotency keys), so that a failure
// seen once in CI can be understood from its log.
func (r *failoverRun) explain(ctx context.Context, db *sql.DB, t failoverTicket) {
	fmt.Printf("== %s (%q) ==\nacknowledged:\n", t.name, t.title)
	for _, a := range t.acks {
		fmt.Println("  " + a)
	}
	r.mu.Lock()
	for what, at := range r.kills {
		fmt.Printf("killed the %s at %.3fs\n", what, at.Sub(r.start).Seconds())
	}
	r.mu.Unlock()
	id := strings.TrimPrefix(t.name, "tickets/")
	queries := []struct{ what, q, arg string }{
		{"row", "SELECT state, priority, version, assignee_id, update_time FROM tickets WHERE id = ?", id},
		{"timeline", "SELECT create_time, type, from_state, to_state, actor, message FROM ticket_events WHERE ticket_id = ? ORDER BY create_time, id", id},
		{"audit", "SELECT create_time, method, principal, via, changes FROM audit_records WHERE resource = ? ORDER BY create_time, id", t.name},
		{"idempotency keys", "SELECT create_time, method, request_id FROM idempotency_keys WHERE resource = ? ORDER BY create_time", t.name},
	}
	for _, q := range queries {
		fmt.Println(q.what + ":")
		if err := printQuery(ctx, db, q.q, q.arg); err != nil {
			fmt.Println("  error:", err)
		}
	}
}

// checkOnce checks the background loops' work on the run's rows.
func (r *failoverRun) checkOnce(ctx context.Context, db *sql.DB) []string {
	var fails []string
	like := r.e.runID + " %"
	var twice int
	err := db.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM (
			SELECT e.ticket_id, e.details FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
			WHERE t.title LIKE ? AND e.type IN (?, ?)
			GROUP BY e.ticket_id, e.type, e.details HAVING COUNT(*) > 1) d`, like,
		int(aftersalesv1.TicketEvent_SLA_BREACHED), int(aftersalesv1.TicketEvent_ESCALATED)).Scan(&twice)
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("count SLA breaches: %v", err))
	case twice > 0:
		fails = append(fails, fmt.Sprintf("%d SLA breaches or escalations recorded twice", twice))
	}
	var missed, breached int
	err = db.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(response_breached = FALSE AND first_response_time IS NULL AND response_due < NOW(6) - INTERVAL 5 SECOND), 0),
		       COALESCE(SUM(response_breached), 0)
		FROM tickets WHERE title LIKE ? AND state IN (1, 2, 3, 4, 8)`, like).Scan(&missed, &breached)
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("count SLA misses: %v", err))
	case missed > 0:
		fails = append(fails, fmt.Sprintf("%d tickets overdue but never breached: the SLA loop stopped", missed))
	case breached == 0:
		fails = append(fails, "no ticket was breached: the SLA targets are too long for the run to show the loop")
	}
	fmt.Printf("SLA loop: %d tickets breached, each target once\n", breached)

	var followUpsTwice, resolvedWithout int
	err = db.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(n > 1), 0), COALESCE(SUM(n = 0 AND state IN (6, 7)), 0) FROM (
			SELECT t.id, t.state, COUNT(f.id) AS n FROM tickets t LEFT JOIN follow_ups f ON f.ticket_id = t.id
			WHERE t.title LIKE ? GROUP BY t.id, t.state) d`, like).Scan(&followUpsTwice, &resolvedWithout)
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("count follow-ups: %v", err))
	case followUpsTwice > 0:
		fails = append(fails, fmt.Sprintf("%d tickets got two follow-ups", followUpsTwice))
	case resolvedWithout > 0:
		fails = append(fails, fmt.Sprintf("%d resolved tickets got no follow-up", resolvedWithout))
	}

	// The outbox: the leased sequencer numbered every committed event,
	// and each resource's events in the order they were written, although
	// three replicas wrote them on three nodes.
	var unnumbered, outOfOrder int
	// The loops go on making events (a complaint climbs a level every
	// 3 s): only those older than a few sequencer intervals must be
	// numbered by now.
	err = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE seq IS NULL AND create_time < UTC_TIMESTAMP(6) - INTERVAL 3 SECOND`).Scan(&unnumbered)
	if err == nil {
		err = db.QueryRowContext(ctx, `
			SELECT COUNT(*) FROM (
				SELECT seq, LAG(seq) OVER (PARTITION BY resource ORDER BY id) AS prev FROM events) x
			WHERE prev > seq`).Scan(&outOfOrder)
	}
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("check the outbox: %v", err))
	case unnumbered > 0:
		fails = append(fails, fmt.Sprintf("%d events older than 3 s have no feed position: the sequencer stopped", unnumbered))
	case outOfOrder > 0:
		fails = append(fails, fmt.Sprintf("%d events are in the feed before an earlier change of their resource", outOfOrder))
	}

	// Overdue complaints: the loop marks each one overdue and escalates
	// it (failover.sh gives HIGH complaints 3 s to be acknowledged).
	var escalated, notEscalated int
	err = db.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(acknowledge_overdue), 0),
		       COALESCE(SUM(acknowledge_overdue = FALSE AND acknowledge_due < NOW(6) - INTERVAL 5 SECOND), 0)
		FROM complaints WHERE title LIKE ? AND state = 1`, like).Scan(&escalated, &notEscalated)
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("count overdue complaints: %v", err))
	case notEscalated > 0:
		fails = append(fails, fmt.Sprintf("%d complaints overdue but never escalated: the complaints loop stopped", notEscalated))
	case escalated == 0:
		fails = append(fails, "no complaint was escalated: the deadlines are too long for the run to show the loop")
	}
	fmt.Printf("complaints loop: %d complaints overdue and escalated\n", escalated)

	var escalatedTwice int
	err = db.QueryRowContext(ctx, `
		SELECT COUNT(*) FROM (
			SELECT e.complaint_id, e.details FROM complaint_events e JOIN complaints c ON c.id = e.complaint_id
			WHERE c.title LIKE ? AND e.type = ?
			GROUP BY e.complaint_id, e.details HAVING COUNT(*) > 1) d`, like, int(aftersalesv1.ComplaintEvent_ESCALATED)).Scan(&escalatedTwice)
	switch {
	case err != nil:
		fails = append(fails, fmt.Sprintf("count complaint escalations: %v", err))
	case escalatedTwice > 0:
		fails = append(fails, fmt.Sprintf("%d complaint escalations recorded twice", escalatedTwice))
	}
	return fails
}

// print writes the figures: calls, errors by code, and for each kill
// how long clients saw errors after it.
func (r *failoverRun) print(elapsed time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	byCode := map[codes.Code]int{}
	for _, e := range r.errs {
		byCode[e.code]++
	}
	var parts []string
	for code, n := range byCode {
		parts = append(parts, fmt.Sprintf("%s %d", code, n))
	}
	slices.Sort(parts)
	fmt.Printf("load: %d workers for %.0fs over %d replicas; %d calls (%.0f/s), %d tickets created, errors seen by clients after the client library's retries: %s\n",
		r.f.conc, elapsed.Seconds(), len(strings.Split(r.f.replicas, ",")), r.calls, float64(r.calls)/elapsed.Seconds(), r.creates, orNone(strings.Join(parts, ", ")))
	for what, at := range r.kills {
		if at.IsZero() {
			continue
		}
		// The failover window: from the kill to the last error clients
		// saw before the next kill (or the end).
		next := r.start.Add(elapsed)
		for _, other := range r.kills {
			if other.After(at) && other.Before(next) {
				next = other
			}
		}
		last, n := at, 0
		for _, e := range r.errs {
			if (e.code == codes.Unavailable || e.code == codes.Aborted) && !e.at.Before(at) && e.at.Before(next) {
				n++
				if e.at.After(last) {
					last = e.at
				}
			}
		}
		fmt.Printf("killed the %s at %.1fs: %d UNAVAILABLE/ABORTED seen by clients, the last %.2fs after the kill\n", what, at.Sub(r.start).Seconds(), n, last.Sub(at).Seconds())
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// fieldMask is an update mask of paths.
func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
