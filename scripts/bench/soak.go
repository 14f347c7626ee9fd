package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// bench soak (scripts/soak.sh): the call center's day compressed. It
// measures the capacity of a mixed workload with a short closed loop,
// then runs it open loop at a fraction of that for many minutes, and
// prints a line a minute: calls, errors by gRPC code, p50/p99 latency,
// the server's RSS and goroutines. A last line gives the verdict: no
// errors, RSS and goroutines flat. It asserts nothing: the exit status is
// non-zero only when the soak could not run.

type soakFlags struct {
	run      runFlags // the connection flags the scenarios read
	minutes  float64
	fraction float64
	rate     float64
	capacity time.Duration
	warmup   time.Duration
	sample   time.Duration
	flat     float64
	dump     string
}

func cmdSoak(args []string) error {
	var f soakFlags
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	f.run.db.register(fs)
	fs.StringVar(&f.run.grpcAddr, "grpc", "", "server gRPC address")
	fs.StringVar(&f.run.httpAddr, "http", "", "server HTTP address (its /metrics gives the goroutine count)")
	fs.StringVar(&f.run.keysFile, "keys", "", "file with one agent API key per line; connection i uses key i mod n")
	fs.IntVar(&f.run.serverPID, "server-pid", 0, "server pid, for its RSS (/proc/PID/status); 0 reads process_resident_memory_bytes from /metrics")
	fs.IntVar(&f.run.conc, "c", 32, "closed loop workers for the capacity run, and client connections of the open loop")
	fs.Float64Var(&f.minutes, "minutes", 10, "length of the open-loop soak in minutes")
	fs.Float64Var(&f.fraction, "fraction", 0.8, "open-loop rate as a fraction of the measured capacity")
	fs.Float64Var(&f.rate, "rate", 0, "open-loop calls per second; 0 measures the capacity first")
	fs.DurationVar(&f.capacity, "capacity", 20*time.Second, "measured window of the capacity run")
	fs.DurationVar(&f.warmup, "warmup", 5*time.Second, "load before the capacity run's window")
	fs.DurationVar(&f.sample, "sample", 5*time.Second, "how often the server's RSS and goroutines are read")
	fs.Float64Var(&f.flat, "flat", 0.10, "RSS or goroutines count as flat when the last minute's exceed the second minute's by less than this fraction")
	fs.StringVar(&f.dump, "goroutine-dump", "", "at the end, save the idle server's goroutines here (/debug/pprof/goroutine?debug=1: needs --pprof)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.minutes <= 0 || f.fraction <= 0 || f.run.conc <= 0 {
		return errors.New("-minutes, -fraction and -c must be positive")
	}
	keys, err := readKeys(f.run.keysFile)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := newEnv(ctx, &f.run, keys)
	if err != nil {
		return err
	}
	defer e.close()
	sc, err := e.soakMix(ctx)
	if err != nil {
		return err
	}
	srv := &serverStats{pid: f.run.serverPID, metricsURL: "http://" + f.run.httpAddr + "/metrics"}
	if _, _, err := srv.read(); err != nil {
		return fmt.Errorf("server stats: %w", err)
	}
	idleBefore, _, _ := srv.read()

	rate := f.rate
	if rate == 0 {
		mon := &cpuMonitor{pids: []int{f.run.serverPID}}
		rec := closedLoop(ctx, sc.scenario, f.run.conc, f.warmup, f.capacity, mon, func() {})
		res := rec.summarize(sc.kinds)
		if res.Calls == 0 {
			return fmt.Errorf("capacity run: no call succeeded; first error: %s", res.FirstError)
		}
		rate = res.Rate * f.fraction
		fmt.Printf("capacity: %.1f calls/s closed loop, c=%d, %s after %s warm-up (p50 %.1f ms, p99 %.1f ms, %d errors%s)\n",
			res.Rate, f.run.conc, f.capacity, f.warmup, res.P50, res.P99, res.Errors, firstErr(res.FirstError))
	}
	fmt.Printf("soak: %.1f calls/s open loop (%.0f%% of capacity) for %g minutes over %d connections\n", rate, f.fraction*100, f.minutes, f.run.conc)
	fmt.Printf("mix (%%): %s\n", sc.describe())
	fmt.Println("calls and latency by completion minute; latency from each call's scheduled start (queueing included); RSS at the minute's end, goroutines the minute's median of samples every " + f.sample.String())
	fmt.Printf("%-4s %8s %8s %8s %8s  %-28s %9s %11s\n", "min", "calls", "calls/s", "p50 ms", "p99 ms", "errors by code", "RSS MiB", "goroutines")

	minutes := soakLoop(ctx, sc.scenario, f.run.conc, rate, time.Duration(f.minutes*float64(time.Minute)), f.sample, srv, func(m *soakMinute) {
		fmt.Println(m.line())
	})
	// The idle count without the load's connections, like the first.
	e.closeConns()
	time.Sleep(2 * time.Second)
	idleAfter, _, _ := srv.read()
	if f.dump != "" {
		if err := saveURL("http://"+f.run.httpAddr+"/debug/pprof/goroutine?debug=1", f.dump); err != nil {
			fmt.Fprintf(os.Stderr, "bench soak: goroutine dump: %v\n", err)
		} else {
			fmt.Printf("idle server's goroutines: %s\n", f.dump)
		}
	}
	fmt.Println(sc.poolNotes())
	fmt.Println(soakVerdict(minutes, idleBefore, idleAfter, f.flat))
	return nil
}

func firstErr(s string) string {
	if s == "" {
		return ""
	}
	return "; first: " + s
}

// saveURL saves the body of a GET of url to path.
func saveURL(url, path string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// serverStats reads the server's RSS and goroutine count.
type serverStats struct {
	pid        int
	metricsURL string
}

// read returns the goroutines (go_goroutines on /metrics, which needs no
// --pprof) and the RSS in bytes (VmRSS of /proc/PID/status, or
// process_resident_memory_bytes without a pid).
func (s *serverStats) read() (goroutines int, rss int64, err error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(s.metricsURL)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s: %s", s.metricsURL, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "go_goroutines":
			goroutines = int(v)
		case "process_resident_memory_bytes":
			rss = int64(v)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if s.pid > 0 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
		if err != nil {
			return 0, 0, err
		}
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				rss = kib << 10
			}
		}
	}
	return goroutines, rss, nil
}

// soakMinute is what one minute of the soak saw: the calls that completed
// in it.
type soakMinute struct {
	n          int
	window     time.Duration
	lat        []time.Duration
	errs       map[codes.Code]int
	first      map[codes.Code]string
	rss        int64
	goroutines []int
}

func (m *soakMinute) errors() int {
	n := 0
	for _, c := range m.errs {
		n += c
	}
	return n
}

func (m *soakMinute) medianGoroutines() int {
	if len(m.goroutines) == 0 {
		return -1
	}
	g := slices.Clone(m.goroutines)
	slices.Sort(g)
	return g[len(g)/2]
}

func (m *soakMinute) line() string {
	slices.Sort(m.lat)
	calls := len(m.lat) + m.errors()
	errs := "0"
	if len(m.errs) > 0 {
		var parts []string
		for c, k := range m.errs {
			parts = append(parts, fmt.Sprintf("%s=%d", c, k))
		}
		slices.Sort(parts)
		errs = strings.Join(parts, " ")
	}
	l := fmt.Sprintf("%-4d %8d %8.1f %8.2f %8.2f  %-28s %9.1f %11d", m.n, calls, float64(calls)/m.window.Seconds(),
		ms(pct(m.lat, 50)), ms(pct(m.lat, 99)), errs, float64(m.rss)/(1<<20), m.medianGoroutines())
	for c, s := range m.first {
		l += fmt.Sprintf("\n     first %s: %s", c, s)
	}
	return l
}

// soakLoop runs sc open loop at rate for d, like openLoop, but keeps its
// figures by the minute in which each call completed, reads the server's
// stats every sample, and calls report with each minute as it ends (the
// last one after the calls still in flight have returned).
func soakLoop(ctx context.Context, sc *scenario, conc int, rate float64, d, sample time.Duration, srv *serverStats, report func(*soakMinute)) []*soakMinute {
	ops := make([]op, conc)
	for i := range ops {
		ops[i] = sc.newOp(i)
	}
	start := time.Now()
	end := start.Add(d)
	nMinutes := int((d + time.Minute - 1) / time.Minute)
	minutes := make([]*soakMinute, nMinutes)
	for i := range minutes {
		w := time.Minute
		if i == nMinutes-1 {
			w = d - time.Duration(i)*time.Minute
		}
		minutes[i] = &soakMinute{n: i + 1, window: w, errs: map[codes.Code]int{}, first: map[codes.Code]string{}}
	}
	var mu sync.Mutex
	minuteOf := func(t time.Time) *soakMinute {
		i := int(t.Sub(start) / time.Minute)
		return minutes[max(0, min(i, nMinutes-1))]
	}
	record := func(sched time.Time, err error) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		m := minuteOf(now)
		if err == nil {
			m.lat = append(m.lat, now.Sub(sched))
			return
		}
		c := status.Code(err)
		m.errs[c]++
		if _, ok := m.first[c]; !ok {
			m.first[c] = err.Error()
		}
	}

	// The sampler reads the server's stats; at each minute's end it
	// hands the minute to report (all but the last, which waits for the
	// calls in flight).
	samplerDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(samplerDone)
		tick := time.NewTicker(sample)
		defer tick.Stop()
		next := 0
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				g, rss, err := srv.read()
				mu.Lock()
				m := minuteOf(now)
				if err == nil {
					m.goroutines = append(m.goroutines, g)
					m.rss = rss
				}
				var done []*soakMinute
				for next < nMinutes-1 && !now.Before(start.Add(time.Duration(next+1)*time.Minute)) {
					done = append(done, minutes[next])
					next++
				}
				mu.Unlock()
				for _, m := range done {
					report(m)
				}
			}
		}
	}()

	interval := float64(time.Second) / rate
	sem := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		sched := start.Add(time.Duration(float64(i) * interval))
		if !sched.Before(end) {
			break
		}
		if w := time.Until(sched); w > 0 {
			time.Sleep(w)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, sched time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := ops[i%len(ops)](ctx)
			record(sched, err)
		}(i, sched)
	}
	wg.Wait()
	close(stop)
	<-samplerDone
	last := minutes[nMinutes-1]
	if g, rss, err := srv.read(); err == nil {
		last.goroutines = append(last.goroutines, g)
		last.rss = rss
	}
	report(last)
	return minutes
}

// soakVerdict is the last line: no errors, and RSS and goroutines flat, that
// is the last minute's within flat of the second minute's (the first
// includes the warm-up: pools, caches, the heap finding its size); of the
// first minute's when there are only two. The idle goroutines after the
// soak are not judged: they include the database pool's connections,
// one goroutine each, which the load opened.
func soakVerdict(minutes []*soakMinute, idleBefore, idleAfter int, flat float64) string {
	errs := 0
	for _, m := range minutes {
		errs += m.errors()
	}
	base := minutes[0]
	if len(minutes) >= 3 {
		base = minutes[1]
	}
	last := minutes[len(minutes)-1]
	growth := func(a, b float64) float64 {
		if a <= 0 {
			return 0
		}
		return (b - a) / a
	}
	rssG := growth(float64(base.rss), float64(last.rss))
	gorG := growth(float64(base.medianGoroutines()), float64(last.medianGoroutines()))
	met := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO"
	}
	all := errs == 0 && rssG < flat && gorG < flat
	word := "MET"
	if !all {
		word = "NOT MET"
	}
	return fmt.Sprintf("verdict: %s; zero errors: %s (%d); RSS flat: %s (minute %d %.1f MiB -> minute %d %.1f MiB, %+.1f%%); "+
		"goroutines flat: %s (minute %d %d -> minute %d %d, %+.1f%%; idle before %d, after %d with the database pool open); flat = growth under %.0f%%",
		word, met(errs == 0), errs, met(rssG < flat), base.n, float64(base.rss)/(1<<20), last.n, float64(last.rss)/(1<<20), rssG*100,
		met(gorG < flat), base.n, base.medianGoroutines(), last.n, last.medianGoroutines(), gorG*100, idleBefore, idleAfter, flat*100)
}

// The soak's mix: what a call center does all day, each kind one call.
// Tickets go through their life (created, assigned to a technician,
// accepted, started, resolved, their automatic follow-up found and
// completed with a survey, which closes them); complaints are filed,
// acknowledged and commented on; and most calls read. A stage with
// nothing to act on yet (at the start) makes a GetTicket instead.
var soakKinds = []struct {
	name   string
	weight int
}{
	{"ticket.create", 12},
	{"ticket.get", 26},
	{"ticket.list", 10},
	{"ticket.assign", 6},
	{"ticket.accept", 5},
	{"ticket.start", 5},
	{"ticket.resolve", 5},
	{"ticket.comment", 4},
	{"ticket.events", 3},
	{"followup.find", 4},
	{"followup.complete", 4},
	{"complaint.create", 4},
	{"complaint.get", 4},
	{"complaint.list", 3},
	{"complaint.ack", 3},
	{"complaint.comment", 2},
}

// Stages of the tickets the soak made, in the order they move.
const (
	stNew = iota
	stAssigned
	stAccepted
	stInProgress
	nStages
)

// soakPools are the soak's own resources at each stage, shared by all
// calls (open loop): a resource is popped by the call that acts on it,
// so no two calls change one at once, and pushed to its next stage when
// the call succeeds.
type soakPools struct {
	mu      sync.Mutex
	tickets [nStages][]string
	// resolved are the tickets resolved, and followUps their follow-ups,
	// each with the key that resolved it: the follow-up must be performed
	// by another agent (independence).
	resolved   []soakItem
	followUps  []soakItem
	received   []string // complaints to acknowledge
	complaints []string // every complaint, to read and comment on
	recent     []string // tickets made, to comment on and list the events of
	fallbacks  atomic.Int64
}

// soakItem is a resource and the index of the key that resolved it.
type soakItem struct {
	name string
	by   int
}

// poolCap bounds each pool: when a later stage keeps up less often than
// an earlier one, the oldest entries are dropped.
const poolCap = 10000

func push[T any](p *soakPools, s *[]T, v T) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(*s) >= poolCap {
		*s = slices.Delete(*s, 0, len(*s)/10)
	}
	*s = append(*s, v)
}

// pop takes the newest entry.
func pop[T any](p *soakPools, s *[]T) (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var v T
	n := len(*s)
	if n == 0 {
		return v, false
	}
	v = (*s)[n-1]
	*s = (*s)[:n-1]
	return v, true
}

// pick returns a random entry, leaving it in the pool.
func pick(p *soakPools, s *[]string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(*s) == 0 {
		return "", false
	}
	return (*s)[mrand.IntN(len(*s))], true
}

// soakScenario is the scenario with its pools, for the notes.
type soakScenario struct {
	*scenario
	pools *soakPools
}

func (s *soakScenario) describe() string {
	var parts []string
	for _, k := range soakKinds {
		parts = append(parts, fmt.Sprintf("%s %d", k.name, k.weight))
	}
	return strings.Join(parts, ", ")
}

func (s *soakScenario) poolNotes() string {
	p := s.pools
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("pools at the end: tickets new %d, assigned %d, accepted %d, in progress %d, resolved %d; follow-ups %d; complaints to acknowledge %d; "+
		"%d calls found their stage empty and read a ticket instead",
		len(p.tickets[stNew]), len(p.tickets[stAssigned]), len(p.tickets[stAccepted]), len(p.tickets[stInProgress]), len(p.resolved),
		len(p.followUps), len(p.received), p.fallbacks.Load())
}

// soakMix builds the scenario. Tickets are opened on products in
// warranty, so that starting the work needs no fee approval.
func (e *env) soakMix(ctx context.Context) (*soakScenario, error) {
	if err := e.load(ctx, "tickets", "techs"); err != nil {
		return nil, err
	}
	// Products whose warranty runs for at least another month.
	if err := e.loadCustomers(ctx, "WHERE warranty_end_time > NOW() + INTERVAL 30 DAY"); err != nil {
		return nil, err
	}
	if len(e.ticketIDs) == 0 || len(e.techs) == 0 {
		return nil, errors.New("soak: seed tickets and technicians first")
	}
	kinds := make([]string, len(soakKinds))
	total := 0
	for i, k := range soakKinds {
		kinds[i] = k.name
		total += k.weight
	}
	p := &soakPools{}
	sc := &scenario{kinds: kinds, openLoop: true, newOp: func(i int) op {
		w, err := e.grpcWorker(i)
		if err != nil {
			return func(context.Context) (int, error) { return 0, err }
		}
		return func(ctx context.Context) (int, error) {
			x := mrand.IntN(total)
			kind := 0
			for x >= soakKinds[kind].weight {
				x -= soakKinds[kind].weight
				kind++
			}
			cctx, cancel := w.callCtx(ctx)
			defer cancel()
			ok, err := e.soakCall(cctx, w, i%len(e.keys), p, soakKinds[kind].name)
			if !ok {
				p.fallbacks.Add(1)
				_, err = w.client.GetTicket(cctx, &aftersalesv1.GetTicketRequest{Name: "tickets/" + e.randomTicket()})
				return 1, err
			}
			return kind, err
		}
	}}
	return &soakScenario{scenario: sc, pools: p}, nil
}

// soakCall makes one call of kind; ok is false when its stage had nothing
// to act on (the caller reads a ticket instead).
func (e *env) soakCall(ctx context.Context, w *grpcWorker, key int, p *soakPools, kind string) (ok bool, err error) {
	tc := w.client
	advance := func(from, to int, call func(name string) error) (bool, error) {
		name, ok := pop(p, &p.tickets[from])
		if !ok {
			return false, nil
		}
		if err := call(name); err != nil {
			return true, err
		}
		if to < nStages {
			push(p, &p.tickets[to], name)
		}
		return true, nil
	}
	switch kind {
	case "ticket.create":
		t, err := tc.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: e.newTicket(), RequestId: e.requestID()})
		if err == nil {
			push(p, &p.tickets[stNew], t.GetName())
			push(p, &p.recent, t.GetName())
		}
		return true, err
	case "ticket.get":
		_, err := tc.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/" + e.randomTicket()})
		return true, err
	case "ticket.list":
		st := listStates[mrand.IntN(len(listStates))]
		_, err := tc.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{
			PageSize: listPageSize, OrderBy: "create_time desc",
			Filter: fmt.Sprintf(`state = %s AND assignee = "staff/%s"`, stateNames[st], e.techs[mrand.IntN(len(e.techs))]),
		})
		return true, err
	case "ticket.assign":
		return advance(stNew, stAssigned, func(name string) error {
			_, err := tc.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{
				Name: name, Assignee: "staff/" + e.techs[mrand.IntN(len(e.techs))], Note: "dispatched by the desk", RequestId: e.requestID(),
			})
			return err
		})
	case "ticket.accept":
		return advance(stAssigned, stAccepted, func(name string) error {
			_, err := tc.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: name, RequestId: e.requestID()})
			return err
		})
	case "ticket.start":
		return advance(stAccepted, stInProgress, func(name string) error {
			_, err := tc.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: name, RequestId: e.requestID()})
			return err
		})
	case "ticket.resolve":
		return advance(stInProgress, nStages, func(name string) error {
			_, err := tc.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{
				Name: name, RequestId: e.requestID(),
				Resolution: &aftersalesv1.Resolution{
					FaultCategory: "LEAK", FaultCode: "P-12", Summary: "Replaced the drain pump seal; tested two cycles.",
					Parts: []*aftersalesv1.PartUsage{{PartNumber: "SEAL-42", Description: "Drain pump seal", Quantity: 1}},
					Labor: durationpb.New(45 * time.Minute),
				},
			})
			if err == nil {
				push(p, &p.resolved, soakItem{name, key})
			}
			return err
		})
	case "ticket.comment":
		name, ok := pick(p, &p.recent)
		if !ok {
			return false, nil
		}
		_, err := tc.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{
			Parent: name, Message: "Customer called back: available after 2 pm.", RequestId: e.requestID(),
		})
		return true, err
	case "ticket.events":
		name, ok := pick(p, &p.recent)
		if !ok {
			return false, nil
		}
		_, err := tc.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: name})
		return true, err
	case "followup.find":
		// The follow-up the resolution scheduled.
		tk, ok := pop(p, &p.resolved)
		if !ok {
			return false, nil
		}
		resp, err := aftersalesv1.NewFollowUpServiceClient(w.conn).ListFollowUps(ctx, &aftersalesv1.ListFollowUpsRequest{
			Filter: fmt.Sprintf(`ticket = %q AND state = SCHEDULED`, tk.name), PageSize: 10,
		})
		for _, fu := range resp.GetFollowUps() {
			push(p, &p.followUps, soakItem{fu.GetName(), tk.by})
		}
		return true, err
	case "followup.complete":
		fu, ok := pop(p, &p.followUps)
		if !ok {
			return false, nil
		}
		if len(e.keys) > 1 && fu.by == key {
			// Another agent than the one who resolved the ticket.
			other := (key + 1 + mrand.IntN(len(e.keys)-1)) % len(e.keys)
			ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+e.keys[other]))
		}
		_, err := aftersalesv1.NewFollowUpServiceClient(w.conn).CompleteFollowUp(ctx, &aftersalesv1.CompleteFollowUpRequest{
			Name: fu.name, RequestId: e.requestID(),
			Survey: &aftersalesv1.Survey{Satisfaction: 5, Nps: proto.Int32(9), IssueResolved: proto.Bool(true), Comment: "Quick and tidy."},
		})
		return true, err
	case "complaint.create":
		c := e.customers[mrand.IntN(len(e.customers))]
		cp, err := aftersalesv1.NewComplaintServiceClient(w.conn).CreateComplaint(ctx, &aftersalesv1.CreateComplaintRequest{
			RequestId: e.requestID(),
			Complaint: &aftersalesv1.Complaint{
				Customer: "customers/" + c.customerID, Category: aftersalesv1.Complaint_RESPONSE_DELAY, Severity: aftersalesv1.Complaint_LOW,
				Title: "Nobody came on the agreed day", Description: "Waited at home all morning.",
			},
		})
		if err == nil {
			push(p, &p.received, cp.GetName())
			push(p, &p.complaints, cp.GetName())
		}
		return true, err
	case "complaint.get":
		name, ok := pick(p, &p.complaints)
		if !ok {
			return false, nil
		}
		_, err := aftersalesv1.NewComplaintServiceClient(w.conn).GetComplaint(ctx, &aftersalesv1.GetComplaintRequest{Name: name})
		return true, err
	case "complaint.list":
		_, err := aftersalesv1.NewComplaintServiceClient(w.conn).ListComplaints(ctx, &aftersalesv1.ListComplaintsRequest{
			Filter: "state = RECEIVED", PageSize: 20,
		})
		return true, err
	case "complaint.ack":
		name, ok := pop(p, &p.received)
		if !ok {
			return false, nil
		}
		_, err := aftersalesv1.NewComplaintServiceClient(w.conn).AcknowledgeComplaint(ctx, &aftersalesv1.AcknowledgeComplaintRequest{
			Name: name, Message: "We are sorry; a supervisor will call you today.", RequestId: e.requestID(),
		})
		return true, err
	case "complaint.comment":
		name, ok := pick(p, &p.complaints)
		if !ok {
			return false, nil
		}
		_, err := aftersalesv1.NewComplaintServiceClient(w.conn).AddComplaintComment(ctx, &aftersalesv1.AddComplaintCommentRequest{
			Parent: name, Message: "Called the customer; technician rebooked.", Internal: true, RequestId: e.requestID(),
		})
		return true, err
	}
	return true, fmt.Errorf("unknown soak kind %q", kind)
}
