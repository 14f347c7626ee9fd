package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/auth/token"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// clock is a settable clock shared by the server under test and the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one real server, started in-process on loopback, and clients for
// it: generated gRPC clients and a JSON client for the gateway.
type env struct {
	t          testing.TB
	app        *app.App
	clock      *clock
	conn       *grpc.ClientConn
	customers  aftersalesv1.CustomerServiceClient
	partners   aftersalesv1.PartnerServiceClient
	staff      aftersalesv1.StaffServiceClient
	tickets    aftersalesv1.TicketServiceClient
	audits     aftersalesv1.AuditServiceClient
	complaints aftersalesv1.ComplaintServiceClient
	followUps  aftersalesv1.FollowUpServiceClient
	training   aftersalesv1.TrainingServiceClient
	reports    aftersalesv1.ReportServiceClient
	events     aftersalesv1.EventServiceClient
	webhooks   aftersalesv1.WebhookServiceClient
	fees       aftersalesv1.FeeServiceClient
	claims     aftersalesv1.WarrantyClaimServiceClient
	baseURL    string
	// stop shuts the server down gracefully, as SIGTERM does; the test's
	// end calls it too.
	stop func()
}

type envOption func(*config.Config)

// start runs the full server on a fresh database of dialect until the
// test ends.
func start(t testing.TB, dialect string, opts ...envOption) *env {
	t.Helper()
	return startURL(t, storetest.URL(t, dialect), opts...)
}

func startURL(t testing.TB, dbURL string, opts ...envOption) *env {
	t.Helper()
	cfg := testConfig(t, dbURL, opts...)
	c := newClock()
	ctx, cancel := context.WithCancel(context.Background())
	// Like storetest.Logger, at the configured level (benchmarks raise it
	// so that successful calls are not logged).
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: cfg.LogLevel}))
	verifier, err := token.New(token.Config{Issuer: testIssuer, Audience: testAudience, HMACSecret: testSecret, Now: c.Now})
	require.NoError(t, err)
	a, err := app.New(ctx, cfg, logger, app.WithNow(c.Now), app.WithTokenVerifier(verifier))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)

	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return &env{
		t: t, app: a, clock: c, conn: conn,
		customers:  aftersalesv1.NewCustomerServiceClient(conn),
		partners:   aftersalesv1.NewPartnerServiceClient(conn),
		staff:      aftersalesv1.NewStaffServiceClient(conn),
		tickets:    aftersalesv1.NewTicketServiceClient(conn),
		audits:     aftersalesv1.NewAuditServiceClient(conn),
		complaints: aftersalesv1.NewComplaintServiceClient(conn),
		followUps:  aftersalesv1.NewFollowUpServiceClient(conn),
		training:   aftersalesv1.NewTrainingServiceClient(conn),
		reports:    aftersalesv1.NewReportServiceClient(conn),
		events:     aftersalesv1.NewEventServiceClient(conn),
		webhooks:   aftersalesv1.NewWebhookServiceClient(conn),
		fees:       aftersalesv1.NewFeeServiceClient(conn),
		claims:     aftersalesv1.NewWarrantyClaimServiceClient(conn),
		baseURL:    "http://" + a.HTTPAddr(),
		stop:       stop,
	}
}

// testConfig is the configuration of a server under test on dbURL.
func testConfig(t testing.TB, dbURL string, opts ...envOption) config.Config {
	t.Helper()
	cfg, err := config.Load([]string{
		"--grpc-addr=127.0.0.1:0", "--http-addr=127.0.0.1:0", "--database-url=" + dbURL,
		"--sla-check-interval=1h",
		// The test clock stands still, so no bucket would ever refill:
		// neither a caller's nor an address's failed authentications
		// (every test client is 127.0.0.1). Both are tested in app.
		"--rate-limit=0", "--auth-failure-limit=0",
		// Tests act as the bootstrap admin while moving the clock by days.
		"--bootstrap-key-ttl=87600h",
	}, func(string) string { return "" })
	require.NoError(t, err)
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// The customer-token settings of the servers under test.
const (
	testIssuer   = "https://login.example.test"
	testAudience = "aftersales"
)

var testSecret = []byte("test-secret-of-at-least-32-bytes!!")

// credentials maps a principal's resource name to the bearer credential
// the tests use for it: an API key for staff, partners and admins, a
// customer token for customers. Names are random ids, so one map serves
// every server under test.
var credentials sync.Map

// bearer returns the credential registered for actor.
func bearer(actor string) string {
	v, ok := credentials.Load(actor)
	if !ok {
		panic("no credential registered for " + actor)
	}
	return v.(string)
}

// as returns a context whose calls authenticate as the named principal;
// "" sends no credentials.
func as(actor string) context.Context {
	ctx := context.Background()
	if actor == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+bearer(actor))
}

// admin returns a context acting as the server's bootstrap admin key.
func (e *env) admin() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.app.BootstrapKey())
}

// issueKey registers an API key for a staff member or partner.
func (e *env) issueKey(spec auth.KeySpec, name string) {
	e.t.Helper()
	err := e.app.DB().InTx(context.Background(), func(tx *gorm.DB) error {
		_, key, err := auth.IssueKey(tx, e.clock.Now(), spec)
		credentials.Store(name, key)
		return err
	})
	require.NoError(e.t, err)
}

// login registers a customer token for customer, whose external id is
// the token's subject.
func (e *env) login(c *aftersalesv1.Customer) {
	e.t.Helper()
	tok, err := token.Mint(token.MintConfig{Issuer: testIssuer, Audience: testAudience, Secret: testSecret,
		Subject: c.GetExternalId(), TTL: 1000 * time.Hour, Now: e.clock.Now})
	require.NoError(e.t, err)
	credentials.Store(c.GetName(), tok)
}

// httpResult is a JSON gateway response.
type httpResult struct {
	status      int
	contentType string
	body        map[string]any
	raw         []byte
}

// do sends a JSON request to the gateway, acting as actor.
func (e *env) do(method, path, actor string, body any) httpResult {
	e.t.Helper()
	return e.doWith(method, path, actor, body, nil)
}

// doWith is do with extra request headers.
func (e *env) doWith(method, path, actor string, body any, header http.Header) httpResult {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = bytes.NewBufferString(b)
		default:
			raw, err := json.Marshal(b)
			require.NoError(e.t, err)
			rd = bytes.NewReader(raw)
		}
	}
	req, err := http.NewRequest(method, e.baseURL+path, rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	if actor != "" {
		req.Header.Set("Authorization", "Bearer "+bearer(actor))
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	r := httpResult{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(e.t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

// reason returns the ErrorInfo reason of a google.rpc.Status JSON body.
func (r httpResult) reason() string {
	details, _ := r.body["details"].([]any)
	for _, d := range details {
		m, _ := d.(map[string]any)
		if m["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			s, _ := m["reason"].(string)
			return s
		}
	}
	return ""
}

// requireCode asserts a gRPC error's code and ErrorInfo reason.
func requireCode(t *testing.T, err error, code codes.Code, reason aftersalesv1.ErrorReason) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code.String(), status.Code(err).String(), "error: %v", err)
	require.Equal(t, reason.String(), apierr.Reason(err).String(), "error: %v", err)
}

// requireHTTP asserts a gateway error's HTTP status, gRPC code and reason.
func requireHTTP(t *testing.T, r httpResult, httpStatus int, code codes.Code, reason aftersalesv1.ErrorReason) {
	t.Helper()
	require.Equal(t, httpStatus, r.status, string(r.raw))
	require.EqualValues(t, code, r.body["code"], string(r.raw))
	require.NotEmpty(t, r.body["message"], string(r.raw))
	require.Equal(t, reason.String(), r.reason(), string(r.raw))
}

// fixture is the cast of a typical service case.
type fixture struct {
	agent, manager, technician, partnerTech *aftersalesv1.Staff
	partner                                 *aftersalesv1.Partner
	customer                                *aftersalesv1.Customer
	inWarranty, outOfWarranty               *aftersalesv1.Product
}

// seed registers the cast through the public API.
func (e *env) seed() *fixture {
	t := e.t
	t.Helper()
	ctx := e.admin()
	f := &fixture{}
	var err error
	f.manager, err = e.staff.CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Mia Manager", Role: aftersalesv1.Staff_MANAGER, Team: "east"}})
	require.NoError(t, err)
	f.agent, err = e.staff.CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Ann Agent", Role: aftersalesv1.Staff_AGENT, Team: "east", Manager: f.manager.GetName()}})
	require.NoError(t, err)
	f.technician, err = e.staff.CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Tom Tech", Role: aftersalesv1.Staff_TECHNICIAN, Team: "east", Manager: f.manager.GetName()}})
	require.NoError(t, err)
	f.partner, err = e.partners.CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Fix-It Shop", Region: "Pudong"}})
	require.NoError(t, err)
	f.partnerTech, err = e.staff.CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Pat Partner", Role: aftersalesv1.Staff_TECHNICIAN, Partner: f.partner.GetName()}})
	require.NoError(t, err)
	f.customer, err = e.customers.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{
		DisplayName: "Chen Wei", Phone: "+8613800138000", ExternalId: "login-" + ids.New(),
	}})
	require.NoError(t, err)
	for _, st := range []*aftersalesv1.Staff{f.manager, f.agent, f.technician, f.partnerTech} {
		id, _ := resname.ID(st.GetName(), resname.Staff)
		e.issueKey(auth.KeySpec{DisplayName: st.GetDisplayName(), StaffID: id}, st.GetName())
	}
	pid, _ := resname.ID(f.partner.GetName(), resname.Partners)
	e.issueKey(auth.KeySpec{DisplayName: "shop key", PartnerID: pid}, f.partner.GetName())
	e.login(f.customer)
	now := e.clock.Now()
	f.inWarranty, err = e.customers.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{
		Model: "WM-8000", SerialNumber: "SN-IN-" + now.Format("150405.000000"), WarrantyEndTime: timestamp(now.AddDate(1, 0, 0)),
	}})
	require.NoError(t, err)
	f.outOfWarranty, err = e.customers.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{
		Model: "WM-7000", SerialNumber: "SN-OUT-" + now.Format("150405.000000"), WarrantyEndTime: timestamp(now.AddDate(-1, 0, 0)),
	}})
	require.NoError(t, err)
	return f
}

// newTicket opens a ticket for the fixture's customer as the agent.
func (e *env) newTicket(f *fixture, product *aftersalesv1.Product) *aftersalesv1.Ticket {
	e.t.Helper()
	tk, err := e.tickets.CreateTicket(as(f.agent.GetName()), &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
		Customer: f.customer.GetName(), Product: product.GetName(), Type: aftersalesv1.Ticket_REPAIR,
		Channel: aftersalesv1.Ticket_PHONE, Title: "Washer leaks",
	}})
	require.NoError(e.t, err)
	return tk
}

func timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
