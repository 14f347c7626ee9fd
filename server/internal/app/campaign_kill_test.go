package app_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// childEnv, when set, makes the test binary a server process: see
// TestMain and startChild.
const childEnv = "AFTERSALES_TEST_CHILD_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(serveChild())
	}
	os.Exit(m.Run())
}

// serveChild runs a server configured from AFTERSALES_* variables, as
// main does, and prints its gRPC address and bootstrap key (empty when
// keys exist) for the parent test. It returns only if the server stops;
// the parent kills it.
func serveChild() int {
	cfg, err := config.Load(nil, os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx := context.Background()
	a, err := app.New(ctx, cfg, app.NewLogger(os.Stderr, cfg))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	fmt.Printf("GRPC=%s\nKEY=%s\n", a.GRPCAddr(), a.BootstrapKey())
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// child is a server process started by startChild.
type child struct {
	cmd  *exec.Cmd
	conn *grpc.ClientConn
	key  string
}

// startChild starts this test binary as a server on url with the given
// extra AFTERSALES_* settings, and connects to it.
func startChild(t *testing.T, url string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1",
		"AFTERSALES_DATABASE_URL="+url, "AFTERSALES_GRPC_ADDR=127.0.0.1:0", "AFTERSALES_HTTP_ADDR=127.0.0.1:0",
		"AFTERSALES_LOG_LEVEL=warn", "AFTERSALES_RATE_LIMIT=0")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := &child{cmd: cmd}
	lines := bufio.NewScanner(out)
	var addr string
	for lines.Scan() {
		k, v, _ := strings.Cut(lines.Text(), "=")
		switch k {
		case "GRPC":
			addr = v
		case "KEY":
			c.key = v
		}
		if k == "KEY" {
			break
		}
	}
	require.NotEmpty(t, addr, "the child printed its address")
	c.conn, err = grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.conn.Close() })
	return c
}

// TestCampaignLaunchSurvivesKill launches a recall on one server process,
// kills it (SIGKILL: no shutdown, a batch possibly in the middle of its
// transaction, its lease left to lapse) once it has reached some of the
// products, and starts a second process on the same database, which
// finishes the launch. Every product of the target then has exactly one
// target and one ticket, and no other product has any.
func TestCampaignLaunchSurvivesKill(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) { testCampaignLaunchSurvivesKill(t, dialect) })
	}
}

func testCampaignLaunchSurvivesKill(t *testing.T, dialect string) {
	const products, batch = 120, 4
	url := storetest.URL(t, dialect)
	pace := []string{fmt.Sprintf("AFTERSALES_CAMPAIGN_BATCH=%d", batch), "AFTERSALES_CAMPAIGN_INTERVAL=100ms"}
	a := startChild(t, url, pace...)
	require.NotEmpty(t, a.key, "a fresh database: the bootstrap key")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.key)

	// A manager to own the recall, and the products: `products` of model
	// KX-1 and a few of another model.
	staff := aftersalesv1.NewStaffServiceClient(a.conn)
	mgr, err := staff.CreateStaff(admin, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{
		DisplayName: "Quality manager", Role: aftersalesv1.Staff_MANAGER, Team: "quality",
	}})
	require.NoError(t, err)
	customers := aftersalesv1.NewCustomerServiceClient(a.conn)
	cust, err := customers.CreateCustomer(admin, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Fleet owner", Phone: "+8613800000001"}})
	require.NoError(t, err)
	model := func(i int) string {
		if i < products {
			return "KX-1"
		}
		return "KX-2"
	}
	for i := range products + 5 {
		_, err := customers.CreateProduct(admin, &aftersalesv1.CreateProductRequest{Parent: cust.GetName(), Product: &aftersalesv1.Product{
			Model: model(i), SerialNumber: fmt.Sprintf("KX-%04d", i),
		}})
		require.NoError(t, err)
	}

	campaigns := func(c *child) aftersalesv1.CampaignServiceClient {
		return aftersalesv1.NewCampaignServiceClient(c.conn)
	}
	camp, err := campaigns(a).CreateCampaign(admin, &aftersalesv1.CreateCampaignRequest{Campaign: &aftersalesv1.Campaign{
		DisplayName: "KX-1 valve recall", Type: aftersalesv1.Campaign_RECALL, Owner: mgr.GetName(),
		Target: &aftersalesv1.TargetCriteria{Models: []string{"KX-1"}},
	}})
	require.NoError(t, err)
	_, err = campaigns(a).LaunchCampaign(admin, &aftersalesv1.LaunchCampaignRequest{Name: camp.GetName()})
	require.NoError(t, err)

	// Kill a once it has reached a few batches.
	var atKill int64
	require.Eventually(t, func() bool {
		c, err := campaigns(a).GetCampaign(admin, &aftersalesv1.GetCampaignRequest{Name: camp.GetName()})
		require.NoError(t, err)
		atKill = c.GetProgress().GetTargeted()
		return atKill >= 3*batch
	}, time.Minute, 5*time.Millisecond)
	require.NoError(t, a.cmd.Process.Kill())
	_ = a.cmd.Wait()
	require.Less(t, atKill, int64(products), "killed mid-launch")
	t.Logf("killed after %d of %d products", atKill, products)

	b := startChild(t, url, pace...)
	var done *aftersalesv1.Campaign
	require.Eventually(t, func() bool {
		done, err = campaigns(b).GetCampaign(admin, &aftersalesv1.GetCampaignRequest{Name: camp.GetName()})
		require.NoError(t, err)
		return done.GetState() == aftersalesv1.Campaign_ACTIVE
	}, time.Minute, 20*time.Millisecond, "b finishes the launch")
	require.EqualValues(t, products, done.GetProgress().GetTargeted())
	require.EqualValues(t, products, done.GetProgress().GetTicketOpened())

	// One target and one ticket per KX-1 product, none for KX-2.
	seen := map[string]bool{}
	req := &aftersalesv1.ListCampaignTargetsRequest{Parent: camp.GetName(), PageSize: 50}
	for {
		page, err := campaigns(b).ListCampaignTargets(admin, req)
		require.NoError(t, err)
		for _, tg := range page.GetTargets() {
			require.False(t, seen[tg.GetProduct()], "%s reached twice", tg.GetSerialNumber())
			seen[tg.GetProduct()] = true
			require.Equal(t, "KX-1", tg.GetModel())
			require.NotEmpty(t, tg.GetTicket())
		}
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	require.Len(t, seen, products)
	tickets := map[string]int{}
	treq := &aftersalesv1.ListTicketsRequest{Filter: `campaign = "` + camp.GetName() + `"`, PageSize: 50}
	for {
		page, err := aftersalesv1.NewTicketServiceClient(b.conn).ListTickets(admin, treq)
		require.NoError(t, err)
		for _, tk := range page.GetTickets() {
			tickets[tk.GetProduct()]++
		}
		if treq.PageToken = page.GetNextPageToken(); treq.PageToken == "" {
			break
		}
	}
	require.Len(t, tickets, products)
	for p, n := range tickets {
		require.Equal(t, 1, n, "tickets of %s", p)
		require.True(t, seen[p])
	}
}
