package service_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/aftersales/aftersales/client/webhook"
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// allowPrivate lets the server call the tests' receivers on loopback.
func allowPrivate(c *config.Config) { c.WebhookAllowPrivate = true }

// delivery is one request a receiver accepted.
type delivery struct {
	event  *aftersalesv1.Event
	header string
	body   []byte
}

// receiver is a real HTTP endpoint on loopback: it verifies each
// request's signature with the client package and records the events it
// accepted, in arrival order.
type receiver struct {
	t      *testing.T
	addr   string
	mu     sync.Mutex
	secret string
	got    []delivery
	bad    int
	srv    *http.Server
	// status is what it answers; 0 means 204.
	status atomic.Int32
	// hold, when set, makes requests wait for it to close (or for the
	// sender to give up).
	hold atomic.Pointer[chan struct{}]
	// held counts requests that reached the hold.
	held atomic.Int32
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, addr: "127.0.0.1:0"}
	r.listen()
	t.Cleanup(r.kill)
	return r
}

func (r *receiver) url() string { return "http://" + r.addr + "/hooks" }

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

func (r *receiver) listen() {
	lis, err := net.Listen("tcp", r.addr)
	require.NoError(r.t, err)
	r.addr = lis.Addr().String()
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = r.srv.Serve(lis) }()
}

// kill stops the receiver, cutting off requests in flight.
func (r *receiver) kill() { _ = r.srv.Close() }

// restart serves again on the same address.
func (r *receiver) restart() { r.listen() }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		return
	}
	if hold := r.hold.Load(); hold != nil {
		r.held.Add(1)
		select {
		case <-*hold:
		case <-req.Context().Done():
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	header := req.Header.Get(webhook.Header)
	if err := webhook.Verify(r.secret, header, body, 5*time.Minute); err != nil {
		r.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if code := r.status.Load(); code != 0 {
		w.WriteHeader(int(code))
		return
	}
	ev := &aftersalesv1.Event{}
	require.NoError(r.t, protojson.Unmarshal(body, ev))
	require.Equal(r.t, req.Header.Get(webhook.EventIDHeader), strconv.FormatInt(ev.GetId(), 10))
	r.got = append(r.got, delivery{event: ev, header: header, body: body})
	w.WriteHeader(http.StatusNoContent)
}

// received returns what was accepted so far.
func (r *receiver) received() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// requireAll waits until the receiver has accepted every event of want,
// then checks at-least-once and order: every event arrived, and each
// resource's events arrived in feed order (a repeat of an event already
// delivered may come again, never an older one after a newer).
func (r *receiver) requireAll(want []*aftersalesv1.Event) {
	r.t.Helper()
	ids := map[int64]bool{}
	for _, ev := range want {
		ids[ev.GetId()] = true
	}
	require.Eventually(r.t, func() bool {
		seen := map[int64]bool{}
		for _, d := range r.received() {
			seen[d.event.GetId()] = true
		}
		for id := range ids {
			if !seen[id] {
				return false
			}
		}
		return true
	}, 30*time.Second, 20*time.Millisecond, "every committed event is delivered")
	last := map[string]int64{}
	for _, d := range r.received() {
		ev := d.event
		require.True(r.t, ids[ev.GetId()], "event %d (%s) was delivered but is not in the feed", ev.GetId(), ev.GetType())
		require.GreaterOrEqual(r.t, ev.GetId(), last[ev.GetResource()], "events of %s in order", ev.GetResource())
		last[ev.GetResource()] = ev.GetId()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Zero(r.t, r.bad, "every signature verified")
}

// ticketWork opens n tickets on e and dispatches each to the shop.
func ticketWork(t *testing.T, e *env, f *fixture, n int) {
	for range n {
		tk := e.newTicket(f, f.inWarranty)
		_, err := e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: f.partner.GetName()})
		require.NoError(t, err)
	}
}

// TestWebhookDelivery: a subscription receives every event it matches,
// signed, in order; a receiver that dies is caught up after it returns;
// deliveries are listed with their status codes and latencies; an event
// can be sent again.
func TestWebhookDelivery(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, allowPrivate)
			f := e.seed()
			rcv := newReceiver(t)
			hook, err := e.webhooks.CreateWebhook(e.admin(), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{
				DisplayName: "CRM", Url: rcv.url(), EventTypes: []string{"ticket.*"},
			}})
			require.NoError(t, err)
			require.NotEmpty(t, hook.GetSecret())
			require.True(t, hook.GetEnabled())
			rcv.setSecret(hook.GetSecret())
			start := hook.GetDeliveredEventId()

			ticketWork(t, e, f, 3)
			want := e.feed(e.admin(), start, `resource_type = "ticket"`)
			require.Len(t, want, 6)
			rcv.requireAll(want)

			// A tampered body fails verification.
			d := rcv.received()[0]
			tampered := append([]byte(nil), d.body...)
			tampered[len(tampered)-2] ^= 1
			require.ErrorIs(t, webhook.Verify(hook.GetSecret(), d.header, tampered, 5*time.Minute), webhook.ErrMismatch)
			require.NoError(t, webhook.Verify(hook.GetSecret(), d.header, d.body, 5*time.Minute))

			// The receiver dies mid-stream: deliveries fail and back off.
			rcv.kill()
			ticketWork(t, e, f, 2)
			want = e.feed(e.admin(), start, `resource_type = "ticket"`)
			require.Eventually(t, func() bool {
				h, err := e.webhooks.GetWebhook(e.admin(), &aftersalesv1.GetWebhookRequest{Name: hook.GetName()})
				require.NoError(t, err)
				return h.GetFailingSince() != nil
			}, 30*time.Second, 20*time.Millisecond)
			rcv.restart()
			e.clock.Advance(time.Hour) // past the backoff
			require.NoError(t, e.app.Services().DispatchWebhooks(context.Background()))
			rcv.requireAll(want)

			// The server records a delivery after the receiver answered.
			var h *aftersalesv1.Webhook
			require.Eventually(t, func() bool {
				h, err = e.webhooks.GetWebhook(e.admin(), &aftersalesv1.GetWebhookRequest{Name: hook.GetName()})
				require.NoError(t, err)
				return h.GetDeliveredEventId() == want[len(want)-1].GetId()
			}, 30*time.Second, 20*time.Millisecond)
			require.Nil(t, h.GetFailingSince())
			require.Empty(t, h.GetSecret(), "the secret is shown once")

			ds, err := e.webhooks.ListWebhookDeliveries(e.admin(), &aftersalesv1.ListWebhookDeliveriesRequest{Parent: hook.GetName(), PageSize: 1000})
			require.NoError(t, err)
			var failed, ok int
			for _, d := range ds.GetDeliveries() {
				if d.GetSuccess() {
					ok++
					require.EqualValues(t, http.StatusNoContent, d.GetStatusCode())
					require.Positive(t, d.GetLatency().AsDuration())
				} else {
					failed++
					require.Zero(t, d.GetStatusCode())
					require.NotEmpty(t, d.GetError())
				}
			}
			require.GreaterOrEqual(t, ok, len(want))
			require.Positive(t, failed)
			failures, err := e.webhooks.ListWebhookDeliveries(e.admin(), &aftersalesv1.ListWebhookDeliveriesRequest{Parent: hook.GetName(), Filter: "success = false"})
			require.NoError(t, err)
			require.Len(t, failures.GetDeliveries(), failed)

			// Redelivery sends one event again, now.
			before := len(rcv.received())
			again, err := e.webhooks.RedeliverEvent(e.admin(), &aftersalesv1.RedeliverEventRequest{Name: hook.GetName(), Event: want[0].GetName()})
			require.NoError(t, err)
			require.True(t, again.GetSuccess())
			require.True(t, again.GetRedelivery())
			got := rcv.received()
			require.Len(t, got, before+1)
			require.Equal(t, want[0].GetId(), got[before].event.GetId())
			// Not an event of this subscription (a customer's, not a
			// ticket's): NOT_FOUND.
			custEvents := e.feed(e.admin(), 0, `resource_type = "customer"`)
			require.NotEmpty(t, custEvents)
			_, err = e.webhooks.RedeliverEvent(e.admin(), &aftersalesv1.RedeliverEventRequest{Name: hook.GetName(), Event: custEvents[0].GetName()})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			_, err = e.webhooks.RedeliverEvent(e.admin(), &aftersalesv1.RedeliverEventRequest{Name: hook.GetName(), Event: "events/x"})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
		})
	}
}

// TestWebhookDisabledAfterRetryWindow: a receiver failing for the whole
// retry window gets its subscription disabled, recorded in the audit
// trail and the feed; enabling it again resumes where it stopped.
func TestWebhookDisabledAfterRetryWindow(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, allowPrivate)
			f := e.seed()
			rcv := newReceiver(t)
			rcv.status.Store(http.StatusInternalServerError)
			hook, err := e.webhooks.CreateWebhook(e.admin(), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: rcv.url(), EventTypes: []string{"ticket.*"}}})
			require.NoError(t, err)
			rcv.setSecret(hook.GetSecret())
			tk := e.newTicket(f, f.inWarranty)
			want := e.feed(e.admin(), hook.GetDeliveredEventId(), `resource_type = "ticket"`)

			attempts := func() int {
				ds, err := e.webhooks.ListWebhookDeliveries(e.admin(), &aftersalesv1.ListWebhookDeliveriesRequest{Parent: hook.GetName(), PageSize: 1000})
				require.NoError(t, err)
				for _, d := range ds.GetDeliveries() {
					require.False(t, d.GetSuccess())
					require.EqualValues(t, http.StatusInternalServerError, d.GetStatusCode())
				}
				return len(ds.GetDeliveries())
			}
			require.Eventually(t, func() bool { return attempts() == 1 }, 30*time.Second, 20*time.Millisecond)
			// Retries every two hours (the backoff is at most one): the
			// twelfth retry comes 24 h after the first failure.
			for range 12 {
				n := attempts()
				e.clock.Advance(2 * time.Hour)
				require.NoError(t, e.app.Services().DispatchWebhooks(context.Background()))
				require.Eventually(t, func() bool { return attempts() == n+1 }, 30*time.Second, 20*time.Millisecond)
			}
			got, err := e.webhooks.GetWebhook(e.admin(), &aftersalesv1.GetWebhookRequest{Name: hook.GetName()})
			require.NoError(t, err)
			require.False(t, got.GetEnabled())
			require.Contains(t, got.GetDisabledReason(), "HTTP 500")
			audit, err := e.audits.ListAuditRecords(e.admin(), &aftersalesv1.ListAuditRecordsRequest{Filter: `resource = "` + hook.GetName() + `" AND principal = "system/webhooks"`})
			require.NoError(t, err)
			require.Len(t, audit.GetAuditRecords(), 1)
			// The trail never keeps the secret, not even in the record of
			// the creation, which keeps the new webhook whole.
			all, err := e.audits.ListAuditRecords(e.admin(), &aftersalesv1.ListAuditRecordsRequest{Filter: `resource = "` + hook.GetName() + `"`})
			require.NoError(t, err)
			require.Len(t, all.GetAuditRecords(), 2)
			for _, rec := range all.GetAuditRecords() {
				require.NotEmpty(t, rec.GetChanges())
				for _, c := range rec.GetChanges() {
					require.NotEqual(t, "secret", c.GetField())
					require.NotContains(t, c.GetNewValue()+c.GetOldValue(), hook.GetSecret())
				}
			}
			disabled := e.feed(e.admin(), 0, `type = "webhook.disabled"`)
			require.Len(t, disabled, 1)
			require.Equal(t, hook.GetName(), disabled[0].GetResource())
			w := &aftersalesv1.Webhook{}
			require.NoError(t, disabled[0].GetData().UnmarshalTo(w))
			require.Empty(t, w.GetSecret(), "the feed never carries a secret")

			// Disabled: nothing more is tried.
			n := attempts()
			e.clock.Advance(2 * time.Hour)
			require.NoError(t, e.app.Services().DispatchWebhooks(context.Background()))
			require.Equal(t, n, attempts())

			// Fixed and enabled again: it resumes with the event it was stuck on.
			rcv.status.Store(0)
			_, err = e.webhooks.UpdateWebhook(e.admin(), &aftersalesv1.UpdateWebhookRequest{Webhook: &aftersalesv1.Webhook{Name: hook.GetName(), Enabled: true}, UpdateMask: mask("enabled")})
			require.NoError(t, err)
			rcv.requireAll(want)
			require.Equal(t, tk.GetName(), rcv.received()[0].event.GetResource())
		})
	}
}

// TestWebhookReplicasAndRestart: two replicas on one database deliver
// every event once at least and in order per resource, through a server
// stopped mid-delivery and a new one started in its place.
func TestWebhookReplicasAndRestart(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			url := storetest.URL(t, dialect)
			a := startURL(t, url, allowPrivate)
			f := a.seed()
			b := startURL(t, url, allowPrivate)
			rcv := newReceiver(t)
			hold := make(chan struct{})
			rcv.hold.Store(&hold)
			hook, err := a.webhooks.CreateWebhook(a.admin(), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: rcv.url(), EventTypes: []string{"ticket.*"}}})
			require.NoError(t, err)
			rcv.setSecret(hook.GetSecret())

			ticketWork(t, a, f, 3)
			ticketWork(t, b, f, 3)
			// Whichever replica holds the subscription is now waiting on
			// the receiver; stop both mid-delivery, then bring a new
			// one up on the same database.
			require.Eventually(t, func() bool { return rcv.held.Load() > 0 }, 30*time.Second, 10*time.Millisecond)
			a.stop()
			b.stop()
			rcv.hold.Store(nil)
			close(hold)
			c := startURL(t, url, allowPrivate)
			d := startURL(t, url, allowPrivate)
			ticketWork(t, c, f, 2)
			ticketWork(t, d, f, 2)
			// A failed call on a replica emits nothing.
			_, err = d.tickets.CloseTicket(as(f.agent.GetName()), &aftersalesv1.CloseTicketRequest{Name: "tickets/nope"})
			require.Error(t, err)

			want := c.feed(as(f.manager.GetName()), hook.GetDeliveredEventId(), `resource_type = "ticket"`)
			require.Len(t, want, 20)
			rcv.requireAll(want)
		})
	}
}

// TestWebhookAccess: who may subscribe to what, and the refusals.
func TestWebhookAccess(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			other := e.otherShop()
			shop := as(f.partner.GetName())
			public := "https://93.184.216.34/hooks"

			for _, c := range []struct {
				name   string
				hook   *aftersalesv1.Webhook
				reason aftersalesv1.ErrorReason
				field  string
			}{
				{"no url", &aftersalesv1.Webhook{}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "webhook.url"},
				{"plain http", &aftersalesv1.Webhook{Url: "http://93.184.216.34/hooks"}, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED, "webhook.url"},
				{"loopback", &aftersalesv1.Webhook{Url: "https://127.0.0.1/hooks"}, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED, "webhook.url"},
				{"private", &aftersalesv1.Webhook{Url: "https://10.0.0.7/hooks"}, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED, "webhook.url"},
				{"link-local", &aftersalesv1.Webhook{Url: "https://169.254.169.254/latest"}, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED, "webhook.url"},
				{"bad type", &aftersalesv1.Webhook{Url: public, EventTypes: []string{"ticket.created", "Tickets"}}, aftersalesv1.ErrorReason_FIELD_VIOLATION, "webhook.event_types[1]"},
			} {
				t.Run(c.name, func(t *testing.T) {
					_, err := e.webhooks.CreateWebhook(shop, &aftersalesv1.CreateWebhookRequest{Webhook: c.hook})
					requireCode(t, err, codes.InvalidArgument, c.reason)
					require.Equal(t, c.field, apierrField(err))
				})
			}
			_, err := e.webhooks.CreateWebhook(as(f.agent.GetName()), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: public}})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)

			mine, err := e.webhooks.CreateWebhook(shop, &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: public}, RequestId: "hook-1"})
			require.NoError(t, err)
			require.Equal(t, f.partner.GetName(), mine.GetPartner())
			retry, err := e.webhooks.CreateWebhook(shop, &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: public}, RequestId: "hook-1"})
			require.NoError(t, err)
			require.Equal(t, mine.GetName(), retry.GetName(), "a retry creates nothing twice")
			company, err := e.webhooks.CreateWebhook(e.admin(), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: public}})
			require.NoError(t, err)

			list, err := e.webhooks.ListWebhooks(shop, &aftersalesv1.ListWebhooksRequest{})
			require.NoError(t, err)
			require.Len(t, list.GetWebhooks(), 1)
			list, err = e.webhooks.ListWebhooks(e.admin(), &aftersalesv1.ListWebhooksRequest{})
			require.NoError(t, err)
			require.Len(t, list.GetWebhooks(), 2)
			for _, name := range []string{company.GetName(), mine.GetName()} {
				_, err = e.webhooks.GetWebhook(as(other.GetName()), &aftersalesv1.GetWebhookRequest{Name: name})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				_, err = e.webhooks.ListWebhookDeliveries(as(other.GetName()), &aftersalesv1.ListWebhookDeliveriesRequest{Parent: name})
				requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			}
			_, err = e.webhooks.UpdateWebhook(shop, &aftersalesv1.UpdateWebhookRequest{Webhook: &aftersalesv1.Webhook{Name: mine.GetName(), Enabled: false, Etag: `"stale"`}, UpdateMask: mask("enabled")})
			require.Equal(t, codes.Aborted, status.Code(err))
			upd, err := e.webhooks.UpdateWebhook(shop, &aftersalesv1.UpdateWebhookRequest{Webhook: &aftersalesv1.Webhook{Name: mine.GetName(), EventTypes: []string{"ticket.*"}, Etag: mine.GetEtag()}, UpdateMask: mask("event_types")})
			require.NoError(t, err)
			require.Equal(t, []string{"ticket.*"}, upd.GetEventTypes())
			_, err = e.webhooks.UpdateWebhook(shop, &aftersalesv1.UpdateWebhookRequest{Webhook: &aftersalesv1.Webhook{Name: mine.GetName(), Url: "https://192.168.1.1/"}, UpdateMask: mask("url")})
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED)
			_, err = e.webhooks.DeleteWebhook(as(other.GetName()), &aftersalesv1.DeleteWebhookRequest{Name: mine.GetName()})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			_, err = e.webhooks.DeleteWebhook(shop, &aftersalesv1.DeleteWebhookRequest{Name: mine.GetName()})
			require.NoError(t, err)
			_, err = e.webhooks.GetWebhook(shop, &aftersalesv1.GetWebhookRequest{Name: mine.GetName()})
			requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)

			// The shop follows its subscriptions in the feed; desk roles
			// do not see them.
			shopFeed := e.feed(shop, 0, `resource_type = "webhook"`)
			require.Equal(t, []string{"webhook.created", "webhook.updated", "webhook.deleted"}, types(shopFeed, mine.GetName()))
			require.Empty(t, e.feed(as(f.manager.GetName()), 0, `resource_type = "webhook"`))

			// Over JSON, as a shop's integration would subscribe.
			r := e.do(http.MethodPost, "/v1/webhooks", f.partner.GetName(), map[string]any{"url": "https://127.0.0.1/x"})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED)
			r = e.do(http.MethodPost, "/v1/webhooks", f.partner.GetName(), map[string]any{"url": public, "eventTypes": []string{"ticket.assigned"}})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.NotEmpty(t, r.body["secret"])
		})
	}
}

// TestPartnerWebhookScope: a shop's subscription receives the events of
// the tickets dispatched to it, and nothing of another shop's.
func TestPartnerWebhookScope(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, allowPrivate)
			f := e.seed()
			other := e.otherShop()
			rcv := newReceiver(t)
			hook, err := e.webhooks.CreateWebhook(as(f.partner.GetName()), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: rcv.url(), EventTypes: []string{"ticket.*"}}})
			require.NoError(t, err)
			rcv.setSecret(hook.GetSecret())
			ticketWork(t, e, f, 2)
			theirs := e.newTicket(f, f.outOfWarranty)
			_, err = e.tickets.AssignTicket(as(f.agent.GetName()), &aftersalesv1.AssignTicketRequest{Name: theirs.GetName(), Partner: other.GetName()})
			require.NoError(t, err)

			want := e.feed(as(f.partner.GetName()), hook.GetDeliveredEventId(), `resource_type = "ticket"`)
			require.Len(t, want, 2, "the two dispatches")
			rcv.requireAll(want)
			for _, d := range rcv.received() {
				require.NotEqual(t, theirs.GetName(), d.event.GetResource())
			}
		})
	}
}

func apierrField(err error) string {
	vs := apierr.FieldViolations(err)
	if len(vs) == 0 {
		return ""
	}
	return vs[0].Field
}

// TestSlowReceiverDelaysOnlyItself: a receiver that hangs holds up its
// own subscription, not another's.
func TestSlowReceiverDelaysOnlyItself(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect, allowPrivate)
			f := e.seed()
			slow, fast := newReceiver(t), newReceiver(t)
			hold := make(chan struct{})
			defer close(hold)
			slow.hold.Store(&hold)
			var hooks []*aftersalesv1.Webhook
			for _, r := range []*receiver{slow, fast} {
				h, err := e.webhooks.CreateWebhook(e.admin(), &aftersalesv1.CreateWebhookRequest{Webhook: &aftersalesv1.Webhook{Url: r.url(), EventTypes: []string{"ticket.*"}}})
				require.NoError(t, err)
				r.setSecret(h.GetSecret())
				hooks = append(hooks, h)
			}
			ticketWork(t, e, f, 3)
			fast.requireAll(e.feed(e.admin(), hooks[1].GetDeliveredEventId(), `resource_type = "ticket"`))
			// The slow one's first delivery may reach it after the fast one
			// has had everything; it must be held there, nothing received.
			require.Eventually(t, func() bool { return slow.held.Load() > 0 }, 10*time.Second, 10*time.Millisecond,
				"the slow receiver holds its first delivery")
			require.Empty(t, slow.received())
		})
	}
}
