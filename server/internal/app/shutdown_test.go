package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestSIGTERMUnderLoad sends the test process SIGTERM (turned into the
// cancellation of Run's context by signal.NotifyContext, as main does)
// while clients create tickets over gRPC and JSON as fast as they can,
// two creates are held in flight and a WatchEvents stream is open, and
// checks that:
//
//   - the calls in flight finish with OK, their writes made after the
//     signal included;
//   - every later call is refused with UNAVAILABLE (SHUTTING_DOWN), 503
//     over JSON, on existing and on new connections, and /readyz and gRPC
//     health say so; the watch ends with the same UNAVAILABLE;
//   - no call gets anything else (a reset connection, CANCELLED, INTERNAL);
//   - Run returns nil (a clean shutdown);
//   - the database, read afresh afterwards, holds exactly the tickets
//     whose creates were acknowledged: none lost, none written by a
//     refused call.
//
// The held calls keep the server draining until the test has seen every
// client refused, so nothing depends on timing.
func TestSIGTERMUnderLoad(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) { testSIGTERMUnderLoad(t, dialect) })
	}
}

// outcomes collects what the load's calls got.
type outcomes struct {
	mu sync.Mutex
	// acked are the names of the tickets whose create returned OK.
	acked []string
	// refused counts calls answered UNAVAILABLE (SHUTTING_DOWN) or 503.
	refused int
	// other are any other results: each one fails the test.
	other []string
}

func (o *outcomes) ok(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.acked = append(o.acked, name)
}

func (o *outcomes) refuse() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused++
}

func (o *outcomes) fail(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.other = append(o.other, fmt.Sprintf(format, args...))
}

// shuttingDown reports whether err is the drain's refusal.
func shuttingDown(err error) bool {
	return status.Code(err) == codes.Unavailable && apierr.Reason(err) == aftersalesv1.ErrorReason_SHUTTING_DOWN
}

// within returns what ch delivers, failing the test if nothing comes
// within a minute: not a bound on performance, but a failing test must
// not hang (without the drain, say, the clients are never refused).
func within[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("waited a minute for %s", what)
		var zero T
		return zero
	}
}

// done returns a channel closed when wg's count is zero.
func done(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		wg.Wait()
		close(ch)
	}()
	return ch
}

// jsonCreate creates a ticket over JSON; it returns the HTTP status and
// the body.
func jsonCreate(c *http.Client, baseURL, credential, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, baseURL+"/v1/tickets", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", bearer(credential))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// ticketName returns the name in a JSON ticket.
func ticketName(body string) string {
	var tk struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal([]byte(body), &tk)
	return tk.Name
}

func testSIGTERMUnderLoad(t *testing.T, dialect string) {
	url := storetest.URL(t, dialect)
	sigCtx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopSignals()
	ta := startCtx(t, sigCtx, func(c *config.Config) {
		c.DatabaseURL = url
		c.RateLimit = 0 // the load shares one key
	})
	admin := ta.admin()

	// The customer the held calls act as (the "wait" token's subject).
	customer, err := aftersalesv1.NewCustomerServiceClient(ta.conn).CreateCustomer(admin, &aftersalesv1.CreateCustomerRequest{
		Customer: &aftersalesv1.Customer{DisplayName: "Wendy", ExternalId: waitedSubject},
	})
	require.NoError(t, err)
	product, err := aftersalesv1.NewCustomerServiceClient(ta.conn).CreateProduct(admin, &aftersalesv1.CreateProductRequest{
		Parent:  customer.GetName(),
		Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "SN-1"},
	})
	require.NoError(t, err)
	newTicket := func() *aftersalesv1.Ticket {
		return &aftersalesv1.Ticket{
			Customer: customer.GetName(), Product: product.GetName(),
			Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE,
			Title: "Drum does not turn", Description: "Stops mid-cycle with E21.",
		}
	}
	jsonTicket := fmt.Sprintf(`{"customer":%q,"product":%q,"type":"REPAIR","channel":"PHONE","title":"Leaks","description":"Water under the door."}`,
		customer.GetName(), product.GetName())
	tickets := aftersalesv1.NewTicketServiceClient(ta.conn)

	var out outcomes

	// A watch open across the shutdown: it has delivered an event, so its
	// handler is running when the signal comes. Its headers come once its
	// start is fixed, so the ticket created after them is the event it
	// delivers.
	watchCtx, cancelWatch := context.WithCancel(admin)
	defer cancelWatch()
	watch, err := aftersalesv1.NewEventServiceClient(ta.conn).WatchEvents(watchCtx, &aftersalesv1.WatchEventsRequest{})
	require.NoError(t, err)
	_, err = watch.Header()
	require.NoError(t, err)
	first, err := tickets.CreateTicket(admin, &aftersalesv1.CreateTicketRequest{Ticket: newTicket()})
	require.NoError(t, err)
	out.ok(first.GetName())
	for {
		ev, err := watch.Recv()
		require.NoError(t, err, "the watch delivers the ticket created after its headers")
		if ev.GetResource() == first.GetName() {
			break
		}
	}
	watchErr := make(chan error, 1)
	go func() {
		for {
			if _, err := watch.Recv(); err != nil {
				watchErr <- err
				return
			}
		}
	}()

	// The load: each client creates tickets back to back until it is
	// refused. warm is done once every client has had warmCalls creates
	// acknowledged, so the signal comes under load.
	const grpcClients, jsonClients, warmCalls = 6, 3, 10
	var load, warm sync.WaitGroup
	warm.Add(grpcClients + jsonClients)
	for i := range grpcClients {
		load.Add(1)
		go func() {
			defer load.Done()
			// A connection of its own, like a separate client process.
			conn, err := grpc.NewClient(ta.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				out.fail("grpc client %d: %v", i, err)
				warm.Done()
				return
			}
			defer conn.Close()
			c := aftersalesv1.NewTicketServiceClient(conn)
			warmed := 0
			for n := 0; ; n++ {
				tk, err := c.CreateTicket(admin, &aftersalesv1.CreateTicketRequest{
					Ticket: newTicket(), RequestId: fmt.Sprintf("grpc-%d-%d", i, n),
				})
				switch {
				case err == nil:
					out.ok(tk.GetName())
					if warmed++; warmed == warmCalls {
						warm.Done()
					}
					continue
				case shuttingDown(err):
					out.refuse()
				default:
					out.fail("grpc client %d: %v", i, err)
				}
				if warmed < warmCalls {
					warm.Done()
				}
				return
			}
		}()
	}
	for i := range jsonClients {
		load.Add(1)
		go func() {
			defer load.Done()
			c := &http.Client{Transport: &http.Transport{}}
			defer c.CloseIdleConnections()
			warmed := 0
			for {
				code, body, err := jsonCreate(c, ta.baseURL, ta.BootstrapKey(), jsonTicket)
				switch {
				case err == nil && code == http.StatusOK && ticketName(body) != "":
					out.ok(ticketName(body))
					if warmed++; warmed == warmCalls {
						warm.Done()
					}
					continue
				case err == nil && code == http.StatusServiceUnavailable && strings.Contains(body, `"SHUTTING_DOWN"`):
					out.refuse()
				default:
					out.fail("json client %d: %d %s %v", i, code, body, err)
				}
				if warmed < warmCalls {
					warm.Done()
				}
				return
			}
		}()
	}

	// Two creates held in flight, one per protocol: the customer's
	// token verification waits until release. A test that fails first
	// releases them as it ends, before the app is stopped.
	release := sync.OnceFunc(func() { close(ta.handlers.release) })
	t.Cleanup(release)
	type held struct {
		name string
		err  error
	}
	heldGRPC, heldJSON := make(chan held, 1), make(chan held, 1)
	go func() {
		tk, err := tickets.CreateTicket(as("wait"), &aftersalesv1.CreateTicketRequest{Ticket: newTicket(), RequestId: "held-grpc"})
		heldGRPC <- held{tk.GetName(), err}
	}()
	go func() {
		code, body, err := jsonCreate(&http.Client{}, ta.baseURL, "wait", jsonTicket)
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("%d: %s", code, body)
		}
		heldJSON <- held{ticketName(body), err}
	}()
	within(t, "the held calls to start", ta.handlers.waiting)
	within(t, "the held calls to start", ta.handlers.waiting)
	within(t, "the load to warm up", done(&warm))

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGTERM))
	<-sigCtx.Done()

	// Every client is refused in the end; the held calls keep the server
	// draining (and listening) until then.
	within(t, "every client to be refused", done(&load))
	require.Empty(t, out.other, "every call is acknowledged or refused with SHUTTING_DOWN")
	require.Equal(t, grpcClients+jsonClients, out.refused)
	err = within(t, "the watch to end", watchErr)
	require.True(t, shuttingDown(err), "the watch ends with SHUTTING_DOWN: %v", err)

	// New connections are refused the same way, and the probes say so.
	conn, err := grpc.NewClient(ta.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	_, err = aftersalesv1.NewTicketServiceClient(conn).GetTicket(admin, &aftersalesv1.GetTicketRequest{Name: first.GetName()})
	require.True(t, shuttingDown(err), "a new gRPC connection's call: %v", err)
	newWatch, err := aftersalesv1.NewEventServiceClient(conn).WatchEvents(admin, &aftersalesv1.WatchEventsRequest{})
	require.NoError(t, err)
	_, err = newWatch.Recv()
	require.True(t, shuttingDown(err), "a new watch: %v", err)
	code, body := ta.get(t, "/v1/"+first.GetName())
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Contains(t, body, `"SHUTTING_DOWN"`)
	code, body = ta.get(t, "/readyz")
	require.Equal(t, http.StatusServiceUnavailable, code, body)
	require.Equal(t, healthpb.HealthCheckResponse_NOT_SERVING, ta.health(t))

	// The held calls now run their creates, after the signal, and succeed.
	release()
	for _, ch := range []chan held{heldGRPC, heldJSON} {
		h := within(t, "a held call to return", ch)
		require.NoError(t, h.err, "a call in flight at the signal finishes")
		require.NotEmpty(t, h.name)
		out.ok(h.name)
	}
	require.NoError(t, ta.wait(t, 30*time.Second), "a clean shutdown")

	// A fresh connection to the database the server closed.
	db := storetest.OpenOptions(t, store.Options{URL: url})
	var ids []string
	require.NoError(t, db.Gorm(context.Background()).Table("tickets").Pluck("id", &ids).Error)
	want := make([]string, 0, len(out.acked))
	for _, name := range out.acked {
		want = append(want, strings.TrimPrefix(name, "tickets/"))
	}
	require.ElementsMatch(t, want, ids, "the database holds exactly the acknowledged tickets")
	t.Logf("%s: %d creates acknowledged, %d refused after the signal", dialect, len(out.acked), out.refused)
}
