// Package service implements the aftersales.v1 gRPC services. Each file
// holds one service; handlers check input, run one store transaction and
// map errors in one place (errors.go).
package service

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/webhook"
)

// Deps are what the services need from the process.
type Deps struct {
	DB     *store.DB
	Logger *slog.Logger
	// SLAInterval is how often the SLA breach check runs; 0 means 30s.
	SLAInterval time.Duration
	// ReplicaID names this process among replicas, for leases.
	ReplicaID string
	// Rules are the configurable business rules.
	Rules Rules
	// ComplaintInterval is how often the overdue-complaint loop runs; 0
	// means 30s.
	ComplaintInterval time.Duration
	// QualificationInterval is how often the certification-expiry loop
	// runs; 0 means 1m.
	QualificationInterval time.Duration
	// ReportInterval is how often the report rollups are brought up to
	// date; 0 means 10s.
	ReportInterval time.Duration
	// Feed configures the change feed and webhooks.
	Feed Feed
	// Campaigns configures the campaign launch worker.
	Campaigns Campaigns
	// MaintenanceInterval is how often the maintenance loop opens the
	// visits that have come due; 0 means 1m.
	MaintenanceInterval time.Duration
	// Publisher, when set, receives every event of the feed, in order
	// (the NATS JetStream publisher).
	Publisher Publisher
	// KeysChanged, when set, is called once a change to an API key, a
	// staff member or a partner has committed: the authenticator's
	// cache of keys drops what it read before.
	KeysChanged func()
}

// Feed configures the change feed and its webhooks.
type Feed struct {
	// Retention is how long events are kept; 0 means 7 days.
	Retention time.Duration
	// SequenceInterval is how often committed events get their feed
	// positions; 0 means 100ms. It bounds the feed's latency.
	SequenceInterval time.Duration
	// WatchPoll is how often WatchEvents looks for events another replica
	// sequenced; 0 means 1s.
	WatchPoll time.Duration
	// WebhookInterval is how often the webhook dispatcher looks for work
	// besides being woken by new events; 0 means 1s.
	WebhookInterval time.Duration
	// WebhookTimeout bounds one delivery; 0 means 10s.
	WebhookTimeout time.Duration
	// WebhookRetryWindow is how long a failing subscription is retried
	// before it is disabled; 0 means 24h.
	WebhookRetryWindow time.Duration
	// AllowPrivate lets webhooks call loopback, private and link-local
	// addresses, and plain http (tests, closed networks).
	AllowPrivate bool
}

// Campaigns configures the campaign launch worker.
type Campaigns struct {
	// ConfirmAbove is the target size above which a launch needs the
	// previewed count confirmed; 0 means 10000.
	ConfirmAbove int
	// Batch is how many products one step of a launch reaches; 0 means
	// 500.
	Batch int
	// Interval is how often the worker looks for work, reaching one
	// batch of each launching campaign each time; 0 means 250ms.
	Interval time.Duration
}

// Publisher publishes feed events to a broker. Publish must be
// idempotent by id: after a crash the same event is published again.
type Publisher interface {
	Publish(ctx context.Context, id int64, eventType string, body []byte) error
}

func (f *Feed) defaults() {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{
		{&f.Retention, 7 * 24 * time.Hour},
		{&f.SequenceInterval, 100 * time.Millisecond},
		{&f.WatchPoll, time.Second},
		{&f.WebhookInterval, time.Second},
		{&f.WebhookTimeout, 10 * time.Second},
		{&f.WebhookRetryWindow, 24 * time.Hour},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// Services are the aftersales.v1 service implementations of one process.
type Services struct {
	deps       Deps
	customers  *customerServer
	partners   *partnerServer
	staff      *staffServer
	tickets    *ticketServer
	audit      *auditServer
	apiKeys    *apiKeyServer
	complaints *complaintServer
	followUps  *followUpServer
	training   *trainingServer
	reports    *reportServer
	events     *eventServer
	webhooks   *webhookServer
	dispatcher *dispatcher
	campaigns  *campaignServer
	maint      *maintenanceServer
	fees       *feeServer
	claims     *warrantyClaimServer
}

// New builds the services.
func New(d Deps) *Services {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.SLAInterval <= 0 {
		d.SLAInterval = 30 * time.Second
	}
	if d.ComplaintInterval <= 0 {
		d.ComplaintInterval = 30 * time.Second
	}
	if d.QualificationInterval <= 0 {
		d.QualificationInterval = time.Minute
	}
	if d.ReportInterval <= 0 {
		d.ReportInterval = 10 * time.Second
	}
	if d.Rules.ComplaintDeadlines == nil {
		d.Rules = RulesFrom(config.Default())
	}
	d.Feed.defaults()
	if d.Campaigns.ConfirmAbove <= 0 {
		d.Campaigns.ConfirmAbove = 10000
	}
	if d.Campaigns.Batch <= 0 {
		d.Campaigns.Batch = 500
	}
	if d.Campaigns.Interval <= 0 {
		d.Campaigns.Interval = 250 * time.Millisecond
	}
	if d.MaintenanceInterval <= 0 {
		d.MaintenanceInterval = time.Minute
	}
	b := &base{db: d.DB, log: d.Logger, rules: d.Rules, feed: d.Feed, events: newSignal(), keysChanged: d.KeysChanged}
	webhooks := &webhookServer{base: b, sender: webhook.NewSender(webhook.SenderOptions{AllowPrivate: d.Feed.AllowPrivate, Timeout: d.Feed.WebhookTimeout})}
	return &Services{
		deps:       d,
		customers:  &customerServer{base: b},
		partners:   &partnerServer{base: b},
		staff:      &staffServer{base: b},
		tickets:    newTicketServer(b),
		audit:      &auditServer{base: b},
		apiKeys:    &apiKeyServer{base: b},
		complaints: &complaintServer{base: b},
		followUps:  &followUpServer{base: b},
		training:   &trainingServer{base: b},
		reports:    &reportServer{base: b},
		events:     &eventServer{base: b, poll: d.Feed.WatchPoll},
		webhooks:   webhooks,
		dispatcher: &dispatcher{s: webhooks, holder: d.ReplicaID},
		campaigns:  &campaignServer{base: b, cfg: d.Campaigns},
		maint:      &maintenanceServer{base: b},
		fees:       &feeServer{base: b},
		claims:     &warrantyClaimServer{base: b},
	}
}

// Register registers every aftersales.v1 service on s.
func (s *Services) Register(r grpc.ServiceRegistrar) {
	aftersalesv1.RegisterCustomerServiceServer(r, s.customers)
	aftersalesv1.RegisterPartnerServiceServer(r, s.partners)
	aftersalesv1.RegisterStaffServiceServer(r, s.staff)
	aftersalesv1.RegisterTicketServiceServer(r, s.tickets)
	aftersalesv1.RegisterAuditServiceServer(r, s.audit)
	aftersalesv1.RegisterApiKeyServiceServer(r, s.apiKeys)
	aftersalesv1.RegisterComplaintServiceServer(r, s.complaints)
	aftersalesv1.RegisterFollowUpServiceServer(r, s.followUps)
	aftersalesv1.RegisterTrainingServiceServer(r, s.training)
	aftersalesv1.RegisterReportServiceServer(r, s.reports)
	aftersalesv1.RegisterEventServiceServer(r, s.events)
	aftersalesv1.RegisterWebhookServiceServer(r, s.webhooks)
	aftersalesv1.RegisterCampaignServiceServer(r, s.campaigns)
	aftersalesv1.RegisterMaintenanceServiceServer(r, s.maint)
	aftersalesv1.RegisterFeeServiceServer(r, s.fees)
	aftersalesv1.RegisterWarrantyClaimServiceServer(r, s.claims)
}

// Jobs returns the background loops the services need, by name. Each
// runs until its context ends and is safe to run on every replica at once.
func (s *Services) Jobs() map[string]func(ctx context.Context) error {
	jobs := map[string]func(ctx context.Context) error{
		"sla": func(ctx context.Context) error {
			return s.tickets.runLeased(ctx, slaLease, s.deps.ReplicaID, s.deps.SLAInterval, s.tickets.CheckSLA)
		},
		"complaints": func(ctx context.Context) error {
			return s.complaints.runLeased(ctx, complaintLease, s.deps.ReplicaID, s.deps.ComplaintInterval, s.complaints.CheckComplaints)
		},
		"qualification": func(ctx context.Context) error {
			return s.training.runLeased(ctx, qualificationLease, s.deps.ReplicaID, s.deps.QualificationInterval, s.training.CheckQualifications)
		},
		"report-rollups": func(ctx context.Context) error {
			return s.reports.runLeased(ctx, reportLease, s.deps.ReplicaID, s.deps.ReportInterval, s.reports.RollUpReports)
		},
		"idempotency-purge": func(ctx context.Context) error {
			return s.tickets.runLeased(ctx, purgeLease, s.deps.ReplicaID, time.Hour, s.tickets.purgeIdempotencyKeys)
		},
		"event-sequencer": func(ctx context.Context) error {
			return s.events.runLeased(ctx, sequencerLease, s.deps.ReplicaID, s.deps.Feed.SequenceInterval, s.events.sequence)
		},
		"event-retention": func(ctx context.Context) error {
			return s.events.runLeased(ctx, retentionLease, s.deps.ReplicaID, min(time.Hour, s.deps.Feed.Retention/10), s.events.purgeEvents)
		},
		"followup-due": func(ctx context.Context) error {
			return s.events.runLeased(ctx, followUpDueLease, s.deps.ReplicaID, s.deps.ComplaintInterval, s.events.emitFollowUpsDue)
		},
		"webhooks": s.dispatcher.run,
		"campaign-launch": func(ctx context.Context) error {
			return s.campaigns.runLeased(ctx, campaignLease, s.deps.ReplicaID, s.deps.Campaigns.Interval, s.campaigns.launchStep)
		},
		"maintenance": func(ctx context.Context) error {
			return s.maint.runLeased(ctx, maintenanceLease, s.deps.ReplicaID, s.deps.MaintenanceInterval, s.maint.openDueVisits)
		},
	}
	if s.deps.Publisher != nil {
		jobs["event-publisher"] = func(ctx context.Context) error {
			return s.events.runLeased(ctx, publisherLease, s.deps.ReplicaID, s.deps.Feed.SequenceInterval, s.publish)
		}
	}
	return jobs
}

// RegisterGateway registers the JSON gateway handlers of every service on
// mux. They call through conn, this process's own gRPC server (in
// process, see app), so that JSON calls pass the same interceptors as gRPC
// calls.
func RegisterGateway(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	return errors.Join(
		aftersalesv1.RegisterCustomerServiceHandlerClient(ctx, mux, aftersalesv1.NewCustomerServiceClient(conn)),
		aftersalesv1.RegisterPartnerServiceHandlerClient(ctx, mux, aftersalesv1.NewPartnerServiceClient(conn)),
		aftersalesv1.RegisterStaffServiceHandlerClient(ctx, mux, aftersalesv1.NewStaffServiceClient(conn)),
		aftersalesv1.RegisterTicketServiceHandlerClient(ctx, mux, aftersalesv1.NewTicketServiceClient(conn)),
		aftersalesv1.RegisterAuditServiceHandlerClient(ctx, mux, aftersalesv1.NewAuditServiceClient(conn)),
		aftersalesv1.RegisterApiKeyServiceHandlerClient(ctx, mux, aftersalesv1.NewApiKeyServiceClient(conn)),
		aftersalesv1.RegisterComplaintServiceHandlerClient(ctx, mux, aftersalesv1.NewComplaintServiceClient(conn)),
		aftersalesv1.RegisterFollowUpServiceHandlerClient(ctx, mux, aftersalesv1.NewFollowUpServiceClient(conn)),
		aftersalesv1.RegisterTrainingServiceHandlerClient(ctx, mux, aftersalesv1.NewTrainingServiceClient(conn)),
		aftersalesv1.RegisterReportServiceHandlerClient(ctx, mux, aftersalesv1.NewReportServiceClient(conn)),
		aftersalesv1.RegisterEventServiceHandlerClient(ctx, mux, aftersalesv1.NewEventServiceClient(conn)),
		aftersalesv1.RegisterWebhookServiceHandlerClient(ctx, mux, aftersalesv1.NewWebhookServiceClient(conn)),
		aftersalesv1.RegisterCampaignServiceHandlerClient(ctx, mux, aftersalesv1.NewCampaignServiceClient(conn)),
		aftersalesv1.RegisterMaintenanceServiceHandlerClient(ctx, mux, aftersalesv1.NewMaintenanceServiceClient(conn)),
		aftersalesv1.RegisterFeeServiceHandlerClient(ctx, mux, aftersalesv1.NewFeeServiceClient(conn)),
		aftersalesv1.RegisterWarrantyClaimServiceHandlerClient(ctx, mux, aftersalesv1.NewWarrantyClaimServiceClient(conn)),
	)
}

// SequenceEvents gives committed events their feed positions now, for
// tests and tools that do not wait for the sequencer loop.
func (s *Services) SequenceEvents(ctx context.Context) (int, error) { return s.events.sequence(ctx) }

// PurgeEvents applies the feed's retention now.
func (s *Services) PurgeEvents(ctx context.Context) (int, error) { return s.events.purgeEvents(ctx) }

// EmitFollowUpsDue emits followup.due for follow-ups that fell due.
func (s *Services) EmitFollowUpsDue(ctx context.Context) (int, error) {
	return s.events.emitFollowUpsDue(ctx)
}

// DispatchWebhooks starts deliveries that are due now.
func (s *Services) DispatchWebhooks(ctx context.Context) error { return s.dispatcher.dispatch(ctx) }
