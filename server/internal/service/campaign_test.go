package service_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// campaignPace runs the launch worker every interval with batches of
// batch products.
func campaignPace(interval time.Duration, batch int) envOption {
	return func(c *config.Config) {
		c.CampaignInterval = interval
		c.CampaignBatch = batch
	}
}

// idleCampaigns keeps the launch worker from running during a test, so
// that a launched campaign stays LAUNCHING.
func idleCampaigns(c *config.Config) { c.CampaignInterval = time.Hour }

// confirmAbove sets --campaign-confirm-above.
func confirmAbove(n int) envOption {
	return func(c *config.Config) { c.CampaignConfirmAbove = n }
}

// owners registers n customers with a login, in regions east and west
// by turns.
func (e *env) owners(n int) []*aftersalesv1.Customer {
	e.t.Helper()
	out := make([]*aftersalesv1.Customer, n)
	for i := range out {
		c, err := e.customers.CreateCustomer(e.admin(), &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{
			DisplayName: fmt.Sprintf("Owner %d", i), ExternalId: "login-" + ids.New(),
			Address: &aftersalesv1.PostalAddress{City: "Shanghai", Region: []string{"east", "west"}[i%2]},
		}})
		require.NoError(e.t, err)
		e.login(c)
		out[i] = c
	}
	return out
}

// register registers a product of model for each serial number, owned by
// the customers by turns, and returns them by serial number.
func (e *env) register(model string, serials []string, owners []*aftersalesv1.Customer) map[string]*aftersalesv1.Product {
	e.t.Helper()
	out := map[string]*aftersalesv1.Product{}
	for i, sn := range serials {
		p, err := e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{
			Parent: owners[i%len(owners)].GetName(), Product: &aftersalesv1.Product{Model: model, SerialNumber: sn},
		})
		require.NoError(e.t, err)
		out[sn] = p
	}
	return out
}

// serials returns prefix0001 … prefix{n}.
func serials(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i+1)
	}
	return out
}

// allTargets lists every target of a campaign.
func (e *env) allTargets(actor, campaign string) []*aftersalesv1.CampaignTarget {
	e.t.Helper()
	var out []*aftersalesv1.CampaignTarget
	token := ""
	for {
		resp, err := aftersalesv1.NewCampaignServiceClient(e.conn).ListCampaignTargets(as(actor), &aftersalesv1.ListCampaignTargetsRequest{
			Parent: campaign, PageSize: 50, PageToken: token,
		})
		require.NoError(e.t, err)
		out = append(out, resp.GetTargets()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// listTickets lists every ticket matching filter.
func (e *env) listTickets(actor, filter string) []*aftersalesv1.Ticket {
	e.t.Helper()
	var out []*aftersalesv1.Ticket
	token := ""
	for {
		resp, err := e.tickets.ListTickets(as(actor), &aftersalesv1.ListTicketsRequest{Filter: filter, PageSize: 100, PageToken: token})
		require.NoError(e.t, err)
		out = append(out, resp.GetTickets()...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
}

// work takes a ticket from NEW to RESOLVED as the technician.
func (e *env) work(f *fixture, ticket string, res *aftersalesv1.Resolution) {
	e.t.Helper()
	tech := as(f.technician.GetName())
	_, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: ticket, Assignee: f.technician.GetName()})
	require.NoError(e.t, err)
	_, err = e.tickets.AcceptTicket(tech, &aftersalesv1.AcceptTicketRequest{Name: ticket})
	require.NoError(e.t, err)
	_, err = e.tickets.StartTicket(tech, &aftersalesv1.StartTicketRequest{Name: ticket})
	require.NoError(e.t, err)
	_, err = e.tickets.ResolveTicket(tech, &aftersalesv1.ResolveTicketRequest{Name: ticket, Resolution: res})
	require.NoError(e.t, err)
}

// TestCampaignRecall is the recall end to end, over gRPC and JSON: a
// fault found in the fault statistics, a recall on the serial range it
// names, its preview, a launch that two replicas share while the one
// doing the work is stopped mid-launch, exactly one target and one
// ticket per product in the range and none for the others, outreach and
// repairs reflected in the progress figures and the metrics, what
// customers and shops see, and the cancellation.
func TestCampaignRecall(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) { testCampaignRecall(t, dialect) })
	}
}

func testCampaignRecall(t *testing.T, dialect string) {
	const batch = 7
	url := storetest.URL(t, dialect)
	// a reaches one batch every 200ms: the test stops it after the first
	// with room to spare, and b, at full pace, finishes the launch.
	a := startURL(t, url, campaignPace(200*time.Millisecond, batch), fastReports)
	f := a.seed()
	mgr, agent := f.manager.GetName(), f.agent.GetName()

	// 200 washers, R-0001 … R-0200, of 20 owners; a dryer whose serial
	// number falls in the range; and a few washers of another series.
	owners := a.owners(20)
	washers := a.register("WM-9000", serials("R-", 200), owners)
	a.register("DR-100", []string{"R-0100B"}, owners)
	a.register("WM-9000", serials("S-", 5), owners)

	// Two units come in with the same fault; the fault statistics show
	// it and the serial numbers affected.
	fault := &aftersalesv1.Resolution{FaultCategory: "ELECTRICAL", FaultCode: "E42", Summary: "replaced the heater relay"}
	for _, sn := range []string{"R-0010", "R-0180"} {
		tk, err := a.tickets.CreateTicket(as(agent), &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
			Customer: ownerOf(washers[sn]), Product: washers[sn].GetName(), Type: aftersalesv1.Ticket_REPAIR,
			Channel: aftersalesv1.Ticket_PHONE, Title: "Trips the breaker",
		}})
		require.NoError(t, err)
		a.work(f, tk.GetName(), fault)
	}
	a.caughtUp(mgr)
	stats, err := a.reports.GetFaultStatistics(as(mgr), &aftersalesv1.GetFaultStatisticsRequest{
		StartTime: timestamp(day(a, 0)), EndTime: timestamp(day(a, 1)),
	})
	require.NoError(t, err)
	var row *aftersalesv1.FaultRow
	for _, r := range stats.GetRows() {
		if r.GetFaultCode() == "E42" {
			row = r
		}
	}
	require.NotNil(t, row, "the fault statistics show E42")
	require.Equal(t, "WM-9000", row.GetProductModel())
	require.Equal(t, []string{"R-0010", "R-0180"}, []string{row.GetMinSerialNumber(), row.GetMaxSerialNumber()})

	// The recall, created over JSON on that serial range.
	r := a.do(http.MethodPost, "/v1/campaigns", mgr, map[string]any{
		"displayName": "Heater relay recall", "description": "The heater relay may overheat; we replace it free of charge.",
		"type": "RECALL", "priority": "HIGH",
		"target": map[string]any{"models": []string{row.GetProductModel()}, "serialNumberFrom": row.GetMinSerialNumber(), "serialNumberTo": row.GetMaxSerialNumber()},
	})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	name, etag := r.body["name"].(string), r.body["etag"].(string)
	require.Equal(t, "DRAFT", r.body["state"])
	require.Equal(t, true, r.body["freeOfCharge"], "a recall is always free of charge")
	require.Equal(t, mgr, r.body["owner"], "the creator owns it")
	want := map[string]bool{}
	for sn, p := range washers {
		if sn >= "R-0010" && sn <= "R-0180" {
			want[p.GetName()] = true
		}
	}
	require.Len(t, want, 171)

	// The preview counts and samples before anything is sent.
	campaigns := aftersalesv1.NewCampaignServiceClient(a.conn)
	preview, err := campaigns.PreviewCampaign(as(mgr), &aftersalesv1.PreviewCampaignRequest{Name: name, SampleSize: 5})
	require.NoError(t, err)
	r = a.do(http.MethodPost, "/v1/"+name+":preview", mgr, map[string]any{})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "171", r.body["targetCount"])
	require.Len(t, r.body["sample"], 20, "20 by default")
	require.EqualValues(t, 171, preview.GetTargetCount())
	require.Equal(t, map[string]int64{"WM-9000": 171}, preview.GetCountByModel())
	require.False(t, preview.GetConfirmationRequired())
	require.EqualValues(t, 10000, preview.GetConfirmationThreshold())
	var sample []string
	for _, s := range preview.GetSample() {
		sample = append(sample, s.GetSerialNumber())
	}
	require.Equal(t, []string{"R-0010", "R-0011", "R-0012", "R-0013", "R-0014"}, sample)
	require.Empty(t, a.listTickets(mgr, `campaign = "`+name+`"`), "nothing is sent by a preview")

	// Launch on replica a; a second replica b joins; a is stopped while
	// the launch is under way, and b finishes it.
	r = a.do(http.MethodPost, "/v1/"+name+":launch", mgr, map[string]any{"etag": etag, "requestId": "launch-1"})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "LAUNCHING", r.body["state"])
	b := startURL(t, url, campaignPace(10*time.Millisecond, batch))
	progress := func(e *env) *aftersalesv1.CampaignProgress {
		c, err := aftersalesv1.NewCampaignServiceClient(e.conn).GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: name})
		require.NoError(t, err)
		return c.GetProgress()
	}
	require.Eventually(t, func() bool { return progress(a).GetTargeted() >= batch }, time.Minute, time.Millisecond)
	a.stop()
	// Had a died without releasing its lease, b takes over once it lapses.
	// (The replicas' clocks tell their work apart: a's stands at its
	// time now, b's is behind it.)
	aTime := a.clock.Now()
	require.True(t, b.clock.Now().Add(time.Minute).Before(aTime))
	b.clock.Advance(time.Minute)
	cb := aftersalesv1.NewCampaignServiceClient(b.conn)
	require.Eventually(t, func() bool {
		c, err := cb.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: name})
		require.NoError(t, err)
		return c.GetState() == aftersalesv1.Campaign_ACTIVE
	}, time.Minute, 5*time.Millisecond)

	// Exactly one target and one ticket per product in the range, and
	// none for any other product.
	targets := b.allTargets(mgr, name)
	require.Len(t, targets, 171)
	byA := 0
	for _, tg := range targets {
		if tg.GetCreateTime().AsTime().Equal(aTime) {
			byA++
		}
	}
	require.Positive(t, byA, "a began the launch")
	require.Less(t, byA, 171, "a was stopped mid-launch, and b finished it")
	require.Zero(t, byA%batch, "a committed whole batches only")
	got := map[string]bool{}
	for _, tg := range targets {
		require.False(t, got[tg.GetProduct()], "product %s reached twice", tg.GetProduct())
		got[tg.GetProduct()] = true
		require.Equal(t, aftersalesv1.CampaignTarget_TICKET_OPENED, tg.GetState())
		require.NotEmpty(t, tg.GetTicket())
	}
	require.Equal(t, want, got)
	tickets := b.listTickets(mgr, `campaign = "`+name+`"`)
	require.Len(t, tickets, 171)
	ticketOf := map[string]*aftersalesv1.Ticket{}
	for _, tk := range tickets {
		require.Nil(t, ticketOf[tk.GetProduct()], "two tickets for %s", tk.GetProduct())
		ticketOf[tk.GetProduct()] = tk
		require.Equal(t, aftersalesv1.Ticket_RECALL, tk.GetType())
		require.Equal(t, aftersalesv1.Ticket_NEW, tk.GetState())
		require.Equal(t, aftersalesv1.Ticket_HIGH, tk.GetPriority())
		require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tk.GetWarrantyStatus(), "a recall is in warranty whatever the unit's")
		require.Equal(t, mgr, tk.GetFirstContact(), "the campaign's owner is the first contact")
		require.Equal(t, name, tk.GetCampaign())
		require.Equal(t, "Heater relay recall", tk.GetTitle())
	}
	for _, tg := range targets {
		require.Equal(t, tg.GetTicket(), ticketOf[tg.GetProduct()].GetName())
	}
	require.Len(t, b.listTickets(mgr, ""), 171+2, "no ticket besides the recall's and the two repairs")

	// Launching again is refused, naming the state.
	_, err = cb.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: name})
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
	require.Equal(t, "ACTIVE", apierr.PreconditionViolations(err)[0].GetSubject())

	// The work: three repairs at known times, a unit dispatched to the
	// shop, two owners decline, one cannot be reached, one ticket is
	// withdrawn.
	sort.Slice(targets, func(i, j int) bool { return targets[i].GetSerialNumber() < targets[j].GetSerialNumber() })
	relay := &aftersalesv1.Resolution{FaultCategory: "ELECTRICAL", FaultCode: "E42", Summary: "relay replaced under the recall"}
	b.clock.Advance(time.Hour)
	b.work(f, targets[0].GetTicket(), relay)
	b.clock.Advance(2 * time.Hour)
	b.work(f, targets[1].GetTicket(), relay)
	b.clock.Advance(8 * 24 * time.Hour)
	b.work(f, targets[2].GetTicket(), relay)
	_, err = b.tickets.AssignTicket(as(agent), &aftersalesv1.AssignTicketRequest{Name: targets[3].GetTicket(), Partner: f.partner.GetName()})
	require.NoError(t, err)
	shop, err := b.tickets.GetTicket(as(f.partner.GetName()), &aftersalesv1.GetTicketRequest{Name: targets[3].GetTicket()})
	require.NoError(t, err)
	require.Equal(t, name, shop.GetCampaign(), "the shop sees the campaign of the work dispatched to it")

	declined, err := cb.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
		Name: targets[4].GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_DECLINED, Note: "sold the unit", Etag: targets[4].GetEtag(),
	})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.CampaignTarget_DECLINED, declined.GetState())
	require.NotNil(t, declined.GetEndTime())
	r = b.do(http.MethodPost, "/v1/"+targets[5].GetName()+":recordOutreach", agent, map[string]any{"outcome": "DECLINED"})
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "DECLINED", r.body["state"])
	_, err = cb.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
		Name: targets[6].GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_UNREACHABLE,
	})
	require.NoError(t, err)
	for _, i := range []int{4, 5, 6} {
		tk, err := b.tickets.GetTicket(as(mgr), &aftersalesv1.GetTicketRequest{Name: targets[i].GetTicket()})
		require.NoError(t, err)
		require.Equal(t, aftersalesv1.Ticket_CANCELLED, tk.GetState(), "an untouched ticket goes with its declined target")
	}
	require.Equal(t, aftersalesv1.TicketEvent_CANCELLED, b.lastEventAs(mgr, targets[4].GetTicket()).GetType())
	_, err = b.tickets.CancelTicket(as(agent), &aftersalesv1.CancelTicketRequest{Name: targets[7].GetTicket(), Reason: "duplicate"})
	require.NoError(t, err)

	// Outreach that does not fit the target is refused.
	_, err = cb.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
		Name: targets[8].GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_ACKNOWLEDGED,
	})
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
	_, err = cb.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
		Name: targets[0].GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_DECLINED,
	})
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
	_, err = cb.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
		Name: targets[9].GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_DECLINED, Etag: targets[8].GetEtag(),
	})
	requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)

	// The figures, over gRPC and JSON.
	wantProgress := &aftersalesv1.CampaignProgress{
		Targeted: 171, TicketOpened: 171 - 3 - 2 - 1 - 1, Completed: 3, Declined: 2, Unreachable: 1, Cancelled: 1,
		CompletionRate: 3.0 / 171,
	}
	requireProto(t, wantProgress, progress(b))
	r = b.do(http.MethodGet, "/v1/"+name, mgr, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, "171", r.body["progress"].(map[string]any)["targeted"])
	require.Equal(t, "3", r.body["progress"].(map[string]any)["completed"])

	// The metrics: times from reaching the product to completing it.
	ended := b.allTargets(mgr, name)
	var took []time.Duration
	var launchTime time.Time
	c, err := cb.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: name})
	require.NoError(t, err)
	launchTime = c.GetLaunchTime().AsTime()
	byWeek := []int64{0, 0}
	for _, tg := range ended {
		if tg.GetState() == aftersalesv1.CampaignTarget_COMPLETED {
			took = append(took, tg.GetEndTime().AsTime().Sub(tg.GetCreateTime().AsTime()))
			byWeek[int(tg.GetEndTime().AsTime().Sub(launchTime)/(7*24*time.Hour))]++
		}
	}
	require.Len(t, took, 3)
	slices.Sort(took)
	m, err := b.reports.GetCampaignMetrics(as(mgr), &aftersalesv1.GetCampaignMetricsRequest{Campaign: name})
	require.NoError(t, err)
	requireProto(t, wantProgress, m.GetProgress())
	require.Equal(t, (took[0]+took[1]+took[2])/3, m.GetMeanTimeToCompletion().AsDuration())
	require.Equal(t, took[2], m.GetP90TimeToCompletion().AsDuration())
	require.Equal(t, []int64{2, 1}, m.GetCompletedByWeek())
	require.Equal(t, byWeek, m.GetCompletedByWeek())
	r = b.do(http.MethodGet, "/v1/"+name+"/metrics", mgr, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	require.Equal(t, []any{"2", "1"}, r.body["completedByWeek"])

	// What a customer sees: the campaigns concerning their products.
	owner := customerOf(targets[0].GetCustomer(), owners)
	r = b.do(http.MethodGet, "/v1/"+owner.GetName()+"/campaigns", owner.GetName(), nil)
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	list := r.body["campaigns"].([]any)
	require.Len(t, list, 1)
	mine := list[0].(map[string]any)
	require.Equal(t, name, mine["campaign"])
	require.Equal(t, "RECALL", mine["type"])
	require.Equal(t, true, mine["freeOfCharge"])
	var wantMine int
	for _, tg := range ended {
		if tg.GetCustomer() == owner.GetName() {
			wantMine++
		}
	}
	require.Len(t, mine["targets"].([]any), wantMine)
	other := owners[0]
	if other.GetName() == owner.GetName() {
		other = owners[1]
	}
	r = b.do(http.MethodGet, "/v1/"+other.GetName()+"/campaigns", owner.GetName(), nil)
	requireHTTP(t, r, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
	staffView, err := cb.ListCustomerCampaigns(as(agent), &aftersalesv1.ListCustomerCampaignsRequest{Parent: other.GetName()})
	require.NoError(t, err)
	require.Len(t, staffView.GetCampaigns(), 1)

	// Cancelling withdraws the untouched tickets; the shop's goes on.
	cancelled, err := cb.CancelCampaign(as(mgr), &aftersalesv1.CancelCampaignRequest{Name: name, Reason: "superseded by a firmware fix"})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.Campaign_CANCELLED, cancelled.GetState())
	require.Equal(t, "superseded by a firmware fix", cancelled.GetCancelReason())
	require.NotNil(t, cancelled.GetEndTime())
	requireProto(t, &aftersalesv1.CampaignProgress{
		Targeted: 171, TicketOpened: 1, Completed: 3, Declined: 2, Unreachable: 1, Cancelled: 164, CompletionRate: 3.0 / 171,
	}, cancelled.GetProgress())
	require.Empty(t, b.listTickets(mgr, `campaign = "`+name+`" AND state = NEW`))
	require.Len(t, b.listTickets(mgr, `campaign = "`+name+`" AND state = ASSIGNED`), 1)
	ev := b.lastEventAs(mgr, targets[10].GetTicket())
	require.Equal(t, aftersalesv1.TicketEvent_CANCELLED, ev.GetType())
	require.Contains(t, ev.GetMessage(), "superseded by a firmware fix")
	_, err = cb.CancelCampaign(as(mgr), &aftersalesv1.CancelCampaignRequest{Name: name, Reason: "again"})
	requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
	require.Equal(t, "CANCELLED", apierr.PreconditionViolations(err)[0].GetSubject())
}

// lastEventAs returns the ticket's latest timeline event, read by actor.
func (e *env) lastEventAs(actor, ticket string) *aftersalesv1.TicketEvent {
	e.t.Helper()
	evs, err := e.tickets.ListTicketEvents(as(actor), &aftersalesv1.ListTicketEventsRequest{Parent: ticket, PageSize: 1000})
	require.NoError(e.t, err)
	return evs.GetEvents()[len(evs.GetEvents())-1]
}

// ownerOf returns the customer of a product.
func ownerOf(p *aftersalesv1.Product) string {
	ids, _ := resname.Parse(p.GetName(), resname.Customers, resname.Products)
	return resname.Format(resname.Customers, ids[0])
}

// customerOf finds a customer by name.
func customerOf(name string, cs []*aftersalesv1.Customer) *aftersalesv1.Customer {
	for _, c := range cs {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}

// violationFields lists the fields of an INVALID_ARGUMENT's violations.
func violationFields(err error) []string {
	var out []string
	for _, v := range apierr.FieldViolations(err) {
		out = append(out, v.Field)
	}
	return out
}

// TestCampaignErrors: bad targets are refused with a clear error and
// write nothing; a big target needs its size confirmed; a campaign is
// launched once however many ask at the same time; and each state
// allows only its own moves.
func TestCampaignErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, idleCampaigns, confirmAbove(2))
			f := e.seed()
			mgr := f.manager.GetName()
			e.register("WM-8000", serials("C-", 3), []*aftersalesv1.Customer{f.customer})
			campaigns := aftersalesv1.NewCampaignServiceClient(e.conn)
			create := func(c *aftersalesv1.Campaign) (*aftersalesv1.Campaign, error) {
				return campaigns.CreateCampaign(as(mgr), &aftersalesv1.CreateCampaignRequest{Campaign: c})
			}
			recall := func(target *aftersalesv1.TargetCriteria) *aftersalesv1.Campaign {
				return &aftersalesv1.Campaign{DisplayName: "Door seal", Type: aftersalesv1.Campaign_RECALL, Target: target}
			}

			_, err := create(recall(nil))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"campaign.target"}, violationFields(err))
			_, err = create(recall(&aftersalesv1.TargetCriteria{SerialNumberFrom: "C-0001"}))
			require.Equal(t, codes.InvalidArgument.String(), grpcstatus.Code(err).String(), "no model: %v", err)
			require.Contains(t, violationFields(err), "campaign.target.models")
			_, err = create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000", "WM-0000"}}))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL)
			require.Equal(t, []string{"campaign.target.models[1]"}, violationFields(err))
			_, err = create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}, SerialNumberFrom: "Z-0000", SerialNumberTo: "Z-9999"}))
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_CAMPAIGN_TARGET_EMPTY)
			_, err = create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}, SerialNumberFrom: "C-0003", SerialNumberTo: "C-0001"}))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"campaign.target.serial_number_to"}, violationFields(err))
			_, err = create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}, FaultCategory: "ELECTRICAL"}))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"campaign.target.fault_code"}, violationFields(err))
			noticeRecall := recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}})
			noticeRecall.NoticeOnly = true
			_, err = create(noticeRecall)
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"campaign.notice_only"}, violationFields(err))
			_, err = create(&aftersalesv1.Campaign{DisplayName: "No type", Target: &aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}}})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			require.Equal(t, []string{"campaign.type"}, violationFields(err))
			r := e.do(http.MethodPost, "/v1/campaigns", mgr, map[string]any{
				"displayName": "Typo", "type": "RECALL", "target": map[string]any{"models": []string{"WM-80000"}},
			})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL)
			require.Equal(t, []string{"campaign.target.models[0]"}, jsonFieldViolations(r))
			none, err := campaigns.ListCampaigns(as(mgr), &aftersalesv1.ListCampaignsRequest{})
			require.NoError(t, err)
			require.Empty(t, none.GetCampaigns(), "no refused create left a campaign behind")

			// A fault target: only units with a ticket resolved with it.
			e.resolved(f) // f.inWarranty, PLUMBING/P1
			faulty, err := create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000", "WM-7000"}, FaultCategory: "PLUMBING", FaultCode: "P1"}))
			require.NoError(t, err)
			p, err := campaigns.PreviewCampaign(as(mgr), &aftersalesv1.PreviewCampaignRequest{Name: faulty.GetName()})
			require.NoError(t, err)
			require.EqualValues(t, 1, p.GetTargetCount())
			require.Equal(t, f.inWarranty.GetName(), p.GetSample()[0].GetProduct())

			// Four WM-8000 units, above the threshold of 2.
			c, err := create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}}))
			require.NoError(t, err)
			p, err = campaigns.PreviewCampaign(as(mgr), &aftersalesv1.PreviewCampaignRequest{Name: c.GetName()})
			require.NoError(t, err)
			require.EqualValues(t, 4, p.GetTargetCount())
			require.True(t, p.GetConfirmationRequired())
			require.EqualValues(t, 2, p.GetConfirmationThreshold())
			for _, n := range []int64{0, 3} {
				_, err = campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: c.GetName(), ConfirmedTargetCount: n})
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_CAMPAIGN_CONFIRMATION_REQUIRED)
				require.Equal(t, "4", apierr.PreconditionViolations(err)[0].GetSubject())
			}
			_, err = campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: c.GetName(), ConfirmedTargetCount: 4, Etag: `"stale"`})
			requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
			got, err := campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: c.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_DRAFT, got.GetState(), "refused launches changed nothing")
			require.Nil(t, got.GetLaunchTime())

			// Two launches at once: exactly one wins.
			const n = 4
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: c.GetName(), ConfirmedTargetCount: 4})
					errs <- err
				}()
			}
			won := 0
			for range n {
				if err := <-errs; err == nil {
					won++
				} else {
					requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
					require.Equal(t, "LAUNCHING", apierr.PreconditionViolations(err)[0].GetSubject())
				}
			}
			require.Equal(t, 1, won)

			// LAUNCHING: the target is fixed, the text is not.
			_, err = campaigns.UpdateCampaign(as(mgr), &aftersalesv1.UpdateCampaignRequest{
				Campaign: &aftersalesv1.Campaign{Name: c.GetName(), Target: &aftersalesv1.TargetCriteria{Models: []string{"WM-7000"}}}, UpdateMask: mask("target"),
			})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			renamed, err := campaigns.UpdateCampaign(as(mgr), &aftersalesv1.UpdateCampaignRequest{
				Campaign: &aftersalesv1.Campaign{Name: c.GetName(), DisplayName: "Door seal recall"}, UpdateMask: mask("display_name"),
			})
			require.NoError(t, err)
			require.Equal(t, "Door seal recall", renamed.GetDisplayName())
			paused, err := campaigns.PauseCampaign(as(mgr), &aftersalesv1.PauseCampaignRequest{Name: c.GetName(), Etag: renamed.GetEtag()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_PAUSED, paused.GetState())
			_, err = campaigns.PauseCampaign(as(mgr), &aftersalesv1.PauseCampaignRequest{Name: c.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			resumed, err := campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: c.GetName(), ConfirmedTargetCount: 4, RequestId: "resume-1"})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_LAUNCHING, resumed.GetState())
			require.Equal(t, got.GetCreateTime().AsTime(), resumed.GetCreateTime().AsTime())
			again, err := campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: c.GetName(), ConfirmedTargetCount: 4, RequestId: "resume-1"})
			require.NoError(t, err, "a retry returns the first answer")
			require.Equal(t, resumed.GetEtag(), again.GetEtag())

			// A draft may change anything; its new target is checked too.
			d, err := create(recall(&aftersalesv1.TargetCriteria{Models: []string{"WM-7000"}}))
			require.NoError(t, err)
			_, err = campaigns.UpdateCampaign(as(mgr), &aftersalesv1.UpdateCampaignRequest{
				Campaign: &aftersalesv1.Campaign{Name: d.GetName(), Target: &aftersalesv1.TargetCriteria{Models: []string{"XX-1"}}}, UpdateMask: mask("target"),
			})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL)
			notice, err := campaigns.UpdateCampaign(as(mgr), &aftersalesv1.UpdateCampaignRequest{
				Campaign: &aftersalesv1.Campaign{Name: d.GetName(), Type: aftersalesv1.Campaign_SAFETY_NOTICE}, UpdateMask: mask("type"),
			})
			require.NoError(t, err)
			require.True(t, notice.GetNoticeOnly(), "a safety notice is notice-only")
			_, err = campaigns.UpdateCampaign(as(mgr), &aftersalesv1.UpdateCampaignRequest{
				Campaign: &aftersalesv1.Campaign{Name: d.GetName(), CancelReason: "x"}, UpdateMask: mask("cancel_reason"),
			})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK)
			_, err = campaigns.CancelCampaign(as(mgr), &aftersalesv1.CancelCampaignRequest{Name: d.GetName(), Reason: "not needed"})
			require.NoError(t, err)
			_, err = campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: d.GetName()})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			_, err = campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: "campaigns/nope"})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			_, err = campaigns.ListCampaignTargets(as(mgr), &aftersalesv1.ListCampaignTargetsRequest{Parent: c.GetName(), Filter: "state = NO_SUCH"})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_FILTER)
			listed, err := campaigns.ListCampaigns(as(mgr), &aftersalesv1.ListCampaignsRequest{Filter: "state = LAUNCHING"})
			require.NoError(t, err)
			require.Len(t, listed.GetCampaigns(), 1)
			require.Equal(t, c.GetName(), listed.GetCampaigns()[0].GetName())
		})
	}
}

// TestCampaignNotice: a safety notice reaches the owners through the
// feed and their campaign list, with no ticket, and completes when the
// last one acknowledges it; a firmware update completes when its ticket
// is resolved.
func TestCampaignNotice(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, campaignPace(10*time.Millisecond, 2))
			f := e.seed()
			mgr, agent, customer := f.manager.GetName(), f.agent.GetName(), f.customer.GetName()
			e.register("WM-8000", serials("C-", 3), []*aftersalesv1.Customer{f.customer})
			campaigns := aftersalesv1.NewCampaignServiceClient(e.conn)
			active := func(name string) *aftersalesv1.Campaign {
				var c *aftersalesv1.Campaign
				require.Eventually(t, func() bool {
					var err error
					c, err = campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: name})
					require.NoError(t, err)
					return c.GetState() != aftersalesv1.Campaign_LAUNCHING
				}, time.Minute, 5*time.Millisecond)
				return c
			}

			notice, err := campaigns.CreateCampaign(as(mgr), &aftersalesv1.CreateCampaignRequest{Campaign: &aftersalesv1.Campaign{
				DisplayName: "Keep the door clear", Type: aftersalesv1.Campaign_SAFETY_NOTICE, Target: &aftersalesv1.TargetCriteria{Models: []string{"WM-8000"}},
			}})
			require.NoError(t, err)
			require.True(t, notice.GetNoticeOnly())
			_, err = campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: notice.GetName()})
			require.NoError(t, err)
			c := active(notice.GetName())
			require.Equal(t, aftersalesv1.Campaign_ACTIVE, c.GetState())
			requireProto(t, &aftersalesv1.CampaignProgress{Targeted: 4, Notified: 4}, c.GetProgress())
			require.Empty(t, e.listTickets(mgr, `campaign = "`+notice.GetName()+`"`), "a notice opens no ticket")

			// The owner hears of it in the feed and the app.
			notified := e.feed(as(customer), 0, `type = "campaign.notified"`)
			require.Len(t, notified, 4)
			r := e.do(http.MethodGet, "/v1/"+customer+"/campaigns", customer, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Len(t, r.body["campaigns"].([]any), 1)
			require.Len(t, r.body["campaigns"].([]any)[0].(map[string]any)["targets"].([]any), 4)

			targets := e.allTargets(agent, notice.GetName())
			for i, tg := range targets {
				require.Equal(t, aftersalesv1.CampaignTarget_NOTIFIED, tg.GetState())
				require.Empty(t, tg.GetTicket())
				_, err := campaigns.RecordCampaignOutreach(as(agent), &aftersalesv1.RecordCampaignOutreachRequest{
					Name: tg.GetName(), Outcome: aftersalesv1.RecordCampaignOutreachRequest_ACKNOWLEDGED,
				})
				require.NoError(t, err)
				c, err := campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: notice.GetName()})
				require.NoError(t, err)
				if i < len(targets)-1 {
					require.Equal(t, aftersalesv1.Campaign_ACTIVE, c.GetState())
				} else {
					require.Equal(t, aftersalesv1.Campaign_COMPLETED, c.GetState(), "the last acknowledgement completes it")
					require.NotNil(t, c.GetEndTime())
					require.EqualValues(t, 1, c.GetProgress().GetCompletionRate())
				}
			}
			_, err = campaigns.CancelCampaign(as(mgr), &aftersalesv1.CancelCampaignRequest{Name: notice.GetName(), Reason: "too late"})
			requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
			require.Equal(t, "COMPLETED", apierr.PreconditionViolations(err)[0].GetSubject())

			// A free firmware update of the out-of-warranty unit.
			fw, err := campaigns.CreateCampaign(as(mgr), &aftersalesv1.CreateCampaignRequest{Campaign: &aftersalesv1.Campaign{
				DisplayName: "Firmware 2.1", Type: aftersalesv1.Campaign_FIRMWARE_UPDATE, FreeOfCharge: true,
				Target: &aftersalesv1.TargetCriteria{Models: []string{"WM-7000"}},
			}})
			require.NoError(t, err)
			_, err = campaigns.LaunchCampaign(as(mgr), &aftersalesv1.LaunchCampaignRequest{Name: fw.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_ACTIVE, active(fw.GetName()).GetState())
			tks := e.listTickets(mgr, `campaign = "`+fw.GetName()+`"`)
			require.Len(t, tks, 1)
			require.Equal(t, aftersalesv1.Ticket_MAINTENANCE, tks[0].GetType())
			require.Equal(t, f.outOfWarranty.GetName(), tks[0].GetProduct())
			require.Equal(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY, tks[0].GetWarrantyStatus(), "free of charge")
			e.work(f, tks[0].GetName(), validResolution())
			c, err = campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: fw.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_COMPLETED, c.GetState(), "its one ticket resolved")
			requireProto(t, &aftersalesv1.CampaignProgress{Targeted: 1, Completed: 1, CompletionRate: 1}, c.GetProgress())
			_, err = e.tickets.ReopenTicket(as(agent), &aftersalesv1.ReopenTicketRequest{Name: tks[0].GetName(), Reason: "still old firmware"})
			require.NoError(t, err)
			c, err = campaigns.GetCampaign(as(mgr), &aftersalesv1.GetCampaignRequest{Name: fw.GetName()})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Campaign_COMPLETED, c.GetState(), "an ended campaign stays ended")
			requireProto(t, &aftersalesv1.CampaignProgress{Targeted: 1, Completed: 1, CompletionRate: 1}, c.GetProgress(), "and its figures final")
		})
	}
}

// TestProductRegion: a product's region is its install address's, else
// its owner's, and follows the owner's address; campaigns target by it
// and by manufacture time.
func TestProductRegion(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, idleCampaigns)
			f := e.seed()
			mgr := f.manager.GetName()
			owners := e.owners(2) // east, west
			made := timestamp(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
			home, err := e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{Parent: owners[0].GetName(), Product: &aftersalesv1.Product{
				Model: "AC-1", SerialNumber: "AC-0001", ManufactureTime: made,
			}})
			require.NoError(t, err)
			require.Equal(t, "east", home.GetRegion(), "the owner's region")
			require.Equal(t, made.AsTime(), home.GetManufactureTime().AsTime())
			away, err := e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{Parent: owners[0].GetName(), Product: &aftersalesv1.Product{
				Model: "AC-1", SerialNumber: "AC-0002", InstallAddress: &aftersalesv1.PostalAddress{City: "Hangzhou", Region: "south"},
			}})
			require.NoError(t, err)
			require.Equal(t, "south", away.GetRegion(), "the install address's region")
			_, err = e.customers.CreateProduct(e.admin(), &aftersalesv1.CreateProductRequest{Parent: owners[1].GetName(), Product: &aftersalesv1.Product{
				Model: "AC-1", SerialNumber: "AC-0003",
			}})
			require.NoError(t, err)

			// The owner moves: the product at home moves along, the one
			// installed elsewhere stays.
			_, err = e.customers.UpdateCustomer(e.admin(), &aftersalesv1.UpdateCustomerRequest{
				Customer: &aftersalesv1.Customer{Name: owners[0].GetName(), Address: &aftersalesv1.PostalAddress{City: "Beijing", Region: "north"}}, UpdateMask: mask("address"),
			})
			require.NoError(t, err)
			region := func(p *aftersalesv1.Product) string {
				got, err := e.customers.GetProduct(e.admin(), &aftersalesv1.GetProductRequest{Name: p.GetName()})
				require.NoError(t, err)
				return got.GetRegion()
			}
			require.Equal(t, "north", region(home))
			require.Equal(t, "south", region(away))
			updated, err := e.customers.UpdateProduct(e.admin(), &aftersalesv1.UpdateProductRequest{
				Product: &aftersalesv1.Product{Name: away.GetName(), ManufactureTime: made}, UpdateMask: mask("install_address", "manufacture_time"),
			})
			require.NoError(t, err)
			require.Equal(t, "north", updated.GetRegion(), "no install address: the owner's region")
			listed, err := e.customers.ListProducts(e.admin(), &aftersalesv1.ListProductsRequest{Parent: "customers/-", Filter: `manufacture_time = "2025-06-01T00:00:00Z"`})
			require.NoError(t, err)
			require.Len(t, listed.GetProducts(), 2)

			preview := func(target *aftersalesv1.TargetCriteria) int64 {
				c, err := aftersalesv1.NewCampaignServiceClient(e.conn).CreateCampaign(as(mgr), &aftersalesv1.CreateCampaignRequest{Campaign: &aftersalesv1.Campaign{
					DisplayName: "Check", Type: aftersalesv1.Campaign_INSPECTION, Target: target,
				}})
				require.NoError(t, err)
				p, err := aftersalesv1.NewCampaignServiceClient(e.conn).PreviewCampaign(as(mgr), &aftersalesv1.PreviewCampaignRequest{Name: c.GetName()})
				require.NoError(t, err)
				return p.GetTargetCount()
			}
			require.EqualValues(t, 2, preview(&aftersalesv1.TargetCriteria{Models: []string{"AC-1"}, Regions: []string{"north"}}))
			require.EqualValues(t, 3, preview(&aftersalesv1.TargetCriteria{Models: []string{"AC-1"}, Regions: []string{"north", "west"}}))
			require.EqualValues(t, 2, preview(&aftersalesv1.TargetCriteria{Models: []string{"AC-1"},
				ManufactureStartTime: made, ManufactureEndTime: timestamp(made.AsTime().AddDate(0, 1, 0))}))
		})
	}
}
