package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// cmdManager prints the seeded manager's resource name: the one who
// creates and launches the benchmark's campaign.
func cmdManager(args []string) error {
	var f dbFlags
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := f.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	var id string
	if err := db.QueryRow("SELECT id FROM staff WHERE role = ? AND active ORDER BY id LIMIT 1", roleManager).Scan(&id); err != nil {
		return fmt.Errorf("the seeded manager: %w", err)
	}
	fmt.Println("staff/" + id)
	return nil
}

// latencies are one phase's CreateTicket calls.
type latencies struct {
	lat  []time.Duration
	errs map[string]int
}

func (l *latencies) line() string {
	slices.Sort(l.lat)
	var e []string
	for k, n := range l.errs {
		e = append(e, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(e)
	errs := "0"
	if len(e) > 0 {
		errs = strings.Join(e, " ")
	}
	return fmt.Sprintf("%6d calls  p50 %7.2f ms  p99 %8.2f ms  max %8.2f ms  errors %s",
		len(l.lat), ms(pct(l.lat, 50)), ms(pct(l.lat, 99)), ms(pct(l.lat, 100)), errs)
}

// cmdCampaign measures a campaign launch (scripts/bench-campaign.sh): a
// RECALL over the given models is created, previewed and launched with
// the manager's key, and its progress polled until the worker has
// reached every product (state ACTIVE), while agents create tickets at a
// fixed rate, open loop, before and during the launch.
func cmdCampaign(args []string) error {
	var (
		f          runFlags
		managerKey string
		models     string
		baseline   time.Duration
		timeout    time.Duration
	)
	fs := flag.NewFlagSet("campaign", flag.ContinueOnError)
	f.db.register(fs)
	fs.StringVar(&f.grpcAddr, "grpc", "", "server gRPC address")
	fs.StringVar(&f.keysFile, "keys", "", "file of agent API keys, one per line (the CreateTicket load)")
	fs.StringVar(&managerKey, "manager-key", "", "the manager's API key (creates and launches the campaign)")
	fs.StringVar(&models, "models", "WM-8000,RF-300", "comma-separated models the recall targets")
	fs.Float64Var(&f.rate, "rate", 100, "CreateTicket calls per second, open loop, before and during the launch")
	fs.IntVar(&f.conc, "c", 16, "gRPC connections of the CreateTicket load")
	fs.DurationVar(&baseline, "baseline", 20*time.Second, "CreateTicket alone before the launch")
	fs.DurationVar(&timeout, "timeout", 30*time.Minute, "give up when the launch takes longer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	keys, err := readKeys(f.keysFile)
	if err != nil {
		return err
	}
	ctx := context.Background()
	e, err := newEnv(ctx, &f, keys)
	if err != nil {
		return err
	}
	defer e.close()
	sc, err := e.scenario("create-grpc")
	if err != nil {
		return err
	}
	var products, tickets int64
	if err := e.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM products").Scan(&products); err != nil {
		return err
	}
	if err := e.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM tickets").Scan(&tickets); err != nil {
		return err
	}

	conn, err := e.conn(f.conc) // a connection of its own, apart from the load's
	if err != nil {
		return err
	}
	campaigns := aftersalesv1.NewCampaignServiceClient(conn)
	mctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+managerKey)

	// The load: one open loop over the whole run; each call is filed
	// under the phase in which it was scheduled.
	var (
		mu     sync.Mutex
		phase  = "before"
		phases = map[string]*latencies{"before": {errs: map[string]int{}}, "during": {errs: map[string]int{}}, "after": {errs: map[string]int{}}}
	)
	setPhase := func(p string) { mu.Lock(); phase = p; mu.Unlock() }
	stop := make(chan struct{})
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		ops := make([]op, f.conc)
		for i := range ops {
			ops[i] = sc.newOp(i)
		}
		interval := time.Duration(float64(time.Second) / f.rate)
		var wg sync.WaitGroup
		start := time.Now()
		for i := 0; ; i++ {
			sched := start.Add(time.Duration(i) * interval)
			select {
			case <-stop:
				wg.Wait()
				return
			case <-time.After(time.Until(sched)):
			}
			mu.Lock()
			p := phases[phase]
			mu.Unlock()
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, err := ops[i%len(ops)](ctx)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					p.errs[status.Code(err).String()]++
					return
				}
				p.lat = append(p.lat, time.Since(sched))
			}(i)
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-loadDone
	}()
	time.Sleep(baseline)

	c, err := campaigns.CreateCampaign(mctx, &aftersalesv1.CreateCampaignRequest{RequestId: e.requestID(), Campaign: &aftersalesv1.Campaign{
		DisplayName:  "Benchmark recall: door seal",
		Description:  "The door seal of these units may leak; a technician replaces it free of charge.",
		Type:         aftersalesv1.Campaign_RECALL,
		FreeOfCharge: true,
		Target:       &aftersalesv1.TargetCriteria{Models: strings.Split(models, ",")},
	}})
	if err != nil {
		return fmt.Errorf("CreateCampaign: %w", err)
	}
	t0 := time.Now()
	pv, err := campaigns.PreviewCampaign(mctx, &aftersalesv1.PreviewCampaignRequest{Name: c.GetName()})
	if err != nil {
		return fmt.Errorf("PreviewCampaign: %w", err)
	}
	previewTook := time.Since(t0)

	setPhase("during")
	launchStart := time.Now()
	c, err = campaigns.LaunchCampaign(mctx, &aftersalesv1.LaunchCampaignRequest{
		Name: c.GetName(), ConfirmedTargetCount: pv.GetTargetCount(), RequestId: e.requestID(),
	})
	if err != nil {
		return fmt.Errorf("LaunchCampaign: %w", err)
	}
	fmt.Printf("campaign %s: %d products match (preview %.0f ms), launched\n", c.GetName(), pv.GetTargetCount(), ms(previewTook))
	fmt.Println("  s  targeted  products/s in the second")
	var last int64
	lastAt := launchStart
	for c.GetState() != aftersalesv1.Campaign_ACTIVE {
		if time.Since(launchStart) > timeout {
			return fmt.Errorf("launch not done after %s: %d of %d products", timeout, c.GetProgress().GetTargeted(), pv.GetTargetCount())
		}
		time.Sleep(time.Second)
		c, err = campaigns.GetCampaign(mctx, &aftersalesv1.GetCampaignRequest{Name: c.GetName()})
		if err != nil {
			return fmt.Errorf("GetCampaign: %w", err)
		}
		now := time.Now()
		n := c.GetProgress().GetTargeted()
		fmt.Printf("%3.0f  %8d  %8.0f\n", now.Sub(launchStart).Seconds(), n, float64(n-last)/now.Sub(lastAt).Seconds())
		last, lastAt = n, now
	}
	// The worker's own end time, not the poll's: LAUNCHING → ACTIVE.
	took := c.GetLaunchedTime().AsTime().Sub(c.GetLaunchTime().AsTime())
	setPhase("after")
	time.Sleep(baseline / 2)
	close(stop)
	<-loadDone

	var rows, distinct int64
	if err := e.db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT product_id) FROM tickets WHERE campaign_id = ?",
		strings.TrimPrefix(c.GetName(), "campaigns/")).Scan(&rows, &distinct); err != nil {
		return err
	}
	fmt.Println()
	fmt.Printf("Data: %d products, %d tickets at the start; the recall targets models %s\n", products, tickets, models)
	fmt.Printf("Launch: %d products reached in %.1f s = %.0f products/s (one ticket and one target each); tickets of the campaign: %d for %d distinct products\n",
		c.GetProgress().GetTargeted(), took.Seconds(), float64(c.GetProgress().GetTargeted())/took.Seconds(), rows, distinct)
	fmt.Printf("CreateTicket at %.0f/s open loop over %d connections (latency from the scheduled start):\n", f.rate, f.conc)
	for _, p := range []string{"before", "during", "after"} {
		fmt.Printf("  %-6s %s\n", p, phases[p].line())
	}
	return nil
}
