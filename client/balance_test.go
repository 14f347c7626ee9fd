package client_test

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/dns/dnsmessage"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	"github.com/aftersales/aftersales/client"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// replica is one of several servers behind one DNS name: its own ticket
// server (which records the calls it gets) and health server.
type replica struct {
	addr   string
	srv    *ticketServer
	health *health.Server
}

// serveReplicas starts one gRPC server on each of ips, all on the same
// port, as the pods behind a Kubernetes headless Service are (one A record
// each, one container port). Every 127.0.0.0/8 address is loopback on
// Linux. It returns the replicas and the port.
func serveReplicas(t *testing.T, ips ...string) ([]*replica, int) {
	t.Helper()
	first, err := net.Listen("tcp", net.JoinHostPort(ips[0], "0"))
	require.NoError(t, err)
	port := first.Addr().(*net.TCPAddr).Port
	var out []*replica
	for i, ip := range ips {
		lis := first
		if i > 0 {
			lis, err = net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			require.NoError(t, err)
		}
		r := &replica{addr: lis.Addr().String(), srv: &ticketServer{}, health: health.NewServer()}
		s := grpc.NewServer()
		aftersalesv1.RegisterTicketServiceServer(s, r.srv)
		healthpb.RegisterHealthServer(s, r.health)
		go func() { _ = s.Serve(lis) }()
		t.Cleanup(s.Stop)
		out = append(out, r)
	}
	return out, port
}

// serveDNS answers A queries for name with ips over UDP on loopback and
// returns its address: a real DNS server for gRPC's dns resolver, which
// takes one as the target's authority ("dns://127.0.0.1:5353/name:port").
// Every other query (AAAA, the resolver's _grpc_config TXT) gets an empty
// answer.
func serveDNS(t *testing.T, name string, ips ...string) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = pc.Close() })
	fqdn := dnsmessage.MustNewName(name + ".")
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return // closed
			}
			var req dnsmessage.Message
			if err := req.Unpack(buf[:n]); err != nil || len(req.Questions) != 1 {
				continue
			}
			q := req.Questions[0]
			resp := dnsmessage.Message{
				Header:    dnsmessage.Header{ID: req.ID, Response: true, Authoritative: true, RecursionAvailable: true},
				Questions: req.Questions,
			}
			if q.Type == dnsmessage.TypeA && strings.EqualFold(q.Name.String(), fqdn.String()) {
				for _, ip := range ips {
					resp.Answers = append(resp.Answers, dnsmessage.Resource{
						Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 5},
						Body:   &dnsmessage.AResource{A: netip.MustParseAddr(ip).As4()},
					})
				}
			}
			out, err := resp.Pack()
			if err != nil {
				continue
			}
			_, _ = pc.WriteTo(out, from)
		}
	}()
	return pc.LocalAddr().String()
}

// callsUntilAllServed makes GetTicket calls until every replica in want
// has answered at least one, so that the client has connected to each of
// them; the context bounds it.
func callsUntilAllServed(ctx context.Context, t *testing.T, c *client.Client, want []*replica) {
	t.Helper()
	for {
		done := true
		for _, r := range want {
			if len(r.srv.callsOf("GetTicket")) == 0 {
				done = false
			}
		}
		if done {
			return
		}
		_, err := c.Tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/warm-up"})
		require.NoError(t, err)
	}
}

// counts returns how many GetTicket calls each replica got for name.
func counts(replicas []*replica, name string) []int {
	out := make([]int, len(replicas))
	for i, r := range replicas {
		for _, c := range r.srv.callsOf("GetTicket") {
			if c.req.(*aftersalesv1.GetTicketRequest).GetName() == name {
				out[i]++
			}
		}
	}
	return out
}

// TestRoundRobinOverDNS resolves one name to three servers through a real
// DNS server and gRPC's dns resolver, as a client does with a Kubernetes
// headless Service, and shows the client's calls spread evenly over all
// of them rather than all going to the first (gRPC's default,
// pick_first).
func TestRoundRobinOverDNS(t *testing.T) {
	replicas, port := serveReplicas(t, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	dns := serveDNS(t, "aftersales-grpc.test", "127.0.0.1", "127.0.0.2", "127.0.0.3")
	c := dial(t, "dns://"+dns+"/aftersales-grpc.test:"+strconv.Itoa(port))

	ctx := ctxTimeout(t)
	callsUntilAllServed(ctx, t, c, replicas)

	// Once every connection is ready, round_robin takes them in turn.
	const perReplica = 10
	for range perReplica * len(replicas) {
		_, err := c.Tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
		require.NoError(t, err)
	}
	require.Equal(t, []int{perReplica, perReplica, perReplica}, counts(replicas, "tickets/a"))
}

// TestNotServingReplicaSkipped shows the client's health checking: a
// replica whose health service says NOT_SERVING, as a server does from
// the moment it starts shutting down, gets no calls; once it serves
// again, it gets its share.
func TestNotServingReplicaSkipped(t *testing.T) {
	replicas, port := serveReplicas(t, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	draining := replicas[2]
	draining.health.Shutdown() // every service NOT_SERVING, before the client connects
	dns := serveDNS(t, "aftersales-grpc.test", "127.0.0.1", "127.0.0.2", "127.0.0.3")
	c := dial(t, "dns://"+dns+"/aftersales-grpc.test:"+strconv.Itoa(port))

	ctx := ctxTimeout(t)
	callsUntilAllServed(ctx, t, c, replicas[:2])
	for range 20 {
		_, err := c.Tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
		require.NoError(t, err)
	}
	// Not an exact 10/10: the third connection's state changes (ready,
	// then not serving) may reset the rotation in the meantime.
	got := counts(replicas, "tickets/a")
	require.Positive(t, got[0], "%v", got)
	require.Positive(t, got[1], "%v", got)
	require.Empty(t, draining.srv.callsOf("GetTicket"), "no call reached the replica that is not serving")

	// Serving again: the client's health watch sees it and puts the
	// replica back; the context bounds the wait.
	draining.health.Resume()
	callsUntilAllServed(ctx, t, c, replicas)
}

// TestRoundRobinManualResolver is the same spread with addresses handed
// to the client directly (any resolver, here grpc's manual one, given
// through WithDialOptions), for hosts whose 127.0.0.0/8 is not all
// loopback.
func TestRoundRobinManualResolver(t *testing.T) {
	var replicas []*replica
	for range 3 {
		rs, _ := serveReplicas(t, "127.0.0.1")
		replicas = append(replicas, rs[0])
	}
	r := newManualResolver(replicas)
	c := dial(t, r.Scheme()+":///aftersales", client.WithDialOptions(grpc.WithResolvers(r)))

	ctx := ctxTimeout(t)
	callsUntilAllServed(ctx, t, c, replicas)
	for range 30 {
		_, err := c.Tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "tickets/a"})
		require.NoError(t, err)
	}
	require.Equal(t, []int{10, 10, 10}, counts(replicas, "tickets/a"))
}

// newManualResolver returns a resolver that names the replicas' addresses.
func newManualResolver(replicas []*replica) *manual.Resolver {
	r := manual.NewBuilderWithScheme("replicas")
	var state resolver.State
	for _, rep := range replicas {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: rep.addr})
	}
	r.InitialState(state)
	return r
}

// TestServiceConfigBalances checks the service config itself, so that a
// change dropping round_robin fails here by name.
func TestServiceConfigBalances(t *testing.T) {
	sc, err := client.ServiceConfig()
	require.NoError(t, err)
	require.Contains(t, sc, `"loadBalancingConfig":[{"round_robin":{}}]`)
	require.Contains(t, sc, `"healthCheckConfig":{"serviceName":""}`)
	require.NotContains(t, sc, "pick_first")
}
