package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// WarrantyClaimService: the claims' reads and reviews. Claims are made
// and held by their tickets (claim_ticket.go); settlement statements are
// in settlement.go.

// warrantyClaimServer implements WarrantyClaimService.
type warrantyClaimServer struct {
	aftersalesv1.UnimplementedWarrantyClaimServiceServer
	*base
}

var claimList = listSpec{columns: []column{
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.WarrantyClaim_State_name)}, name: "state", conv: enumValue(aftersalesv1.WarrantyClaim_State_value)},
	{field: filter.Field{Name: "ticket"}, name: "ticket_id", conv: nameValue(resname.Tickets)},
	{field: filter.Field{Name: "product_model"}, name: "product_model"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// claimScope limits a warranty_claims query to the claims the caller may
// see: reviewers every shop's, a shop its own. The company's own cost
// records (an empty partner_id) are no shop's claim and never an API resource.
func claimScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	q = q.Where("partner_id <> ''")
	switch p.Role {
	case principal.RoleAdmin, principal.RoleManager:
		return q
	case principal.RolePartner:
		return q.Where("partner_id = ?", p.ID())
	}
	return q.Where(nothing)
}

// partnerVisible checks that the partner a claim or statement name
// belongs to exists and is the caller's to see: a shop sees only itself.
// Anything else is NOT_FOUND naming name.
func partnerVisible(db *gorm.DB, p principal.Principal, partnerID, name string) error {
	if p.Role == principal.RolePartner && partnerID != p.ID() {
		return notFound(name)
	}
	ok, err := exists(db, &store.Partner{}, partnerID)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(name)
	}
	return nil
}

func (s *warrantyClaimServer) GetWarrantyClaim(ctx context.Context, req *aftersalesv1.GetWarrantyClaimRequest) (*aftersalesv1.WarrantyClaim, error) {
	partnerID, id, err := parseClaimName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	q := claimScope(db, principal.FromContext(ctx)).Where("partner_id = ?", partnerID)
	row, err := getRow[store.WarrantyClaim](ctx, s.base, q, id, req.GetName())
	if err != nil {
		return nil, err
	}
	lines, err := chargeLinesOf(db, row.ID)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	return claimProto(row, lines[row.ID]), nil
}

func (s *warrantyClaimServer) ListWarrantyClaims(ctx context.Context, req *aftersalesv1.ListWarrantyClaimsRequest) (*aftersalesv1.ListWarrantyClaimsResponse, error) {
	partnerID, err := parseName("parent", req.GetParent(), resname.Partners)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	db := s.db.Gorm(ctx)
	q := claimScope(db.Model(&store.WarrantyClaim{}), caller)
	if partnerID != resname.Wildcard {
		if err := partnerVisible(db, caller, partnerID, req.GetParent()); err != nil {
			return nil, s.toStatus(ctx, err)
		}
		q = q.Where("partner_id = ?", partnerID)
	}
	order := req.GetOrderBy()
	if strings.TrimSpace(order) == "" {
		order = "create_time desc"
	}
	rows, next, err := list[store.WarrantyClaim](q, claimList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: order, pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	claimIDs := make([]string, len(rows))
	for i := range rows {
		claimIDs[i] = rows[i].ID
	}
	lines, err := chargeLinesOf(db, claimIDs...)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListWarrantyClaimsResponse{NextPageToken: next}
	for i := range rows {
		resp.Claims = append(resp.Claims, claimProto(&rows[i], lines[rows[i].ID]))
	}
	return resp, nil
}

func (s *warrantyClaimServer) ApproveWarrantyClaim(ctx context.Context, req *aftersalesv1.ApproveWarrantyClaimRequest) (*aftersalesv1.WarrantyClaim, error) {
	return s.review(ctx, aftersalesv1.WarrantyClaimService_ApproveWarrantyClaim_FullMethodName, req, req.GetName(), req.GetEtag(),
		func(row *store.WarrantyClaim, now time.Time) error {
			if err := claimStateIn(row, "approved", claimSubmitted); err != nil {
				return err
			}
			approve(row, row.ClaimedMinor, "", now)
			return nil
		})
}

func (s *warrantyClaimServer) AdjustWarrantyClaim(ctx context.Context, req *aftersalesv1.AdjustWarrantyClaimRequest) (*aftersalesv1.WarrantyClaim, error) {
	amount, err := moneyIn("approved_amount", req.GetApprovedAmount(), "")
	if err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(req.GetReason())
	if reason == "" {
		return nil, apierr.InvalidField("reason", "is required: the shop is shown why the amount differs")
	}
	return s.review(ctx, aftersalesv1.WarrantyClaimService_AdjustWarrantyClaim_FullMethodName, req, req.GetName(), req.GetEtag(),
		func(row *store.WarrantyClaim, now time.Time) error {
			if err := claimStateIn(row, "adjusted", claimSubmitted); err != nil {
				return err
			}
			if amount.Currency != row.Currency {
				return apierr.Invalid(aftersalesv1.ErrorReason_CURRENCY_MISMATCH, apierr.Violation{
					Field: "approved_amount.currency_code", Description: "must be " + row.Currency + ", the claim's currency",
				})
			}
			approve(row, amount.Minor, reason, now)
			return nil
		})
}

func (s *warrantyClaimServer) RejectWarrantyClaim(ctx context.Context, req *aftersalesv1.RejectWarrantyClaimRequest) (*aftersalesv1.WarrantyClaim, error) {
	reason := strings.TrimSpace(req.GetReason())
	if reason == "" {
		return nil, apierr.InvalidField("reason", "is required: the shop is shown why the claim was rejected")
	}
	return s.review(ctx, aftersalesv1.WarrantyClaimService_RejectWarrantyClaim_FullMethodName, req, req.GetName(), req.GetEtag(),
		func(row *store.WarrantyClaim, now time.Time) error {
			if err := claimStateIn(row, "rejected", claimSubmitted, claimHeld); err != nil {
				return err
			}
			row.State, row.ApprovedMinor, row.ReviewReason, row.ReviewTime, row.PayableTime = claimRejected, 0, reason, &now, nil
			return nil
		})
}

// review is the shape of every review: in one idempotent transaction,
// lock the claim within the caller's scope, check the etag, apply the
// decision, save and audit it.
func (s *warrantyClaimServer) review(ctx context.Context, method string, req idempotent, name, sentEtag string,
	apply func(row *store.WarrantyClaim, now time.Time) error,
) (*aftersalesv1.WarrantyClaim, error) {
	partnerID, id, err := parseClaimName("name", name)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	reviewer := reviewerID(ctx)
	return mutate(ctx, s.base, method, req, func(tx *gorm.DB) (*aftersalesv1.WarrantyClaim, error) {
		var row store.WarrantyClaim
		if err := lockRow(claimScope(tx, caller).Where("partner_id = ?", partnerID), &row, id); err != nil {
			if isNotFound(err) {
				return nil, notFound(name)
			}
			return nil, err
		}
		if err := checkEtag(sentEtag, claimName(&row), row.Version); err != nil {
			return nil, err
		}
		lines, err := chargeLinesOf(tx, row.ID)
		if err != nil {
			return nil, err
		}
		before := claimProto(&row, lines[row.ID])
		now := s.now()
		if err := apply(&row, now); err != nil {
			return nil, err
		}
		row.ReviewerID = reviewer
		row.Touch(now)
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return nil, err
		}
		after := claimProto(&row, lines[row.ID])
		return after, s.audit(ctx, tx, after.GetName(), before, after)
	})
}

// reviewerID is the staff id of the caller, "" for a key that is no
// staff member's (the bootstrap admin).
func reviewerID(ctx context.Context) string {
	if p := principal.FromContext(ctx); p.Kind == principal.Staff {
		return p.ID()
	}
	return ""
}

// approve approves a claim at amount (minor units of its currency): it
// becomes payable claimWindow after its ticket's resolution, or now if
// that has passed.
func approve(row *store.WarrantyClaim, amount int64, reason string, now time.Time) {
	payable := row.ResolveTime.Add(claimWindow)
	if payable.Before(now) {
		payable = now
	}
	row.State, row.ApprovedMinor, row.ReviewReason, row.ReviewTime, row.PayableTime = claimApproved, amount, reason, &now, &payable
}

// claimStateIn refuses a review of a claim that is not in one of the
// allowed states, naming its state and those allowed.
func claimStateIn(row *store.WarrantyClaim, verb string, allowed ...int32) error {
	if slices.Contains(allowed, row.State) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = aftersalesv1.WarrantyClaim_State(a).String()
	}
	current := aftersalesv1.WarrantyClaim_State(row.State).String()
	return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", current,
		fmt.Sprintf("the claim is %s; it can be %s only when %s", current, verb, strings.Join(names, " or ")))
}
