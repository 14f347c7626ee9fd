package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// callTimeout is the client deadline of every call made while the
// database may be down: an outage must be reported well within it, as
// UNAVAILABLE, never by the call running into it.
const callTimeout = 5 * time.Second

// recoverTimeout bounds how long the server may take to notice that the
// database is back.
const recoverTimeout = 30 * time.Second

// startBehindProxy starts the server on a new MySQL database that it
// reaches through a TCP proxy, so the test can take the database away and
// bring it back. It skips the test when MySQL is not configured.
func startBehindProxy(t *testing.T) (*env, *storetest.Proxy) {
	t.Helper()
	cfg := storetest.MySQLConfig(t)
	if cfg.Net != "tcp" {
		t.Skipf("%s must use tcp to put a proxy in front of it, not %q", storetest.MySQLDSNEnv, cfg.Net)
	}
	name := storetest.MySQLDatabase(t)
	proxy := storetest.NewTCPProxy(t, cfg.Addr)
	// Registered after the proxy's cleanup, so the server shuts down
	// before the proxy stops for good.
	return startURL(t, storetest.MySQLURL(t, name, proxy.Addr())), proxy
}

// within returns a context acting as actor with the deadline callTimeout.
func within(t *testing.T, actor string) context.Context {
	ctx, cancel := context.WithTimeout(as(actor), callTimeout)
	t.Cleanup(cancel)
	return ctx
}

// doWithin is env.do with a client timeout of callTimeout.
func (e *env) doWithin(method, path, actor string, body any) httpResult {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.baseURL+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set("Authorization", "Bearer "+bearer(actor))
	}
	resp, err := (&http.Client{Timeout: callTimeout}).Do(req)
	require.NoError(e.t, err, "%s %s", method, path)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := httpResult{status: resp.StatusCode, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(e.t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

// rowCounts counts the rows of the tables a ticket write touches.
type rowCounts struct{ tickets, events, idempotencyKeys int64 }

func (e *env) rowCounts() rowCounts {
	e.t.Helper()
	g := e.app.DB().Gorm(context.Background())
	var c rowCounts
	require.NoError(e.t, g.Model(&store.Ticket{}).Count(&c.tickets).Error)
	require.NoError(e.t, g.Model(&store.TicketEvent{}).Count(&c.events).Error)
	require.NoError(e.t, g.Model(&store.IdempotencyKey{}).Count(&c.idempotencyKeys).Error)
	return c
}

// requireTicketsConsistent checks that every ticket write was
// all-or-nothing: each ticket has exactly one CREATED event and one event
// per version (a create writes version 1 and its CREATED event, every
// later change bumps the version and writes one event, in one
// transaction), and no event belongs to a ticket that does not exist.
func (e *env) requireTicketsConsistent() {
	t := e.t
	t.Helper()
	g := e.app.DB().Gorm(context.Background())
	created := int32(aftersalesv1.TicketEvent_CREATED)

	var orphans []string
	require.NoError(t, g.Raw(`SELECT ev.id FROM ticket_events ev
		LEFT JOIN tickets tk ON tk.id = ev.ticket_id WHERE tk.id IS NULL`).Scan(&orphans).Error)
	require.Empty(t, orphans, "events of tickets that do not exist")

	var badCreated []string
	require.NoError(t, g.Raw(`SELECT tk.id FROM tickets tk
		WHERE (SELECT COUNT(*) FROM ticket_events ev WHERE ev.ticket_id = tk.id AND ev.type = ?) <> 1`, created).Scan(&badCreated).Error)
	require.Empty(t, badCreated, "tickets without exactly one CREATED event")

	var badVersion []string
	require.NoError(t, g.Raw(`SELECT tk.id FROM tickets tk
		WHERE tk.version <> (SELECT COUNT(*) FROM ticket_events ev WHERE ev.ticket_id = tk.id)`).Scan(&badVersion).Error)
	require.Empty(t, badVersion, "tickets whose version does not match their timeline")
}

// TestDatabaseOutage stops the database under a running server: every
// call that needs it fails fast with UNAVAILABLE / STORAGE_UNAVAILABLE
// over gRPC and 503 over JSON, readiness fails while liveness holds, the
// failed writes leave nothing behind, and once the database is back the
// same server serves again and retries succeed exactly once.
func TestDatabaseOutage(t *testing.T) {
	e, proxy := startBehindProxy(t)
	f := e.seed()
	agent := f.agent.GetName()
	tk := e.newTicket(f, f.inWarranty)
	timeline, err := e.tickets.ListTicketEvents(as(agent), &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName()})
	require.NoError(t, err)
	before := e.rowCounts()

	createReq := &aftersalesv1.CreateTicketRequest{RequestId: "outage-create-grpc", Ticket: &aftersalesv1.Ticket{
		Customer: f.customer.GetName(), Product: f.outOfWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
		Channel: aftersalesv1.Ticket_PHONE, Title: "Opened during the outage",
	}}
	assignReq := &aftersalesv1.AssignTicketRequest{
		Name: tk.GetName(), Assignee: f.technician.GetName(), Etag: tk.GetEtag(), RequestId: "outage-assign-grpc",
	}
	jsonTicket := map[string]any{
		"customer": f.customer.GetName(), "product": f.inWarranty.GetName(), "type": "REPAIR",
		"channel": "WEB", "title": "Opened from the app during the outage",
	}

	proxy.Stop()

	// gRPC: a read, a create and a transition.
	_, err = e.tickets.GetTicket(within(t, agent), &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
	requireCode(t, err, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)
	_, err = e.tickets.ListTickets(within(t, agent), &aftersalesv1.ListTicketsRequest{})
	requireCode(t, err, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)
	_, err = e.tickets.CreateTicket(within(t, agent), createReq)
	requireCode(t, err, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)
	_, err = e.tickets.AssignTicket(within(t, agent), assignReq)
	requireCode(t, err, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)

	// The same over JSON.
	r := e.doWithin(http.MethodGet, "/v1/"+tk.GetName(), agent, nil)
	requireHTTP(t, r, http.StatusServiceUnavailable, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)
	r = e.doWithin(http.MethodPost, "/v1/tickets?requestId=outage-create-json", agent, jsonTicket)
	requireHTTP(t, r, http.StatusServiceUnavailable, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)
	r = e.doWithin(http.MethodPost, "/v1/"+tk.GetName()+":assign", agent, map[string]any{
		"assignee": f.partnerTech.GetName(), "etag": tk.GetEtag(),
	})
	requireHTTP(t, r, http.StatusServiceUnavailable, codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE)

	// Probes: not ready, but alive (restarting the process would not help).
	r = e.doWithin(http.MethodGet, "/readyz", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.status, string(r.raw))
	require.Equal(t, "unavailable", r.body["status"], string(r.raw))
	r = e.doWithin(http.MethodGet, "/healthz", "", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))

	// The database comes back; the same server recovers on its own.
	proxy.Start()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(as(agent), callTimeout)
		defer cancel()
		_, err := e.tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
		return err == nil
	}, recoverTimeout, 20*time.Millisecond, "gRPC calls succeed again")
	require.Eventually(t, func() bool {
		return e.doWithin(http.MethodGet, "/v1/"+tk.GetName(), agent, nil).status == http.StatusOK
	}, recoverTimeout, 20*time.Millisecond, "JSON calls succeed again")
	require.Eventually(t, func() bool {
		return e.doWithin(http.MethodGet, "/readyz", "", nil).status == http.StatusOK
	}, recoverTimeout, 20*time.Millisecond, "ready again")

	// Nothing the failed writes started is left.
	require.Equal(t, before, e.rowCounts(), "rows written during the outage")
	got, err := e.tickets.GetTicket(within(t, agent), &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
	require.NoError(t, err)
	require.True(t, proto.Equal(tk, got), "ticket changed by the failed assignment:\nbefore %v\nafter  %v", tk, got)
	timelineNow, err := e.tickets.ListTicketEvents(within(t, agent), &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName()})
	require.NoError(t, err)
	require.True(t, proto.Equal(timeline, timelineNow), "timeline changed by the failed assignment")

	// Retrying the failed writes does them, exactly once.
	created, err := e.tickets.CreateTicket(within(t, agent), createReq)
	require.NoError(t, err)
	again, err := e.tickets.CreateTicket(within(t, agent), createReq)
	require.NoError(t, err)
	require.Equal(t, created.GetName(), again.GetName(), "the retry replays the first success")
	r = e.doWithin(http.MethodPost, "/v1/tickets?requestId=outage-create-json", agent, jsonTicket)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	assigned, err := e.tickets.AssignTicket(within(t, agent), assignReq)
	require.NoError(t, err, "the etag read before the outage is still current")
	require.Equal(t, aftersalesv1.Ticket_ASSIGNED, assigned.GetState())

	after := e.rowCounts()
	require.Equal(t, before.tickets+2, after.tickets)
	require.Equal(t, before.events+3, after.events, "two CREATED events and one ASSIGNED")
	require.Equal(t, before.idempotencyKeys+3, after.idempotencyKeys)
	e.requireTicketsConsistent()
}

// TestDatabaseOutageMidTransaction takes the database away while
// concurrent writers are inside their transactions, then brings it back.
// Every write is all-or-nothing: no ticket without its CREATED event, no
// event without its ticket, no version bump without its event. Every
// create the server acknowledged is there, and retrying each failed
// create with its request_id yields exactly one ticket per request_id,
// whether the failed attempt had committed or not.
func TestDatabaseOutageMidTransaction(t *testing.T) {
	e, proxy := startBehindProxy(t)
	f := e.seed()
	agent := f.agent.GetName()
	targets := []*aftersalesv1.Ticket{e.newTicket(f, f.inWarranty), e.newTicket(f, f.outOfWarranty)}
	before := e.rowCounts()
	assignees := []string{f.technician.GetName(), f.partnerTech.GetName()}

	const (
		creators  = 12
		assigners = 4
	)
	var (
		mu         sync.Mutex
		requests   = map[string]*aftersalesv1.CreateTicketRequest{} // every create sent, by request_id
		acked      = map[string]string{}                            // request_id → ticket name, of the successes
		unexpected []string
		ok, failed atomic.Int64 // failed: UNAVAILABLE, as the outage must
		aborted    atomic.Int64 // lost races between the writers; tolerated
		inFlight   atomic.Int64
		stop       = make(chan struct{})
		wg         sync.WaitGroup
	)
	// outcome records a call's result; a failure must be the outage's
	// UNAVAILABLE, or a lost race between concurrent writers.
	outcome := func(what string, err error) {
		switch {
		case err == nil:
			ok.Add(1)
		case status.Code(err) == codes.Unavailable && apierr.Reason(err) == aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE:
			failed.Add(1)
		case status.Code(err) == codes.Aborted && apierr.Reason(err) == aftersalesv1.ErrorReason_CONCURRENT_MODIFICATION:
			aborted.Add(1)
		default:
			mu.Lock()
			unexpected = append(unexpected, fmt.Sprintf("%s: %v (reason %s)", what, err, apierr.Reason(err)))
			mu.Unlock()
		}
	}
	for w := range creators {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req := &aftersalesv1.CreateTicketRequest{RequestId: fmt.Sprintf("burst-%d-%d", w, i), Ticket: &aftersalesv1.Ticket{
					Customer: f.customer.GetName(), Product: f.inWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
					Channel: aftersalesv1.Ticket_PHONE, Title: fmt.Sprintf("Burst %d/%d", w, i),
				}}
				mu.Lock()
				requests[req.GetRequestId()] = req
				mu.Unlock()
				ctx, cancel := context.WithTimeout(as(agent), callTimeout)
				inFlight.Add(1)
				tk, err := e.tickets.CreateTicket(ctx, req)
				inFlight.Add(-1)
				cancel()
				outcome("create "+req.GetRequestId(), err)
				if err == nil {
					mu.Lock()
					acked[req.GetRequestId()] = tk.GetName()
					mu.Unlock()
				}
			}
		})
	}
	for w := range assigners {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// No etag: concurrent assigners queue on the row lock.
				ctx, cancel := context.WithTimeout(as(agent), callTimeout)
				inFlight.Add(1)
				_, err := e.tickets.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{
					Name: targets[w%len(targets)].GetName(), Assignee: assignees[i%len(assignees)],
				})
				inFlight.Add(-1)
				cancel()
				outcome("assign", err)
			}
		})
	}
	stopWriters := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopWriters)

	// Let the writers get going, cut the database off under them, and
	// wait until every writer has felt it.
	require.Eventually(t, func() bool { return ok.Load() >= 50 }, recoverTimeout, 5*time.Millisecond, "writes before the outage")
	t.Logf("%d calls in flight when the database went away", inFlight.Load())
	proxy.Stop()
	failedAtStop := failed.Load()
	require.Eventually(t, func() bool { return failed.Load() >= failedAtStop+2*(creators+assigners) }, recoverTimeout, 5*time.Millisecond, "failures during the outage")

	// Bring it back; writes succeed again without a restart.
	proxy.Start()
	okAtStart := ok.Load()
	require.Eventually(t, func() bool { return ok.Load() >= okAtStart+50 }, recoverTimeout, 5*time.Millisecond, "writes after the outage")
	stopWriters()
	require.Empty(t, unexpected, "calls that failed other than with UNAVAILABLE")
	t.Logf("%d calls succeeded, %d failed UNAVAILABLE, %d ABORTED; %d creates sent", ok.Load(), failed.Load(), aborted.Load(), len(requests))
	require.NotZero(t, failed.Load())

	// Acknowledged creates are durable.
	g := e.app.DB().Gorm(context.Background())
	for id, name := range acked {
		var n int64
		require.NoError(t, g.Model(&store.Ticket{}).Where("id = ?", name[len("tickets/"):]).Count(&n).Error)
		require.EqualValues(t, 1, n, "acknowledged create %s (%s) is missing", id, name)
	}
	// Failed creates may or may not have committed (a COMMIT cut off
	// before its answer); a retry with the same request_id settles it.
	committedAnyway := 0
	for id, req := range requests {
		if _, done := acked[id]; done {
			continue
		}
		var n int64
		require.NoError(t, g.Model(&store.IdempotencyKey{}).Where("request_id = ?", id).Count(&n).Error)
		committedAnyway += int(n)
		tk, err := e.tickets.CreateTicket(within(t, agent), req)
		require.NoError(t, err, "retry %s", id)
		acked[id] = tk.GetName()
	}
	t.Logf("%d of the failed creates had committed", committedAnyway)
	names := map[string]bool{}
	for _, name := range acked {
		names[name] = true
	}
	require.Len(t, names, len(requests), "one ticket per request_id")

	after := e.rowCounts()
	require.Equal(t, before.tickets+int64(len(requests)), after.tickets, "tickets: one per request_id, nothing else")
	e.requireTicketsConsistent()
}
