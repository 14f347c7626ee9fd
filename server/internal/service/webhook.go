package service

import (
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/changefeed"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/webhook"
)

type webhookServer struct {
	aftersalesv1.UnimplementedWebhookServiceServer
	*base
	sender *webhook.Sender
}

var webhookUpdatable = []string{"display_name", "url", "event_types", "enabled"}

// maxEventTypes bounds a subscription's event type list.
const maxEventTypes = 50

// webhookScope limits a webhooks query: admins manage every
// subscription, a shop its own.
func webhookScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin:
		return q
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	}
	return q.Where(nothing)
}

// webhookOwner is the principal whose view of the feed a subscription
// receives: its shop's, or the company's whole feed.
func webhookOwner(row *store.Webhook) principal.Principal {
	if row.PartnerID != "" {
		return principal.Principal{Kind: principal.Partner, Role: principal.RolePartner, Name: resname.Format(resname.Partners, row.PartnerID)}
	}
	return principal.Principal{Kind: principal.System, Role: principal.RoleAdmin, Name: "system/webhooks"}
}

func webhookProto(row *store.Webhook) *aftersalesv1.Webhook {
	w := &aftersalesv1.Webhook{
		Name: resname.Format(resname.Webhooks, row.ID), DisplayName: row.DisplayName, Url: row.URL,
		Enabled: row.Enabled, DisabledReason: row.DisabledReason, FailingSince: tsPtr(row.FailingSince),
		DeliveredEventId: row.DeliveredSeq, CreateTime: ts(row.CreateTime), UpdateTime: ts(row.UpdateTime),
		Etag: etag.Of(resname.Format(resname.Webhooks, row.ID), row.Version),
	}
	if row.EventTypes != "" {
		w.EventTypes = strings.Split(row.EventTypes, ",")
	}
	if row.PartnerID != "" {
		w.Partner = resname.Format(resname.Partners, row.PartnerID)
	}
	return w
}

// checkWebhook validates the fields of w named in paths.
func (s *webhookServer) checkWebhook(ctx context.Context, w *aftersalesv1.Webhook, paths []string) error {
	var vs []apierr.Violation
	reason := aftersalesv1.ErrorReason_FIELD_VIOLATION
	for _, p := range paths {
		switch p {
		case "display_name":
			if len(w.GetDisplayName()) > 200 {
				vs = append(vs, apierr.Violation{Field: "webhook.display_name", Description: "must be at most 200 characters"})
			}
		case "url":
			if w.GetUrl() == "" {
				vs = append(vs, apierr.Violation{Field: "webhook.url", Description: "is required"})
				continue
			}
			var ue *webhook.URLError
			if err := webhook.CheckURL(ctx, w.GetUrl(), s.feed.AllowPrivate, nil); errors.As(err, &ue) {
				vs = append(vs, apierr.Violation{Field: "webhook.url", Description: ue.Error()})
				reason = aftersalesv1.ErrorReason_WEBHOOK_URL_REFUSED
			} else if err != nil {
				return err
			}
		case "event_types":
			if len(w.GetEventTypes()) > maxEventTypes {
				vs = append(vs, apierr.Violation{Field: "webhook.event_types", Description: "must list at most " + strconv.Itoa(maxEventTypes) + " types"})
			}
			for i, t := range w.GetEventTypes() {
				if err := changefeed.CheckPattern(t); err != nil {
					vs = append(vs, apierr.Violation{Field: "webhook.event_types[" + strconv.Itoa(i) + "]", Description: err.Error()})
				}
			}
		}
	}
	if len(vs) > 0 {
		return apierr.Invalid(reason, vs...)
	}
	return nil
}

func (s *webhookServer) CreateWebhook(ctx context.Context, req *aftersalesv1.CreateWebhookRequest) (*aftersalesv1.Webhook, error) {
	w := req.GetWebhook()
	if err := s.checkWebhook(ctx, w, webhookUpdatable); err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	// Delivery starts after the events committed before the call.
	top, err := s.feedNow(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return mutate(ctx, s.base, aftersalesv1.WebhookService_CreateWebhook_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Webhook, error) {
		now := s.now()
		row := &store.Webhook{
			ID: ids.New(), DisplayName: w.GetDisplayName(), URL: w.GetUrl(), EventTypes: strings.Join(w.GetEventTypes(), ","),
			Secret: "whsec_" + rand.Text(), Enabled: true, DeliveredSeq: top,
			CreateTime: now, UpdateTime: now, Version: 1,
		}
		if caller.Role == principal.RolePartner {
			row.PartnerID = caller.ID()
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		out := webhookProto(row)
		out.Secret = row.Secret
		return out, nil
	})
}

func (s *webhookServer) GetWebhook(ctx context.Context, req *aftersalesv1.GetWebhookRequest) (*aftersalesv1.Webhook, error) {
	id, err := parseName("name", req.GetName(), resname.Webhooks)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.Webhook](ctx, s.base, webhookScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return webhookProto(row), nil
}

func (s *webhookServer) ListWebhooks(ctx context.Context, req *aftersalesv1.ListWebhooksRequest) (*aftersalesv1.ListWebhooksResponse, error) {
	rows, next, err := list[store.Webhook](webhookScope(s.db.Gorm(ctx).Model(&store.Webhook{}), principal.FromContext(ctx)), listSpec{}, listRequest{
		pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListWebhooksResponse{NextPageToken: next}
	for i := range rows {
		resp.Webhooks = append(resp.Webhooks, webhookProto(&rows[i]))
	}
	return resp, nil
}

func (s *webhookServer) UpdateWebhook(ctx context.Context, req *aftersalesv1.UpdateWebhookRequest) (*aftersalesv1.Webhook, error) {
	w := req.GetWebhook()
	id, err := parseName("webhook.name", w.GetName(), resname.Webhooks)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), webhookUpdatable)
	if err != nil {
		return nil, err
	}
	if err := s.checkWebhook(ctx, w, paths); err != nil {
		return nil, err
	}
	scope := func(q *gorm.DB) *gorm.DB { return webhookScope(q, principal.FromContext(ctx)) }
	return updateRow(ctx, s.base, scope, id, w.GetName(), w.GetEtag(), webhookProto, func(_ *gorm.DB, row *store.Webhook) error {
		for _, p := range paths {
			switch p {
			case "display_name":
				row.DisplayName = w.GetDisplayName()
			case "url":
				if row.URL != w.GetUrl() {
					row.URL = w.GetUrl()
					retryNow(row)
				}
			case "event_types":
				row.EventTypes = strings.Join(w.GetEventTypes(), ",")
			case "enabled":
				if w.GetEnabled() && !row.Enabled {
					// Resuming: where it stopped, at once.
					row.DisabledReason = ""
					retryNow(row)
				}
				row.Enabled = w.GetEnabled()
			}
		}
		return nil
	})
}

// retryNow forgets a subscription's failures, so the next event is tried
// at once (a new URL, a resumed subscription).
func retryNow(row *store.Webhook) {
	row.Attempts, row.FailingSince, row.NextAttemptTime = 0, nil, nil
}

func (s *webhookServer) DeleteWebhook(ctx context.Context, req *aftersalesv1.DeleteWebhookRequest) (*emptypb.Empty, error) {
	id, err := parseName("name", req.GetName(), resname.Webhooks)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	err = s.db.InTx(ctx, func(tx *gorm.DB) error {
		var row store.Webhook
		if err := lockRow(webhookScope(tx, caller), &row, id); err != nil {
			return err
		}
		if err := checkEtag(req.GetEtag(), req.GetName(), row.Version); err != nil {
			return err
		}
		if err := store.Translate(tx.Where("webhook_id = ?", id).Delete(&store.WebhookDelivery{}).Error); err != nil {
			return err
		}
		if err := store.Translate(tx.Delete(&row).Error); err != nil {
			return err
		}
		return s.audit(ctx, tx, req.GetName(), webhookProto(&row), nil)
	})
	if isNotFound(err) {
		return nil, notFound(req.GetName())
	}
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return &emptypb.Empty{}, nil
}

var deliveryList = listSpec{columns: []column{
	{field: filter.Field{Name: "event"}, name: "event_seq", conv: eventSeqValue},
	{field: filter.Field{Name: "success", Kind: filter.KindBool}, name: "success"},
	{field: filter.Field{Name: "status_code", Kind: filter.KindInt}, name: "status_code"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// eventSeqValue turns "events/{id}" into the id.
func eventSeqValue(v any) (any, error) {
	seq, ok := parseEventName(v.(string))
	if !ok {
		return nil, errors.New("must be an event name events/{id}")
	}
	return seq, nil
}

func parseEventName(name string) (int64, bool) {
	id, ok := resname.ID(name, resname.Events)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(id, 10, 64)
	return seq, err == nil && seq > 0
}

func (s *webhookServer) ListWebhookDeliveries(ctx context.Context, req *aftersalesv1.ListWebhookDeliveriesRequest) (*aftersalesv1.ListWebhookDeliveriesResponse, error) {
	id, err := parseName("parent", req.GetParent(), resname.Webhooks)
	if err != nil {
		return nil, err
	}
	if _, err := getRow[store.Webhook](ctx, s.base, webhookScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetParent()); err != nil {
		return nil, err
	}
	rows, next, err := list[store.WebhookDelivery](s.db.Gorm(ctx).Model(&store.WebhookDelivery{}).Where("webhook_id = ?", id), deliveryList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: "create_time desc", pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for i := range rows {
		resp.Deliveries = append(resp.Deliveries, deliveryProto(&rows[i]))
	}
	return resp, nil
}

func deliveryProto(row *store.WebhookDelivery) *aftersalesv1.WebhookDelivery {
	return &aftersalesv1.WebhookDelivery{
		Name:  resname.Format(resname.Webhooks, row.WebhookID, "deliveries", row.ID),
		Event: resname.Format(resname.Events, strconv.FormatInt(row.EventSeq, 10)), EventType: row.EventType,
		Attempt: row.Attempt, StatusCode: row.StatusCode, Success: row.Success, Error: row.Error,
		Latency: durationpb.New(time.Duration(row.LatencyUs) * time.Microsecond), Redelivery: row.Redelivery,
		CreateTime: ts(row.CreateTime),
	}
}

func (s *webhookServer) RedeliverEvent(ctx context.Context, req *aftersalesv1.RedeliverEventRequest) (*aftersalesv1.WebhookDelivery, error) {
	id, err := parseName("name", req.GetName(), resname.Webhooks)
	if err != nil {
		return nil, err
	}
	seq, ok := parseEventName(req.GetEvent())
	if !ok {
		return nil, apierr.InvalidField("event", "must be an event name events/{id}")
	}
	sub, err := getRow[store.Webhook](ctx, s.base, webhookScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	// Only an event the subscription would receive: its owner's view,
	// its types.
	var ev store.Event
	err = store.Translate(eventScope(s.db.Gorm(ctx), webhookOwner(sub)).Where("seq = ?", seq).Take(&ev).Error)
	if err == nil && !changefeed.Match(splitTypes(sub.EventTypes), ev.Type) {
		err = store.ErrNotFound
	}
	if isNotFound(err) {
		return nil, notFound(req.GetEvent())
	} else if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	row, err := s.deliver(ctx, sub, &ev, 0, true)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return deliveryProto(row), nil
}

func splitTypes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// deliver sends one event to a subscription and records the attempt.
func (s *webhookServer) deliver(ctx context.Context, sub *store.Webhook, ev *store.Event, attempt int32, redelivery bool) (*store.WebhookDelivery, error) {
	msg, err := eventFor(ev, webhookOwner(sub))
	if err != nil {
		return nil, err
	}
	body, err := eventJSON.Marshal(msg)
	if err != nil {
		return nil, err
	}
	res := s.sender.Send(ctx, sub.URL, sub.Secret, *ev.Seq, ev.Type, body)
	row := &store.WebhookDelivery{
		ID: ids.New(), WebhookID: sub.ID, EventSeq: *ev.Seq, EventType: ev.Type, Attempt: attempt + 1,
		StatusCode: int32(res.StatusCode), Success: res.Err == nil, LatencyUs: res.Latency.Microseconds(),
		Redelivery: redelivery, CreateTime: s.now(),
	}
	if res.Err != nil {
		row.Error = truncate(res.Err.Error(), 500)
	}
	if redelivery {
		return row, store.Translate(s.db.Gorm(ctx).Create(row).Error)
	}
	return row, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// withoutSecret is w without its signing secret, for the audit trail and
// the feed, which must never carry it.
func withoutSecret(m proto.Message) proto.Message {
	if w, ok := m.(*aftersalesv1.Webhook); ok && w.GetSecret() != "" {
		w = proto.CloneOf(w)
		w.Secret = ""
		return w
	}
	return m
}
