package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// Benchmarks of the full server (interceptors, gateway, store) on MySQL,
// in process on loopback: a first measurement of throughput under
// concurrent load. They are skipped unless AFTERSALES_TEST_MYSQL_DSN is
// set. Run with
//
//	AFTERSALES_TEST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/' \
//	  go test -run '^$' -bench . -benchtime 5s ./server/internal/service/
//
// Client and server share the machine, so the figures are a floor for
// the server alone.

// benchClients is about how many goroutines call the server at once.
const benchClients = 32

// benchTickets is how many tickets the Get benchmarks read in turn.
const benchTickets = 64

// startBench starts the server on a new MySQL database, with only
// warnings and errors logged (every successful call would otherwise be),
// and seeds it.
func startBench(b *testing.B) (*env, *fixture) {
	b.Helper()
	storetest.MySQLConfig(b) // skips without MySQL
	e := start(b, store.DialectMySQL, func(c *config.Config) { c.LogLevel = slog.LevelWarn })
	return e, e.seed()
}

// benchHTTPClient keeps a connection per concurrent caller open, instead
// of the default two per host, so the benchmark does not measure TCP
// connection setup (or run out of ephemeral ports).
func benchHTTPClient(b *testing.B) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        4 * benchClients,
		MaxIdleConnsPerHost: 4 * benchClients,
		IdleConnTimeout:     time.Minute,
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// benchTicket is the ticket the Create benchmarks open.
func benchTicket(f *fixture) *aftersalesv1.Ticket {
	return &aftersalesv1.Ticket{
		Customer: f.customer.GetName(), Product: f.inWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
		Channel: aftersalesv1.Ticket_PHONE, Title: "Washer leaks", Description: "Water under the machine after every wash.",
	}
}

// runParallel runs call b.N times from about benchClients goroutines,
// passing each call a distinct sequence number, and reports calls/s.
func runParallel(b *testing.B, call func(seq int64) error) {
	b.Helper()
	b.SetParallelism(max(1, benchClients/runtime.GOMAXPROCS(0)))
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(seq.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

// httpCall sends one JSON request as actor and checks for 200 OK.
func httpCall(c *http.Client, method, url, actor string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer(actor))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, raw)
	}
	return nil
}

// BenchmarkCreateTicketGRPC opens tickets over gRPC, each with its own
// request_id as a well-behaved client sends.
func BenchmarkCreateTicketGRPC(b *testing.B) {
	e, f := startBench(b)
	ctx := as(f.agent.GetName())
	ticket := benchTicket(f)
	runParallel(b, func(seq int64) error {
		_, err := e.tickets.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{
			RequestId: fmt.Sprintf("bench-%d", seq), Ticket: ticket,
		})
		return err
	})
}

// BenchmarkCreateTicketJSON opens tickets with POST /v1/tickets through
// the gateway.
func BenchmarkCreateTicketJSON(b *testing.B) {
	e, f := startBench(b)
	c := benchHTTPClient(b)
	body, err := json.Marshal(map[string]any{
		"customer": f.customer.GetName(), "product": f.inWarranty.GetName(), "type": "REPAIR",
		"channel": "PHONE", "title": "Washer leaks", "description": "Water under the machine after every wash.",
	})
	require.NoError(b, err)
	agent := f.agent.GetName()
	runParallel(b, func(seq int64) error {
		return httpCall(c, http.MethodPost, fmt.Sprintf("%s/v1/tickets?requestId=bench-%d", e.baseURL, seq), agent, body)
	})
}

// benchGetTickets opens benchTickets tickets to read.
func benchGetTickets(b *testing.B, e *env, f *fixture) []string {
	b.Helper()
	names := make([]string, benchTickets)
	for i := range names {
		names[i] = e.newTicket(f, f.inWarranty).GetName()
	}
	return names
}

// BenchmarkGetTicketGRPC reads tickets over gRPC.
func BenchmarkGetTicketGRPC(b *testing.B) {
	e, f := startBench(b)
	names := benchGetTickets(b, e, f)
	ctx := as(f.agent.GetName())
	runParallel(b, func(seq int64) error {
		_, err := e.tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: names[seq%int64(len(names))]})
		return err
	})
}

// BenchmarkGetTicketJSON reads tickets with GET /v1/tickets/{id} through
// the gateway.
func BenchmarkGetTicketJSON(b *testing.B) {
	e, f := startBench(b)
	names := benchGetTickets(b, e, f)
	c := benchHTTPClient(b)
	agent := f.agent.GetName()
	runParallel(b, func(seq int64) error {
		return httpCall(c, http.MethodGet, e.baseURL+"/v1/"+names[seq%int64(len(names))], agent, nil)
	})
}
