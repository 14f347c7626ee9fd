package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// callTimeout bounds one call, like a client's deadline would.
const callTimeout = 10 * time.Second

// env is what the scenarios share: the API keys, the pools of existing
// rows to act on (read from MySQL before the load starts), and the
// clients.
type env struct {
	f     *runFlags
	keys  []string
	db    *sql.DB
	runID string
	seq   atomic.Int64

	customers []customerRef // with their product
	ticketIDs []string      // GetTicket targets
	techs     []string      // list filters' assignees and AssignTicket's
	newIDs    []string      // NEW tickets for AssignTicket
	progress  []string      // IN_PROGRESS tickets for ResolveTicket
	newNext   atomic.Int64
	progNext  atomic.Int64

	mu    sync.Mutex
	conns []*grpc.ClientConn
	http  *http.Client
}

func newEnv(ctx context.Context, f *runFlags, keys []string) (*env, error) {
	db, err := f.db.open(true)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &env{f: f, keys: keys, db: db, runID: "bench-" + hex.EncodeToString(b)}
	e.http = &http.Client{Timeout: callTimeout, Transport: &http.Transport{
		// One keep-alive connection per worker, like the gRPC side.
		MaxIdleConns:        4096,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}}
	return e, nil
}

func (e *env) close() {
	e.closeConns()
	_ = e.db.Close()
}

// closeConns closes the clients' connections to the server.
func (e *env) closeConns() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, c := range e.conns {
		if c != nil {
			_ = c.Close()
			e.conns[i] = nil
		}
	}
	e.http.CloseIdleConnections()
}

// load fills the pools a scenario needs.
func (e *env) load(ctx context.Context, what ...string) error {
	for _, w := range what {
		var err error
		switch w {
		case "customers":
			err = e.loadCustomers(ctx, "")
		case "tickets":
			// Every ticket is a GetTicket target: a random sample of the
			// whole table (the benchmark reads at most ~100k tickets).
			e.ticketIDs, err = e.ids(ctx, "SELECT id FROM tickets ORDER BY RAND() LIMIT 200000")
		case "techs":
			e.techs, err = e.ids(ctx, "SELECT id FROM staff WHERE role = 4 AND active ORDER BY id")
		case "new":
			e.newIDs, err = e.ids(ctx, "SELECT id FROM tickets WHERE state = 1 ORDER BY create_time DESC LIMIT 100000")
		case "progress":
			e.progress, err = e.ids(ctx, "SELECT id FROM tickets WHERE state = 4 ORDER BY create_time DESC LIMIT 200000")
		}
		if err != nil {
			return fmt.Errorf("load %s: %w", w, err)
		}
	}
	if len(e.ticketIDs) > 0 {
		mrand.Shuffle(len(e.ticketIDs), func(i, j int) { e.ticketIDs[i], e.ticketIDs[j] = e.ticketIDs[j], e.ticketIDs[i] })
	}
	return nil
}

// loadCustomers fills e.customers with the products matching where (a
// WHERE clause, or "" for all of them).
func (e *env) loadCustomers(ctx context.Context, where string) error {
	rows, err := e.db.QueryContext(ctx, "SELECT customer_id, id FROM products "+where)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c customerRef
		if err := rows.Scan(&c.customerID, &c.productID); err != nil {
			return err
		}
		e.customers = append(e.customers, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(e.customers) == 0 {
		return fmt.Errorf("no products %s: seed first", where)
	}
	return nil
}

func (e *env) ids(ctx context.Context, q string) ([]string, error) {
	rows, err := e.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

func (e *env) key(i int) string { return e.keys[i%len(e.keys)] }

// conn returns worker i's own gRPC connection: each worker is a client
// of its own, like the seats of a call center.
func (e *env) conn(i int) (*grpc.ClientConn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.conns) <= i {
		e.conns = append(e.conns, nil)
	}
	if e.conns[i] == nil {
		c, err := grpc.NewClient("passthrough:///"+e.f.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return nil, err
		}
		e.conns[i] = c
	}
	return e.conns[i], nil
}

// requestID returns a request id no other call of any run uses.
func (e *env) requestID() string { return fmt.Sprintf("%s-%d", e.runID, e.seq.Add(1)) }

func (e *env) newTicket() *aftersalesv1.Ticket {
	c := e.customers[mrand.IntN(len(e.customers))]
	return &aftersalesv1.Ticket{
		Customer:    "customers/" + c.customerID,
		Product:     "customers/" + c.customerID + "/products/" + c.productID,
		Type:        aftersalesv1.Ticket_REPAIR,
		Channel:     aftersalesv1.Ticket_PHONE,
		Title:       titles[mrand.IntN(len(titles))],
		Description: descriptions[mrand.IntN(len(descriptions))],
	}
}

func (e *env) randomTicket() string { return e.ticketIDs[mrand.IntN(len(e.ticketIDs))] }

// grpcWorker is a worker's client and the metadata carrying its key.
type grpcWorker struct {
	conn   *grpc.ClientConn // for the other services' clients
	client aftersalesv1.TicketServiceClient
	md     metadata.MD
}

func (e *env) grpcWorker(i int) (*grpcWorker, error) {
	c, err := e.conn(i)
	if err != nil {
		return nil, err
	}
	md := metadata.Pairs("authorization", "Bearer "+e.key(i))
	return &grpcWorker{conn: c, client: aftersalesv1.NewTicketServiceClient(c), md: md}, nil
}

// callCtx returns the context of one call: the worker's credentials and
// the call's deadline.
func (w *grpcWorker) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	return metadata.NewOutgoingContext(ctx, w.md), cancel
}

func (e *env) scenario(name string) (*scenario, error) {
	ctx := context.Background()
	failing := func(err error) op { return func(context.Context) (int, error) { return 0, err } }
	switch name {
	case "raw-create":
		if err := e.load(ctx, "customers"); err != nil {
			return nil, err
		}
		return e.rawCreate()

	case "create-grpc":
		if err := e.load(ctx, "customers"); err != nil {
			return nil, err
		}
		return &scenario{kinds: []string{"create"}, openLoop: true, newOp: func(i int) op {
			w, err := e.grpcWorker(i)
			if err != nil {
				return failing(err)
			}
			return func(ctx context.Context) (int, error) {
				ctx, cancel := w.callCtx(ctx)
				defer cancel()
				_, err := w.client.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: e.newTicket(), RequestId: e.requestID()})
				return 0, err
			}
		}}, nil

	case "get-grpc":
		if err := e.load(ctx, "tickets"); err != nil {
			return nil, err
		}
		return &scenario{kinds: []string{"get"}, openLoop: true, newOp: func(i int) op {
			w, err := e.grpcWorker(i)
			if err != nil {
				return failing(err)
			}
			return func(ctx context.Context) (int, error) {
				ctx, cancel := w.callCtx(ctx)
				defer cancel()
				_, err := w.client.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/" + e.randomTicket()})
				return 0, err
			}
		}}, nil

	case "create-json":
		if err := e.load(ctx, "customers"); err != nil {
			return nil, err
		}
		return &scenario{kinds: []string{"create"}, openLoop: true, newOp: func(i int) op {
			key := e.key(i)
			return func(ctx context.Context) (int, error) {
				t := e.newTicket()
				body := fmt.Sprintf(`{"customer":%q,"product":%q,"type":"REPAIR","channel":"PHONE","title":%q,"description":%q}`,
					t.Customer, t.Product, t.Title, t.Description)
				return 0, e.httpCall(ctx, http.MethodPost, "/v1/tickets?requestId="+e.requestID(), key, body)
			}
		}}, nil

	case "get-json":
		if err := e.load(ctx, "tickets"); err != nil {
			return nil, err
		}
		return &scenario{kinds: []string{"get"}, openLoop: true, newOp: func(i int) op {
			key := e.key(i)
			return func(ctx context.Context) (int, error) {
				return 0, e.httpCall(ctx, http.MethodGet, "/v1/tickets/"+e.randomTicket(), key, "")
			}
		}}, nil

	case "list-grpc":
		if err := e.load(ctx, "techs"); err != nil {
			return nil, err
		}
		var short atomic.Int64
		return &scenario{
			kinds: []string{"page1", "page2"},
			newOp: func(i int) op {
				w, err := e.grpcWorker(i)
				if err != nil {
					return failing(err)
				}
				l := &lister{e: e, w: w, short: &short}
				return l.call
			},
			notes: func() []string {
				return []string{fmt.Sprintf("pages with fewer than %d tickets: %d", listPageSize, short.Load())}
			},
		}, nil

	case "metrics-grpc":
		return e.metricsScenario(), nil

	case "mixed":
		if err := e.load(ctx, "customers", "tickets", "techs", "new", "progress"); err != nil {
			return nil, err
		}
		return e.mixed(), nil
	}
	return nil, fmt.Errorf("unknown scenario %q", name)
}

// httpCall makes one JSON call and reads the whole response.
func (e *env) httpCall(ctx context.Context, method, path, key, body string) error {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+e.f.httpAddr+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	return nil
}

// listPageSize is the page the list scenarios ask for.
const listPageSize = 50

var stateNames = map[int]string{stateAssigned: "ASSIGNED", stateInProgress: "IN_PROGRESS"}

// lister pages through one (state, assignee) list: the first page, then
// the second with the first's token, then another list. Both pages are
// queries the server runs (the second adds the keyset condition), so
// both are measured.
type lister struct {
	e      *env
	w      *grpcWorker
	short  *atomic.Int64
	filter string
	token  string
}

func (l *lister) call(ctx context.Context) (int, error) {
	kind := 1
	if l.token == "" {
		kind = 0
		st := listStates[mrand.IntN(len(listStates))]
		l.filter = fmt.Sprintf(`state = %s AND assignee = "staff/%s"`, stateNames[st], l.e.techs[mrand.IntN(len(l.e.techs))])
	}
	cctx, cancel := l.w.callCtx(ctx)
	defer cancel()
	resp, err := l.w.client.ListTickets(cctx, &aftersalesv1.ListTicketsRequest{
		PageSize: listPageSize, Filter: l.filter, OrderBy: "create_time desc", PageToken: l.token,
	})
	if err != nil {
		l.token = ""
		return kind, err
	}
	if len(resp.GetTickets()) < listPageSize {
		l.short.Add(1)
	}
	if kind == 0 {
		l.token = resp.GetNextPageToken()
	} else {
		l.token = ""
	}
	return kind, nil
}

// mixedKinds and mixedWeights are the call-center mix: agents open
// tickets and look them up most, browse their queues, and dispatch and
// close out less often.
var (
	mixedKinds   = []string{"create", "get", "list", "assign", "resolve"}
	mixedWeights = []int{30, 40, 20, 5, 5}
)

func (e *env) mixed() *scenario {
	var exhausted atomic.Int64
	return &scenario{
		kinds: mixedKinds,
		newOp: func(i int) op {
			w, err := e.grpcWorker(i)
			if err != nil {
				return func(context.Context) (int, error) { return 0, err }
			}
			var created []string // this worker's NEW tickets, to assign
			l := &lister{e: e, w: w, short: new(atomic.Int64)}
			return func(ctx context.Context) (int, error) {
				x := mrand.IntN(100)
				kind := 0
				for kind < len(mixedWeights)-1 && x >= mixedWeights[kind] {
					x -= mixedWeights[kind]
					kind++
				}
				cctx, cancel := w.callCtx(ctx)
				defer cancel()
				switch mixedKinds[kind] {
				case "create":
					t, err := w.client.CreateTicket(cctx, &aftersalesv1.CreateTicketRequest{Ticket: e.newTicket(), RequestId: e.requestID()})
					if err == nil {
						created = append(created, t.GetName())
					}
					return kind, err
				case "list":
					l.token = "" // first pages only: agents open their queue
					_, err := l.call(ctx)
					return kind, err
				case "assign":
					name := ""
					if n := len(created); n > 0 {
						name, created = created[n-1], created[:n-1]
					} else if j := e.newNext.Add(1) - 1; int(j) < len(e.newIDs) {
						name = "tickets/" + e.newIDs[j]
					}
					if name != "" {
						_, err := w.client.AssignTicket(cctx, &aftersalesv1.AssignTicketRequest{
							Name: name, Assignee: "staff/" + e.techs[mrand.IntN(len(e.techs))], Note: "dispatched by the desk", RequestId: e.requestID(),
						})
						return kind, err
					}
				case "resolve":
					if j := e.progNext.Add(1) - 1; int(j) < len(e.progress) {
						_, err := w.client.ResolveTicket(cctx, &aftersalesv1.ResolveTicketRequest{
							Name: "tickets/" + e.progress[j], RequestId: e.requestID(),
							Resolution: &aftersalesv1.Resolution{
								FaultCategory: "LEAK", FaultCode: "P-12", Summary: "Replaced the drain pump seal; tested two cycles.",
								Parts: []*aftersalesv1.PartUsage{{PartNumber: "SEAL-42", Description: "Drain pump seal", Quantity: 1}},
								Labor: durationpb.New(45 * time.Minute),
							},
						})
						return kind, err
					}
					exhausted.Add(1)
				}
				// get, or an assign or resolve with nothing left to act on.
				_, err := w.client.GetTicket(cctx, &aftersalesv1.GetTicketRequest{Name: "tickets/" + e.randomTicket()})
				return 1, err
			}
		},
		notes: func() []string {
			if n := exhausted.Load(); n > 0 {
				return []string{fmt.Sprintf("IN_PROGRESS pool ran out: %d resolves became gets", n)}
			}
			return nil
		},
	}
}
