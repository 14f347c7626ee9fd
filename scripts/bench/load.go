package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// A scenario is a set of operations: op(i) returns the function worker i
// (closed loop) or call i (open loop) runs. An operation returns the
// index of its kind in kinds (a mixed workload has several) and its error.
type scenario struct {
	kinds []string
	// newOp returns worker i's operation. In open loop the operations of
	// the conn workers are shared by concurrent calls, so only scenarios
	// whose operations are safe for concurrent use allow open loop.
	newOp    func(i int) op
	openLoop bool
	// notes are printed under the table, e.g. what the baseline runs.
	notes func() []string
}

type op func(ctx context.Context) (kind int, err error)

// result is one scenario's line of the results file.
type result struct {
	Label      string  `json:"label"`
	Round      int     `json:"round,omitempty"`
	Scenario   string  `json:"scenario"`
	Conc       int     `json:"conc"`
	Mode       string  `json:"mode"` // closed or open
	TargetRate float64 `json:"target_rate,omitempty"`
	WindowS    float64 `json:"window_s"`
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	FirstError string  `json:"first_error,omitempty"`
	Rate       float64 `json:"rate"`
	P50        float64 `json:"p50_ms"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	ServerCPU  float64 `json:"server_cpu_s"` // -1 when unknown
	MysqldCPU  float64 `json:"mysqld_cpu_s"` // -1 when unknown
	GenCPU     float64 `json:"gen_cpu_s"`
	// OtherCPU is the machine's busy CPU time in the window (from
	// /proc/stat) not used by the server, mysqld or the generator:
	// kernel work not charged to a process (softirqs of the loopback
	// traffic) and any other process, which would disturb the figures.
	OtherCPU float64 `json:"other_cpu_s"`
	// InnoDB are the growth of innodbCounters over the window.
	InnoDB map[string]int64   `json:"innodb,omitempty"`
	Kinds  map[string]kindRes `json:"kinds,omitempty"`
	// Seconds are the window's seconds: calls started in each, and
	// their p99, to show stalls.
	Seconds []secondRes `json:"seconds,omitempty"`
	// KindNames name the kinds of the samples file.
	KindNames   []string `json:"kind_names"`
	SamplesFile string   `json:"samples_file,omitempty"`
	// QuiesceS is how long the run waited for mysqld to go idle first.
	QuiesceS float64 `json:"quiesce_s,omitempty"`
	// Start and End bound the measured window.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Notes []string  `json:"notes,omitempty"`
	// Webhook is what the run's load gave the webhook subscription, when
	// run with -webhook-receiver.
	Webhook *webhookRes `json:"webhook,omitempty"`
}

type secondRes struct {
	Calls int     `json:"calls"`
	P99   float64 `json:"p99_ms"`
	// InnoDB is what mysqld's storage engine did in the second (see
	// innodbGauges): to tell a stall of the server from one of mysqld's
	// checkpointing and flushing.
	InnoDB *innodbSecond `json:"innodb,omitempty"`
}

// innodbSecond is one second of InnoDB: where its checkpoint and its
// dirty pages stood at the end of it, and what it wrote.
type innodbSecond struct {
	CheckpointPct float64 `json:"checkpoint_pct"` // checkpoint age, % of the redo log's capacity
	DirtyPct      float64 `json:"dirty_pct"`      // dirty pages, % of the buffer pool
	RedoKB        int64   `json:"redo_kb"`        // redo written
	Fsyncs        int64   `json:"fsyncs"`
	PagesFlushed  int64   `json:"pages_flushed"`
	WaitFree      int64   `json:"wait_free"` // waits for a free page (a user thread flushing)
	LogWaits      int64   `json:"log_waits"` // waits for redo log buffer space
	History       int64   `json:"history"`   // undo history not yet purged
}

// innodbGauges are the status values sampled every second.
var innodbGauges = []string{"Innodb_checkpoint_age", "Innodb_checkpoint_max_age", "Innodb_buffer_pool_pages_dirty",
	"Innodb_buffer_pool_pages_total", "Innodb_os_log_written", "Innodb_data_fsyncs", "Innodb_buffer_pool_pages_flushed",
	"Innodb_buffer_pool_wait_free", "Innodb_log_waits", "Innodb_history_list_length"}

// innodbSample is the gauges read at one time.
type innodbSample struct {
	at time.Time
	v  map[string]int64
}

// sampleInnoDB reads innodbGauges every second until stop is closed.
func sampleInnoDB(db *sql.DB, stop <-chan struct{}) []innodbSample {
	var out []innodbSample
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		if v := readStatus(db, innodbGauges); v != nil {
			out = append(out, innodbSample{at: time.Now(), v: v})
		}
		select {
		case <-stop:
			return out
		case <-t.C:
		}
	}
}

// innodbSeconds attaches to each second of res the InnoDB samples taken
// nearest its start and its end.
func innodbSeconds(res *result, samples []innodbSample) {
	at := func(t time.Time) *innodbSample {
		var best *innodbSample
		for i := range samples {
			if best == nil || absDur(samples[i].at.Sub(t)) < absDur(best.at.Sub(t)) {
				best = &samples[i]
			}
		}
		return best
	}
	for i := range res.Seconds {
		from := at(res.Start.Add(time.Duration(i) * time.Second))
		to := at(res.Start.Add(time.Duration(i+1) * time.Second))
		if from == nil || to == nil || from == to {
			continue
		}
		v, d := to.v, func(k string) int64 { return to.v[k] - from.v[k] }
		res.Seconds[i].InnoDB = &innodbSecond{
			CheckpointPct: 100 * float64(v["Innodb_checkpoint_age"]) / float64(max(1, v["Innodb_checkpoint_max_age"])),
			DirtyPct:      100 * float64(v["Innodb_buffer_pool_pages_dirty"]) / float64(max(1, v["Innodb_buffer_pool_pages_total"])),
			RedoKB:        d("Innodb_os_log_written") / 1024, Fsyncs: d("Innodb_data_fsyncs"),
			PagesFlushed: d("Innodb_buffer_pool_pages_flushed"), WaitFree: d("Innodb_buffer_pool_wait_free"),
			LogWaits: d("Innodb_log_waits"), History: v["Innodb_history_list_length"],
		}
	}
}

func absDur(d time.Duration) time.Duration { return max(d, -d) }

type kindRes struct {
	Calls int     `json:"calls"`
	P50   float64 `json:"p50_ms"`
	P99   float64 `json:"p99_ms"`
}

type runFlags struct {
	db             dbFlags
	scenario       string
	label          string
	conc           int
	warmup         time.Duration
	duration       time.Duration
	rate           float64
	rateFrom       string
	rateFraction   float64
	grpcAddr       string
	httpAddr       string
	keysFile       string
	serverPID      int
	mysqldPID      int
	results        string
	profile        string
	profileSeconds int
	rawPlan        string
	metricsDays    int
	round          int
	quiesce        time.Duration
	retries        int
	webhookAddr    string
	webhookWait    time.Duration
	receiverPID    int // the webhook receiver's, counted with the generator's CPU
}

func cmdRun(args []string) error {
	var f runFlags
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	f.db.register(fs)
	fs.StringVar(&f.scenario, "scenario", "", "raw-create, create-grpc, create-json, get-grpc, get-json, list-grpc, mixed or metrics-grpc")
	fs.StringVar(&f.label, "label", "", "name of the result in the table (default: the scenario)")
	fs.IntVar(&f.conc, "c", 32, "concurrent workers (closed loop) or client connections (open loop)")
	fs.DurationVar(&f.warmup, "warmup", 5*time.Second, "load before the measured window")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "measured window")
	fs.Float64Var(&f.rate, "rate", 0, "open loop: calls per second scheduled at fixed intervals; 0 runs a closed loop")
	fs.StringVar(&f.rateFrom, "rate-from", "", "open loop: take the rate from this result label in -results, times -rate-fraction")
	fs.Float64Var(&f.rateFraction, "rate-fraction", 0.7, "fraction of the -rate-from result's calls/s")
	fs.StringVar(&f.grpcAddr, "grpc", "", "server gRPC address")
	fs.StringVar(&f.httpAddr, "http", "", "server HTTP address")
	fs.StringVar(&f.keysFile, "keys", "", "file with one API key per line; worker i uses key i mod n")
	fs.IntVar(&f.serverPID, "server-pid", 0, "server pid for CPU accounting (raw-create: ignored, the generator itself is the server)")
	fs.IntVar(&f.mysqldPID, "mysqld-pid", 0, "mysqld pid for CPU accounting; 0 if unknown")
	fs.StringVar(&f.results, "results", "", "append the result as a JSON line to this file; empty prints only")
	fs.StringVar(&f.profile, "profile", "", "write a CPU profile of the server taken during the measured window here")
	fs.IntVar(&f.profileSeconds, "profile-seconds", 15, "length of the CPU profile")
	fs.StringVar(&f.rawPlan, "raw-plan", "", "raw-create: file of the server's CreateTicket statements (bench explain -plan-out); empty runs every known one")
	fs.IntVar(&f.metricsDays, "metrics-days", 30, "metrics-grpc: the report window, in whole UTC days up to today")
	fs.IntVar(&f.round, "round", 0, "round number: results of one label from several rounds are merged, and ratios taken round by round")
	fs.DurationVar(&f.quiesce, "quiesce", 0, "first wait up to this long for mysqld to go idle (the previous run's purge and flushing)")
	fs.IntVar(&f.retries, "retries", 2, "measure a window disturbed by other work (other processes busy) again, at most this many times")
	fs.StringVar(&f.webhookAddr, "webhook-receiver", "", "address of a bench webhook-receiver subscribed to ticket.*: after the load, wait for the deliveries of the run's events and record their lag")
	fs.DurationVar(&f.webhookWait, "webhook-wait", 60*time.Second, "how long after the load to wait for the receiver to have every event of the run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.label == "" {
		f.label = f.scenario
	}
	if f.rateFrom != "" {
		rate, err := labelRate(f.results, f.rateFrom)
		if err != nil {
			return err
		}
		f.rate = rate * f.rateFraction
	}
	keys, err := readKeys(f.keysFile)
	if err != nil {
		return err
	}

	ctx := context.Background()
	env, err := newEnv(ctx, &f, keys)
	if err != nil {
		return err
	}
	defer env.close()
	sc, err := env.scenario(f.scenario)
	if err != nil {
		return err
	}
	if f.rate > 0 && !sc.openLoop {
		return fmt.Errorf("scenario %s does not support open loop", f.scenario)
	}
	var watch *webhookWatch
	if f.webhookAddr != "" {
		if watch, err = watchWebhook(ctx, env.db, f.webhookAddr); err != nil {
			return err
		}
		f.receiverPID = watch.start.PID
	}

	// A window in which something else kept the machine busy is measured
	// again (others share it: test suites, builds); the least disturbed
	// attempt is kept. Profiled runs are not repeated.
	var (
		res     *result
		samples []sample
	)
	for attempt := 0; ; attempt++ {
		r, rec, err := measure(ctx, &f, env, sc)
		if err != nil {
			return err
		}
		if res == nil || r.OtherCPU/r.WindowS < res.OtherCPU/res.WindowS {
			res, samples = r, rec.samples
		}
		busy := r.OtherCPU / r.WindowS
		if busy <= disturbedCPUs || attempt == f.retries || f.profile != "" {
			if attempt > 0 {
				res.Notes = append(res.Notes, fmt.Sprintf("measured %d times: other work kept %.2f CPUs busy in the first window", attempt+1, busy))
			}
			break
		}
		fmt.Fprintf(os.Stderr, "bench: %s: %.2f CPUs busy with other work during the window; measuring again\n", f.label, busy)
		time.Sleep(5 * time.Second)
	}
	if sc.notes != nil {
		res.Notes = append(sc.notes(), res.Notes...)
	}
	if watch != nil {
		if res.Webhook, err = watch.finish(ctx, time.Now(), f.webhookWait, f.results, res.Label, res.Round); err != nil {
			return err
		}
		w := res.Webhook
		fmt.Fprintf(os.Stderr, "bench: %-22s webhook: %d/%d events delivered, lag p50 %.0f ms p99 %.0f ms max %.0f ms, caught up %.1f s after the load, %d signature failures\n",
			res.Label, w.Delivered, w.Events, w.P50, w.P99, w.Max, w.CatchUpS, w.VerifyFailures)
	}
	fmt.Fprintf(os.Stderr, "bench: %-22s c=%-3d %8.1f calls/s  p50 %7.2f ms  p99 %7.2f ms  errors %d\n",
		res.Label, res.Conc, res.Rate, res.P50, res.P99, res.Errors)
	if res.FirstError != "" {
		fmt.Fprintf(os.Stderr, "bench: %s: first error: %s\n", res.Label, res.FirstError)
	}
	if f.results != "" {
		if res.SamplesFile, err = writeSamples(f.results, res.Label, res.Round, samples); err != nil {
			return err
		}
		fh, err := os.OpenFile(f.results, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer fh.Close()
		if err := json.NewEncoder(fh).Encode(res); err != nil {
			return err
		}
	}
	if res.Calls == 0 {
		return fmt.Errorf("%s: no call completed", res.Label)
	}
	if float64(res.Errors) > 0.05*float64(res.Calls+res.Errors) {
		return fmt.Errorf("%s: %d of %d calls failed; first: %s", res.Label, res.Errors, res.Calls+res.Errors, res.FirstError)
	}
	return nil
}

func readKeys(path string) ([]string, error) {
	if path == "" {
		return nil, errors.New("-keys is required")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			keys = append(keys, l)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys", path)
	}
	return keys, nil
}

// disturbedCPUs is how many CPUs may be busy outside the server, mysqld
// and the generator before a window counts as disturbed. The softirqs of
// the loopback traffic, charged to no process, come to ~0.1.
const disturbedCPUs = 0.25

// measure runs the scenario's window once and summarises it.
func measure(ctx context.Context, f *runFlags, env *env, sc *scenario) (*result, *recording, error) {
	var waited time.Duration
	if f.quiesce > 0 {
		waited = quiesce(f.mysqldPID, f.quiesce)
	}
	serverPID := f.serverPID
	if f.scenario == "raw-create" {
		serverPID = os.Getpid()
	}
	pids := []int{serverPID, f.mysqldPID, os.Getpid()}
	if f.receiverPID > 0 {
		pids = append(pids, f.receiverPID)
	}
	mon := &cpuMonitor{pids: pids, status: func() map[string]int64 { return innodbStatus(env.db) }}

	var profDone chan error
	startProfile := func() {
		if f.profile == "" {
			return
		}
		profDone = make(chan error, 1)
		go func() { profDone <- fetchProfile(f.httpAddr, f.profileSeconds, f.profile) }()
	}
	var (
		rec      *recording
		innodb   []innodbSample
		stopInno = make(chan struct{})
		innoDone = make(chan struct{})
	)
	if f.rate > 0 {
		// An open loop's latency is where stalls show: record what InnoDB
		// did each second beside it.
		go func() {
			defer close(innoDone)
			innodb = sampleInnoDB(env.db, stopInno)
		}()
		rec = openLoop(ctx, sc, f.conc, f.rate, f.warmup, f.duration, mon, startProfile)
	} else {
		close(innoDone)
		rec = closedLoop(ctx, sc, f.conc, f.warmup, f.duration, mon, startProfile)
	}
	close(stopInno)
	<-innoDone
	if profDone != nil {
		if err := <-profDone; err != nil {
			return nil, nil, fmt.Errorf("CPU profile: %w", err)
		}
	}

	res := rec.summarize(sc.kinds)
	innodbSeconds(res, innodb)
	res.Label, res.Scenario, res.Conc, res.Round, res.KindNames = f.label, f.scenario, f.conc, f.round, sc.kinds
	res.QuiesceS = waited.Seconds()
	res.Mode = "closed"
	if f.rate > 0 {
		res.Mode, res.TargetRate = "open", f.rate
	}
	cpu := mon.delta()
	res.ServerCPU, res.MysqldCPU, res.GenCPU = cpu[0], cpu[1], cpu[2]
	own := max(0, cpu[0]) + max(0, cpu[1]) + max(0, cpu[2])
	if len(cpu) > 3 {
		// The webhook receiver is the client side too.
		own += max(0, cpu[3])
		if res.GenCPU >= 0 && cpu[3] >= 0 {
			res.GenCPU += cpu[3]
		}
	}
	if serverPID == os.Getpid() {
		own -= max(0, cpu[2]) // the generator is the "server"
	}
	res.OtherCPU = (mon.busyEnd - mon.busyStart).Seconds() - own
	if mon.statusStart != nil && mon.statusEnd != nil {
		res.InnoDB = map[string]int64{}
		for k, v := range mon.statusEnd {
			res.InnoDB[k] = v - mon.statusStart[k]
		}
	}
	return res, rec, nil
}

// labelRate returns the calls/s of all the rounds of label in path.
func labelRate(path, label string) (float64, error) {
	results, err := readResults(path)
	if err != nil {
		return 0, err
	}
	calls, window := 0, 0.0
	for _, r := range results {
		if r.Label == label {
			calls, window = calls+r.Calls, window+r.WindowS
		}
	}
	if window == 0 {
		return 0, fmt.Errorf("no result %q in %s", label, path)
	}
	return float64(calls) / window, nil
}

// quiesce waits until mysqld has used less than a tenth of a CPU over
// half a second, or for at most max, and returns how long it waited: the
// previous run's purge and page flushing then stay out of this one.
func quiesce(pid int, max time.Duration) time.Duration {
	start := time.Now()
	if pid <= 0 {
		return 0
	}
	for time.Since(start) < max {
		c0, err := procCPU(pid)
		if err != nil {
			return 0
		}
		time.Sleep(500 * time.Millisecond)
		c1, err := procCPU(pid)
		if err != nil || c1-c0 < 50*time.Millisecond {
			break
		}
	}
	return time.Since(start)
}

// cmdQuiesce waits, like a run's -quiesce, until mysqld is idle (its
// purge and page flushing after seeding done), for scripts that measure
// with something else than bench run (scripts/bench-console.sh).
func cmdQuiesce(args []string) error {
	fs := flag.NewFlagSet("quiesce", flag.ContinueOnError)
	pid := fs.Int("mysqld-pid", 0, "mysqld's pid (0: do not wait)")
	limit := fs.Duration("max", time.Minute, "wait at most this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench quiesce: waited %.1f s for mysqld to go idle\n", quiesce(*pid, *limit).Seconds())
	return nil
}

// writeSamples saves the window's latencies (or a run's webhook lags)
// next to the results file, one byte of kind and four of microseconds
// (little-endian) each, so the report can merge the rounds of a label
// into exact percentiles.
func writeSamples(results, label string, round int, samples []sample) (string, error) {
	dir := results + ".samples"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, fmt.Sprintf("%s-r%d-%d", label, round, time.Now().UnixNano()))
	buf := make([]byte, 0, 5*len(samples))
	for _, s := range samples {
		us := min(s.lat.Microseconds(), math.MaxUint32)
		buf = append(buf, s.kind)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(us))
	}
	path := filepath.Join(dir, name+".bin")
	return path, os.WriteFile(path, buf, 0o644)
}

// readSamples reads a writeSamples file: latencies by kind.
func readSamples(path string, kinds int) ([][]time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := make([][]time.Duration, kinds)
	for i := 0; i+5 <= len(b); i += 5 {
		k := int(b[i])
		if k >= kinds {
			return nil, fmt.Errorf("%s: kind %d out of range", path, k)
		}
		out[k] = append(out[k], time.Duration(binary.LittleEndian.Uint32(b[i+1:]))*time.Microsecond)
	}
	return out, nil
}

func readResults(path string) ([]result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []result
	dec := json.NewDecoder(strings.NewReader(string(b)))
	for dec.More() {
		var r result
		if err := dec.Decode(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// fetchProfile saves the server's CPU profile of the next seconds.
func fetchProfile(httpAddr string, seconds int, path string) error {
	c := &http.Client{Timeout: time.Duration(seconds+30) * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", httpAddr, seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s (is the server running with --pprof?)", resp.Status, b)
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fh, resp.Body); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// cpuMonitor samples the CPU time of a few processes at the start and
// the end of the measured window.
type cpuMonitor struct {
	status                 func() map[string]int64
	statusStart, statusEnd map[string]int64
	pids                   []int
	start, end             []time.Duration
	ok                     []bool
	busyStart, busyEnd     time.Duration
}

func (m *cpuMonitor) sample() []time.Duration {
	out := make([]time.Duration, len(m.pids))
	if m.ok == nil {
		m.ok = make([]bool, len(m.pids))
		for i := range m.ok {
			m.ok[i] = true
		}
	}
	for i, pid := range m.pids {
		d, err := procCPU(pid)
		if err != nil {
			m.ok[i] = false
		}
		out[i] = d
	}
	return out
}

func (m *cpuMonitor) begin() {
	m.start = m.sample()
	m.busyStart = machineBusy()
	if m.status != nil {
		m.statusStart = m.status()
	}
}

func (m *cpuMonitor) finish() {
	m.end = m.sample()
	m.busyEnd = machineBusy()
	if m.status != nil {
		m.statusEnd = m.status()
	}
}

// innodbCounters are the MySQL status counters whose growth over a window
// explains its latency: group commit (fsyncs), reads that missed the
// buffer pool, waits for row locks, for redo log space and for free
// pages, and the redo written (what fills the log between checkpoints).
// They are server-wide: other databases' load counts too.
var innodbCounters = []string{"Innodb_data_fsyncs", "Innodb_buffer_pool_reads", "Innodb_row_lock_waits",
	"Innodb_row_lock_time", "Innodb_log_waits", "Innodb_buffer_pool_wait_free", "Innodb_os_log_written"}

// innodbStatus reads innodbCounters; nil if it cannot.
func innodbStatus(db *sql.DB) map[string]int64 { return readStatus(db, innodbCounters) }

// readStatus reads the named global status values; nil if it cannot.
func readStatus(db *sql.DB, names []string) map[string]int64 {
	rows, err := db.Query("SHOW GLOBAL STATUS WHERE Variable_name IN ('" + strings.Join(names, "','") + "')")
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var v int64
		if rows.Scan(&name, &v) == nil {
			out[name] = v
		}
	}
	return out
}

// delta returns the CPU seconds each process used in the window, -1
// where it could not be read.
func (m *cpuMonitor) delta() []float64 {
	out := make([]float64, len(m.pids))
	for i := range out {
		if m.start == nil || m.end == nil || !m.ok[i] {
			out[i] = -1
			continue
		}
		out[i] = (m.end[i] - m.start[i]).Seconds()
	}
	return out
}

// sample is one recorded call: its kind, when it started (or was
// scheduled) after the start of the measured window, and its latency.
type sample struct {
	kind uint8
	at   time.Duration
	lat  time.Duration
}

// recording holds the calls that started (closed loop) or were scheduled
// (open loop) inside the measured window.
type recording struct {
	t0      time.Time
	window  time.Duration
	mu      sync.Mutex
	samples []sample
	errs    int
	first   string
}

// merge adds one worker's samples.
func (r *recording) merge(s []sample, errs int, first string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, s...)
	r.errs += errs
	if r.first == "" {
		r.first = first
	}
}

func (r *recording) summarize(kinds []string) *result {
	res := &result{
		WindowS: r.window.Seconds(), Errors: r.errs, FirstError: r.first,
		Start: r.t0.UTC(), End: r.t0.Add(r.window).UTC(),
	}
	byKind := make([][]time.Duration, len(kinds))
	secs := make([][]time.Duration, int(r.window/time.Second)+1)
	all := make([]time.Duration, 0, len(r.samples))
	for _, s := range r.samples {
		byKind[s.kind] = append(byKind[s.kind], s.lat)
		all = append(all, s.lat)
		if i := int(s.at / time.Second); i >= 0 && i < len(secs) {
			secs[i] = append(secs[i], s.lat)
		}
	}
	if len(kinds) > 1 {
		res.Kinds = map[string]kindRes{}
		for k, l := range byKind {
			if len(l) > 0 {
				slices.Sort(l)
				res.Kinds[kinds[k]] = kindRes{Calls: len(l), P50: ms(pct(l, 50)), P99: ms(pct(l, 99))}
			}
		}
	}
	for _, l := range secs[:int(r.window/time.Second)] {
		slices.Sort(l)
		res.Seconds = append(res.Seconds, secondRes{Calls: len(l), P99: ms(pct(l, 99))})
	}
	slices.Sort(all)
	res.Calls = len(all)
	res.Rate = float64(len(all)) / r.window.Seconds()
	if len(all) > 0 {
		res.P50, res.P95, res.P99, res.Max = ms(pct(all, 50)), ms(pct(all, 95)), ms(pct(all, 99)), ms(all[len(all)-1])
	}
	return res
}

// pct is the nearest-rank percentile of sorted.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// closedLoop runs conc workers, each calling its operation again as soon
// as the previous call returns. Calls started in [t0, t0+duration) are
// recorded, and waited for.
func closedLoop(ctx context.Context, sc *scenario, conc int, warmup, duration time.Duration, mon *cpuMonitor, atStart func()) *recording {
	start := time.Now()
	t0, t1 := start.Add(warmup), start.Add(warmup+duration)
	rec := &recording{t0: t0, window: duration}
	var wg sync.WaitGroup
	for i := range conc {
		call := sc.newOp(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			samples := make([]sample, 0, 1<<14)
			errs, first := 0, ""
			for {
				st := time.Now()
				if !st.Before(t1) {
					break
				}
				kind, err := call(ctx)
				if st.Before(t0) {
					continue
				}
				if err != nil {
					errs++
					if first == "" {
						first = err.Error()
					}
					continue
				}
				samples = append(samples, sample{kind: uint8(kind), at: st.Sub(t0), lat: time.Since(st)})
			}
			rec.merge(samples, errs, first)
		}()
	}
	windowMarks(t0, t1, mon, atStart)
	wg.Wait()
	return rec
}

// windowMarks samples CPU at t0 and t1 and starts the profile at t0.
func windowMarks(t0, t1 time.Time, mon *cpuMonitor, atStart func()) {
	time.Sleep(time.Until(t0))
	mon.begin()
	atStart()
	time.Sleep(time.Until(t1))
	mon.finish()
}

// openLoop schedules calls at fixed intervals, whatever the server's
// speed, and measures each call's latency from its scheduled start, so
// that time spent queueing (in the generator, when the server falls
// behind) counts as it would for real users. Calls run on goroutines
// spread over conc operations (connections); at most 4096 are in flight.
func openLoop(ctx context.Context, sc *scenario, conc int, rate float64, warmup, duration time.Duration, mon *cpuMonitor, atStart func()) *recording {
	ops := make([]op, conc)
	for i := range ops {
		ops[i] = sc.newOp(i)
	}
	interval := float64(time.Second) / rate
	start := time.Now()
	t0, t1 := start.Add(warmup), start.Add(warmup+duration)
	rec := &recording{t0: t0, window: duration}
	marks := make(chan struct{})
	go func() {
		windowMarks(t0, t1, mon, atStart)
		close(marks)
	}()
	sem := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	for i := 0; ; i++ {
		sched := start.Add(time.Duration(float64(i) * interval))
		if !sched.Before(t1) {
			break
		}
		if d := time.Until(sched); d > 0 {
			time.Sleep(d)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int, sched time.Time) {
			defer wg.Done()
			defer func() { <-sem }()
			kind, err := ops[i%len(ops)](ctx)
			if sched.Before(t0) {
				return
			}
			if err != nil {
				rec.merge(nil, 1, err.Error())
				return
			}
			rec.merge([]sample{{kind: uint8(kind), at: sched.Sub(t0), lat: time.Since(sched)}}, 0, "")
		}(i, sched)
	}
	wg.Wait()
	<-marks
	return rec
}
