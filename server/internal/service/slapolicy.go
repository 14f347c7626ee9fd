package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aftersales/aftersales/server/internal/ids"

	"google.golang.org/protobuf/types/known/durationpb"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

// SLA policies belong to TicketService, so their handlers are methods of
// ticketServer.

var slaPolicyUpdatable = []string{"display_name", "response_target", "resolve_target", "pause_clock"}

// The allowed range of each SLA target.
const (
	minSlaTarget      = time.Minute
	maxResponseTarget = 30 * 24 * time.Hour
	maxResolveTarget  = 365 * 24 * time.Hour
)

// slaTarget validates one target duration and returns it in whole
// seconds, or a violation of field.
func slaTarget(field string, d *durationpb.Duration, limit time.Duration, limitText string) (int64, *apierr.Violation) {
	switch {
	case d == nil:
		return 0, &apierr.Violation{Field: field, Description: "is required"}
	case d.CheckValid() != nil:
		return 0, &apierr.Violation{Field: field, Description: "is not a valid duration"}
	case d.GetNanos() != 0:
		return 0, &apierr.Violation{Field: field, Description: "must be a whole number of seconds"}
	}
	v := d.AsDuration()
	if v < minSlaTarget || v > limit {
		return 0, &apierr.Violation{Field: field, Description: "must be between 1 minute and " + limitText}
	}
	return d.GetSeconds(), nil
}

func (s *ticketServer) CreateSlaPolicy(ctx context.Context, req *aftersalesv1.CreateSlaPolicyRequest) (*aftersalesv1.SlaPolicy, error) {
	p := req.GetSlaPolicy()
	var vs []apierr.Violation
	if p.GetPriority() == aftersalesv1.Ticket_PRIORITY_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "sla_policy.priority", Description: "is required"})
	}
	response, v := slaTarget("sla_policy.response_target", p.GetResponseTarget(), maxResponseTarget, "30 days")
	if v != nil {
		vs = append(vs, *v)
	}
	resolve, v := slaTarget("sla_policy.resolve_target", p.GetResolveTarget(), maxResolveTarget, "365 days")
	if v != nil {
		vs = append(vs, *v)
	}
	if response != 0 && resolve != 0 && resolve < response {
		vs = append(vs, apierr.Violation{Field: "sla_policy.resolve_target", Description: "must not be shorter than response_target"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return mutate(ctx, s.base, aftersalesv1.TicketService_CreateSlaPolicy_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.SlaPolicy, error) {
		now := s.now()
		row := &store.SlaPolicy{
			ID:                    ids.New(),
			Priority:              int32(p.GetPriority()),
			ResponseTargetSeconds: response,
			ResolveTargetSeconds:  resolve,
			PauseClock:            p.GetPauseClock(),
			CreateTime:            now,
			UpdateTime:            now,
			Version:               1,
		}
		row.DisplayName = slaDisplayName(p.GetDisplayName(), row.Priority)
		// A second policy for the priority fails on the unique index and
		// becomes ALREADY_EXISTS.
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return slaPolicyProto(row), nil
	})
}

func (s *ticketServer) GetSlaPolicy(ctx context.Context, req *aftersalesv1.GetSlaPolicyRequest) (*aftersalesv1.SlaPolicy, error) {
	id, err := parseName("name", req.GetName(), resname.SlaPolicies)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.SlaPolicy](ctx, s.base, s.db.Gorm(ctx), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return slaPolicyProto(row), nil
}

func (s *ticketServer) ListSlaPolicies(ctx context.Context, req *aftersalesv1.ListSlaPoliciesRequest) (*aftersalesv1.ListSlaPoliciesResponse, error) {
	rows, next, err := list[store.SlaPolicy](s.db.Gorm(ctx).Model(&store.SlaPolicy{}), listSpec{}, listRequest{
		pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListSlaPoliciesResponse{NextPageToken: next}
	for i := range rows {
		resp.SlaPolicies = append(resp.SlaPolicies, slaPolicyProto(&rows[i]))
	}
	return resp, nil
}

func (s *ticketServer) UpdateSlaPolicy(ctx context.Context, req *aftersalesv1.UpdateSlaPolicyRequest) (*aftersalesv1.SlaPolicy, error) {
	p := req.GetSlaPolicy()
	id, err := parseName("sla_policy.name", p.GetName(), resname.SlaPolicies)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), slaPolicyUpdatable)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	var response, resolve int64
	setResponse, setResolve := slices.Contains(paths, "response_target"), slices.Contains(paths, "resolve_target")
	if setResponse {
		var v *apierr.Violation
		if response, v = slaTarget("sla_policy.response_target", p.GetResponseTarget(), maxResponseTarget, "30 days"); v != nil {
			vs = append(vs, *v)
		}
	}
	if setResolve {
		var v *apierr.Violation
		if resolve, v = slaTarget("sla_policy.resolve_target", p.GetResolveTarget(), maxResolveTarget, "365 days"); v != nil {
			vs = append(vs, *v)
		}
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return updateRow(ctx, s.base, unscoped, id, p.GetName(), p.GetEtag(), slaPolicyProto, func(_ *gorm.DB, row *store.SlaPolicy) error {
		for _, path := range paths {
			switch path {
			case "display_name":
				row.DisplayName = slaDisplayName(p.GetDisplayName(), row.Priority)
			case "response_target":
				row.ResponseTargetSeconds = response
			case "resolve_target":
				row.ResolveTargetSeconds = resolve
			case "pause_clock":
				row.PauseClock = p.GetPauseClock()
			}
		}
		// The order of the targets is checked on the result, since the
		// mask may change only one of them.
		if row.ResolveTargetSeconds < row.ResponseTargetSeconds {
			field := "sla_policy.resolve_target"
			if setResponse && !setResolve {
				field = "sla_policy.response_target"
			}
			return apierr.InvalidField(field, "resolve_target must not be shorter than response_target")
		}
		return nil
	})
}

// slaDisplayName is the given name, or the priority's name when empty.
func slaDisplayName(name string, priority int32) string {
	if n := strings.TrimSpace(name); n != "" {
		return n
	}
	return aftersalesv1.Ticket_Priority(priority).String()
}

func slaPolicyProto(row *store.SlaPolicy) *aftersalesv1.SlaPolicy {
	name := resname.Format(resname.SlaPolicies, row.ID)
	return &aftersalesv1.SlaPolicy{
		Name:           name,
		DisplayName:    row.DisplayName,
		Priority:       aftersalesv1.Ticket_Priority(row.Priority),
		ResponseTarget: durationpb.New(secs(row.ResponseTargetSeconds)),
		ResolveTarget:  durationpb.New(secs(row.ResolveTargetSeconds)),
		PauseClock:     row.PauseClock,
		CreateTime:     ts(row.CreateTime),
		UpdateTime:     ts(row.UpdateTime),
		Etag:           etag.Of(name, row.Version),
	}
}
