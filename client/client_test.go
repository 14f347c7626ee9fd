package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
)

// ticketServer is a test double of the TicketService server, only to
// exercise the client's mechanics (the real server is tested end to end
// elsewhere). It records every call it receives and answers from hooks.
type ticketServer struct {
	aftersalesv1.UnimplementedTicketServiceServer

	// acceptErr, when set, gives the error of the n-th (from 0)
	// AcceptTicket attempt; nil means success.
	acceptErr func(n int) error
	// tickets is what ListTickets serves, pageSize per page.
	tickets  []*aftersalesv1.Ticket
	pageSize int
	// listErrAt, when > 0, makes the ListTickets call for that page
	// (from 1) fail with INTERNAL.
	listErrAt int

	mu    sync.Mutex
	calls []call
}

// call is one request as the server saw it.
type call struct {
	method string
	req    proto.Message
	md     metadata.MD
}

func (s *ticketServer) record(ctx context.Context, method string, req proto.Message) int {
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if c.method == method {
			n++
		}
	}
	s.calls = append(s.calls, call{method: method, req: proto.Clone(req), md: md})
	return n
}

func (s *ticketServer) callsOf(method string) []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []call
	for _, c := range s.calls {
		if c.method == method {
			out = append(out, c)
		}
	}
	return out
}

func (s *ticketServer) AcceptTicket(ctx context.Context, req *aftersalesv1.AcceptTicketRequest) (*aftersalesv1.Ticket, error) {
	n := s.record(ctx, "AcceptTicket", req)
	if s.acceptErr != nil {
		if err := s.acceptErr(n); err != nil {
			return nil, err
		}
	}
	return &aftersalesv1.Ticket{Name: req.GetName(), State: aftersalesv1.Ticket_ACCEPTED}, nil
}

func (s *ticketServer) GetTicket(ctx context.Context, req *aftersalesv1.GetTicketRequest) (*aftersalesv1.Ticket, error) {
	s.record(ctx, "GetTicket", req)
	return &aftersalesv1.Ticket{Name: req.GetName()}, nil
}

// ListTickets pages through s.tickets; the page token is the page number
// (from 1) as a single byte-string, enough for a test.
func (s *ticketServer) ListTickets(ctx context.Context, req *aftersalesv1.ListTicketsRequest) (*aftersalesv1.ListTicketsResponse, error) {
	s.record(ctx, "ListTickets", req)
	page := 1
	if req.GetPageToken() != "" {
		page = int(req.GetPageToken()[0] - '0')
	}
	if page == s.listErrAt {
		return nil, status.Error(codes.Internal, "page broke")
	}
	start := (page - 1) * s.pageSize
	end := min(start+s.pageSize, len(s.tickets))
	resp := &aftersalesv1.ListTicketsResponse{Tickets: s.tickets[start:end]}
	if end < len(s.tickets) {
		resp.NextPageToken = string(rune('0' + page + 1))
	}
	return resp, nil
}

// serve starts srv on a loopback port and returns its address.
func serve(t *testing.T, srv aftersalesv1.TicketServiceServer, opts ...grpc.ServerOption) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := grpc.NewServer(opts...)
	aftersalesv1.RegisterTicketServiceServer(s, srv)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

// dial returns a plaintext client of addr, closed when the test ends.
func dial(t *testing.T, addr string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(t.Context(), addr, append([]client.Option{client.WithInsecure()}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestRequestIDFilledWhenEmpty(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv))

	req := &aftersalesv1.AcceptTicketRequest{Name: "tickets/a"}
	_, err := c.Tickets.AcceptTicket(ctxTimeout(t), req)
	require.NoError(t, err)

	calls := srv.callsOf("AcceptTicket")
	require.Len(t, calls, 1)
	got := calls[0].req.(*aftersalesv1.AcceptTicketRequest).GetRequestId()
	_, err = uuid.Parse(got)
	require.NoError(t, err, "request_id %q is not a UUID", got)
	require.Equal(t, got, req.GetRequestId(), "the caller's message shows the id sent")

	// A second message of the same type gets its own id.
	req2 := &aftersalesv1.AcceptTicketRequest{Name: "tickets/b"}
	_, err = c.Tickets.AcceptTicket(ctxTimeout(t), req2)
	require.NoError(t, err)
	require.NotEqual(t, req.GetRequestId(), req2.GetRequestId())
}

func TestRequestIDKeptWhenSet(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv))

	req := &aftersalesv1.AcceptTicketRequest{Name: "tickets/a", RequestId: "my-id"}
	_, err := c.Tickets.AcceptTicket(ctxTimeout(t), req)
	require.NoError(t, err)

	calls := srv.callsOf("AcceptTicket")
	require.Len(t, calls, 1)
	require.Equal(t, "my-id", calls[0].req.(*aftersalesv1.AcceptTicketRequest).GetRequestId())
}

func TestRequestWithoutRequestIDField(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv))

	got, err := c.Tickets.GetTicket(ctxTimeout(t), &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)
	require.Equal(t, "tickets/a", got.GetName())
}

func TestRetryReusesRequestID(t *testing.T) {
	srv := &ticketServer{acceptErr: func(n int) error {
		if n == 0 {
			return status.Error(codes.Unavailable, "try again")
		}
		return nil
	}}
	c := dial(t, serve(t, srv))

	got, err := c.Tickets.AcceptTicket(ctxTimeout(t), &aftersalesv1.AcceptTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.Ticket_ACCEPTED, got.GetState())

	calls := srv.callsOf("AcceptTicket")
	require.Len(t, calls, 2)
	first := calls[0].req.(*aftersalesv1.AcceptTicketRequest).GetRequestId()
	require.NotEmpty(t, first)
	require.Equal(t, first, calls[1].req.(*aftersalesv1.AcceptTicketRequest).GetRequestId())
}

func TestRetryGivesUpAfterFourAttempts(t *testing.T) {
	srv := &ticketServer{acceptErr: func(int) error {
		return status.Error(codes.Unavailable, "down")
	}}
	c := dial(t, serve(t, srv))

	_, err := c.Tickets.AcceptTicket(ctxTimeout(t), &aftersalesv1.AcceptTicketRequest{Name: "tickets/a"})
	require.Equal(t, codes.Unavailable, status.Code(err))
	require.Len(t, srv.callsOf("AcceptTicket"), 4)
}

func TestNonRetryableCodesNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"FailedPrecondition", apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", "tickets/a", "ticket is NEW")},
		{"Aborted", status.Error(codes.Aborted, "stale etag")},
		{"Internal", status.Error(codes.Internal, "boom")},
		{"DeadlineExceeded", status.Error(codes.DeadlineExceeded, "slow")},
		{"ResourceExhausted", status.Error(codes.ResourceExhausted, "slow down")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &ticketServer{acceptErr: func(int) error { return tc.err }}
			c := dial(t, serve(t, srv))

			_, err := c.Tickets.AcceptTicket(ctxTimeout(t), &aftersalesv1.AcceptTicketRequest{Name: "tickets/a"})
			require.Equal(t, status.Code(tc.err), status.Code(err))
			require.Len(t, srv.callsOf("AcceptTicket"), 1)
		})
	}
}

func TestErrorReasonReachesCaller(t *testing.T) {
	srv := &ticketServer{acceptErr: func(int) error {
		return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", "tickets/a", "ticket is NEW")
	}}
	c := dial(t, serve(t, srv))

	_, err := c.Tickets.AcceptTicket(ctxTimeout(t), &aftersalesv1.AcceptTicketRequest{Name: "tickets/a"})
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, apierr.Reason(err))
}

func TestMetadataArrives(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv),
		client.WithBearerToken("s3cret"),
		client.WithOnBehalfOf("staff/p1"),
		client.WithUserAgent("acme-repair/1.4"),
	)

	_, err := c.Tickets.GetTicket(ctxTimeout(t), &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)

	md := srv.callsOf("GetTicket")[0].md
	require.Equal(t, []string{"Bearer s3cret"}, md.Get("authorization"))
	require.Equal(t, []string{"staff/p1"}, md.Get(client.OnBehalfOfHeader))
	ua := strings.Join(md.Get("user-agent"), " ")
	require.True(t, strings.HasPrefix(ua, "acme-repair/1.4 aftersales-go-client"), "user agent %q", ua)
}

func TestActorOverriddenPerCall(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv), client.WithOnBehalfOf("staff/p1"))

	ctx := metadata.AppendToOutgoingContext(ctxTimeout(t), client.OnBehalfOfHeader, "staff/s1")
	_, err := c.Tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)

	require.Equal(t, []string{"staff/s1"}, srv.callsOf("GetTicket")[0].md.Get(client.OnBehalfOfHeader))
}

func TestNoIdentityByDefault(t *testing.T) {
	srv := &ticketServer{}
	c := dial(t, serve(t, srv))

	_, err := c.Tickets.GetTicket(ctxTimeout(t), &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)

	md := srv.callsOf("GetTicket")[0].md
	require.Empty(t, md.Get("authorization"))
	require.Empty(t, md.Get(client.OnBehalfOfHeader))
}

// Without WithInsecure the client speaks TLS, so a bearer token is never
// sent to a plaintext server: the TLS handshake fails first.
func TestBearerTokenNeverSentOverPlaintext(t *testing.T) {
	srv := &ticketServer{}
	addr := serve(t, srv)
	c, err := client.New(t.Context(), addr, client.WithBearerToken("s3cret"))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })

	_, err = c.Tickets.GetTicket(ctxTimeout(t), &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.Equal(t, codes.Unavailable, status.Code(err), "error: %v", err)
	require.Empty(t, srv.callsOf("GetTicket"))
}

// Forcing plaintext through raw dial options, rather than WithInsecure, is
// refused by gRPC because the token requires transport security.
func TestBearerTokenWithRawInsecureDialOptionRefused(t *testing.T) {
	_, err := client.New(t.Context(), "127.0.0.1:1",
		client.WithBearerToken("s3cret"),
		client.WithDialOptions(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	require.ErrorContains(t, err, "transport level security")
}

func TestBearerTokenOverTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	srv := &ticketServer{}
	addr := serve(t, srv, grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	c, err := client.New(t.Context(), addr,
		client.WithTLS(&tls.Config{RootCAs: pool}),
		client.WithBearerToken("s3cret"),
	)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })

	_, err = c.Tickets.GetTicket(ctxTimeout(t), &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
	require.NoError(t, err)
	require.Equal(t, []string{"Bearer s3cret"}, srv.callsOf("GetTicket")[0].md.Get("authorization"))
}

func TestInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []client.Option
		want string
	}{
		{"TLSAndInsecure", []client.Option{client.WithTLS(nil), client.WithInsecure()}, "cannot be combined"},
		{"EmptyToken", []client.Option{client.WithBearerToken("")}, "empty token"},
		{"BadActor", []client.Option{client.WithOnBehalfOf("bob")}, `"bob" is not`},
		{"ActorWithoutID", []client.Option{client.WithOnBehalfOf("staff/")}, "is not"},
		{"PartnerActor", []client.Option{client.WithOnBehalfOf("partners/p1")}, "is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.New(t.Context(), "127.0.0.1:1", tc.opts...)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestActorKinds(t *testing.T) {
	for _, actor := range []string{"staff/s1"} {
		c, err := client.New(t.Context(), "127.0.0.1:1", client.WithInsecure(), client.WithOnBehalfOf(actor))
		require.NoError(t, err, actor)
		require.NoError(t, c.Close())
	}
}

func TestRetriedServices(t *testing.T) {
	sc, err := client.ServiceConfig()
	require.NoError(t, err)
	for _, svc := range []string{"CustomerService", "PartnerService", "StaffService", "TicketService"} {
		require.Contains(t, sc, `{"service":"aftersales.v1.`+svc+`"}`)
	}
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
