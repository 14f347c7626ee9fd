package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/aftersales/aftersales/client/webhook"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// The webhook receiver of the outbox benchmark. It is a process of its
// own, up for the whole comparison, rather than part of each `bench run`:
// the server delivers whenever a subscribed event is sequenced (also
// between runs, say an SLA escalation), and a delivery refused because
// nobody listens would put the subscription into backoff and stall the
// next run's deliveries behind it.
//
// It records, for each event id, when the first delivery arrived and its
// lag (arrival − the event's create_time, which the server takes from
// its clock when the change commits; both run on this machine). `bench
// run -webhook-receiver` asks it for the deliveries of the events its
// load made (GET /lags).

// delivery is the first arrival of an event at the receiver.
type delivery struct {
	ID    int64 `json:"id"`
	LagUS int64 `json:"lag_us"`
	AtUS  int64 `json:"at_us"` // Unix microseconds
}

// receiverStats is the receiver's answer to GET /lags: its counters since
// it started and the deliveries of events with ids after ?after= (none
// without it).
type receiverStats struct {
	PID            int        `json:"pid"`
	Received       int        `json:"received"`
	Duplicates     int        `json:"duplicates"`
	VerifyFailures int        `json:"verify_failures"`
	BadBodies      int        `json:"bad_bodies"`
	FirstFailure   string     `json:"first_failure,omitempty"`
	Deliveries     []delivery `json:"deliveries,omitempty"`
}

type receiver struct {
	secret string
	mu     sync.Mutex
	stats  receiverStats
	byID   map[int64]delivery
}

func cmdWebhookReceiver(args []string) error {
	fs := flag.NewFlagSet("webhook-receiver", flag.ContinueOnError)
	grpcAddr := fs.String("grpc", "", "server gRPC address, to create the subscription")
	keyFile := fs.String("key-file", "", "file holding an admin API key")
	types := fs.String("types", "ticket.*", "comma-separated event types to subscribe to")
	listen := fs.String("listen", "127.0.0.1:0", "address to receive deliveries on")
	ready := fs.String("ready", "", "write the receiver's address and the subscription's name here once subscribed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	addr := ln.Addr().String()

	// Subscribe only once listening, so the first delivery finds us.
	conn, err := grpc.NewClient("passthrough:///"+*grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", "Bearer "+strings.TrimSpace(string(key))))
	wh, err := aftersalesv1.NewWebhookServiceClient(conn).CreateWebhook(ctx, &aftersalesv1.CreateWebhookRequest{
		Webhook: &aftersalesv1.Webhook{
			DisplayName: "bench receiver", Url: "http://" + addr + "/hook",
			EventTypes: strings.Split(*types, ","), Enabled: true,
		},
	})
	if err != nil {
		return fmt.Errorf("CreateWebhook: %w", err)
	}
	if wh.GetSecret() == "" {
		return errors.New("CreateWebhook returned no secret")
	}

	rc := &receiver{secret: wh.GetSecret(), byID: map[int64]delivery{}}
	rc.stats.PID = os.Getpid()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /hook", rc.hook)
	mux.HandleFunc("GET /lags", rc.lags)
	if *ready != "" {
		// Renamed into place, so that the script never reads half a file.
		tmp := *ready + ".tmp"
		if err := os.WriteFile(tmp, fmt.Appendf(nil, "receiver_addr=%s\nwebhook_name=%s\n", addr, wh.GetName()), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, *ready); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: webhook receiver on %s for %s\n", addr, wh.GetName())
	return (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// hook receives one delivery as a real receiver would: it checks the
// signature on the raw body first and refuses a delivery that fails (the
// server then retries it: failures show as lag, and in the count).
func (rc *receiver) hook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	now := time.Now()
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	fail := func(counter *int, msg string) {
		rc.mu.Lock()
		*counter++
		if rc.stats.FirstFailure == "" {
			rc.stats.FirstFailure = msg
		}
		rc.mu.Unlock()
		http.Error(w, msg, http.StatusBadRequest)
	}
	if err := webhook.Verify(rc.secret, r.Header.Get(webhook.Header), body, 5*time.Minute); err != nil {
		fail(&rc.stats.VerifyFailures, "signature: "+err.Error())
		return
	}
	id, err := strconv.ParseInt(r.Header.Get(webhook.EventIDHeader), 10, 64)
	var ev struct {
		CreateTime time.Time `json:"createTime"`
	}
	if err == nil {
		err = json.Unmarshal(body, &ev)
	}
	if err != nil || ev.CreateTime.IsZero() {
		fail(&rc.stats.BadBodies, fmt.Sprintf("event id %q or createTime unreadable: %v", r.Header.Get(webhook.EventIDHeader), err))
		return
	}
	rc.mu.Lock()
	rc.stats.Received++
	if _, dup := rc.byID[id]; dup {
		rc.stats.Duplicates++
	} else {
		rc.byID[id] = delivery{ID: id, LagUS: now.Sub(ev.CreateTime).Microseconds(), AtUS: now.UnixMicro()}
	}
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) lags(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	out := rc.stats
	if s := r.URL.Query().Get("after"); s != "" {
		after, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			rc.mu.Unlock()
			http.Error(w, "bad after", http.StatusBadRequest)
			return
		}
		for id, d := range rc.byID {
			if id > after {
				out.Deliveries = append(out.Deliveries, d)
			}
		}
	}
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// webhookRes is what a run's load gave the webhook subscription.
type webhookRes struct {
	// Events are the subscribed events the run's load committed (every
	// ticket.* event with a row added during the run); Delivered those
	// the receiver had by the end of the wait.
	Events    int `json:"events"`
	Delivered int `json:"delivered"`
	// Duplicates, VerifyFailures and BadBodies are the receiver's counts
	// during the run: repeated deliveries, deliveries whose signature did
	// not verify, and bodies without an event id or create time.
	Duplicates     int    `json:"duplicates"`
	VerifyFailures int    `json:"verify_failures"`
	BadBodies      int    `json:"bad_bodies"`
	FirstFailure   string `json:"first_failure,omitempty"`
	// SpanS is from the first to the last delivery of the run's events;
	// CatchUpS from the end of the load to the last delivery.
	SpanS    float64 `json:"span_s"`
	CatchUpS float64 `json:"catch_up_s"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// LagFile holds the lags, in the samples format (kind 0).
	LagFile string `json:"lag_file,omitempty"`
}

// webhookWatch follows one run's events to the receiver.
type webhookWatch struct {
	addr     string
	http     *http.Client
	db       *sql.DB
	startRow int64 // events rows up to this one were there before the run
	start    receiverStats
}

// watchWebhook notes where the events table and the receiver's counters
// stand before the run's load.
func watchWebhook(ctx context.Context, db *sql.DB, addr string) (*webhookWatch, error) {
	w := &webhookWatch{addr: addr, db: db, http: &http.Client{Timeout: 10 * time.Second}}
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM events").Scan(&w.startRow); err != nil {
		return nil, fmt.Errorf("events table: %w", err)
	}
	st, err := w.stats(ctx, -1)
	if err != nil {
		return nil, err
	}
	w.start = *st
	return w, nil
}

// stats asks the receiver for its counters, and for the deliveries of
// events after id after unless it is negative.
func (w *webhookWatch) stats(ctx context.Context, after int64) (*receiverStats, error) {
	u := "http://" + w.addr + "/lags"
	if after >= 0 {
		u += "?after=" + strconv.FormatInt(after, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("webhook receiver: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("webhook receiver: %s", resp.Status)
	}
	var st receiverStats
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// expected returns the feed ids of the subscribed events the run added,
// and whether the sequencer has numbered them all yet. The pattern
// mirrors the subscription's "ticket.*".
func (w *webhookWatch) expected(ctx context.Context) (ids []int64, numbered bool, err error) {
	rows, err := w.db.QueryContext(ctx, "SELECT seq FROM events WHERE id > ? AND type LIKE 'ticket.%'", w.startRow)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	numbered = true
	for rows.Next() {
		var seq sql.NullInt64
		if err := rows.Scan(&seq); err != nil {
			return nil, false, err
		}
		if !seq.Valid {
			numbered = false
			continue
		}
		ids = append(ids, seq.Int64)
	}
	return ids, numbered, rows.Err()
}

// finish waits, at most wait after the load ended, until the receiver
// has every event of the run, and summarises their deliveries; the lags
// go to a samples file next to results (none when results is "").
func (w *webhookWatch) finish(ctx context.Context, loadEnd time.Time, wait time.Duration, results, label string, round int) (*webhookRes, error) {
	deadline := loadEnd.Add(wait)
	var (
		ids  []int64
		got  []delivery
		last *receiverStats
	)
	for {
		var numbered bool
		var err error
		ids, numbered, err = w.expected(ctx)
		if err != nil {
			return nil, err
		}
		after := int64(-1)
		if len(ids) > 0 {
			after = slices.Min(ids) - 1
		}
		if last, err = w.stats(ctx, after); err != nil {
			return nil, err
		}
		byID := make(map[int64]delivery, len(last.Deliveries))
		for _, d := range last.Deliveries {
			byID[d.ID] = d
		}
		got = got[:0]
		for _, id := range ids {
			if d, ok := byID[id]; ok {
				got = append(got, d)
			}
		}
		if numbered && len(got) == len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	res := &webhookRes{
		Events: len(ids), Delivered: len(got),
		Duplicates:     last.Duplicates - w.start.Duplicates,
		VerifyFailures: last.VerifyFailures - w.start.VerifyFailures,
		BadBodies:      last.BadBodies - w.start.BadBodies,
	}
	if res.VerifyFailures+res.BadBodies > 0 {
		res.FirstFailure = last.FirstFailure
	}
	if len(got) == 0 {
		return res, nil
	}
	lags := make([]time.Duration, len(got))
	samples := make([]sample, len(got))
	first, lastAt := got[0].AtUS, got[0].AtUS
	for i, d := range got {
		lags[i] = time.Duration(d.LagUS) * time.Microsecond
		samples[i] = sample{lat: lags[i]}
		first, lastAt = min(first, d.AtUS), max(lastAt, d.AtUS)
	}
	slices.Sort(lags)
	res.P50, res.P99, res.Max = ms(pct(lags, 50)), ms(pct(lags, 99)), ms(lags[len(lags)-1])
	res.SpanS = float64(lastAt-first) / 1e6
	res.CatchUpS = max(0, time.UnixMicro(lastAt).Sub(loadEnd).Seconds())
	if results != "" {
		var err error
		if res.LagFile, err = writeSamples(results, label+"-webhook-lag", round, samples); err != nil {
			return nil, err
		}
	}
	return res, nil
}
