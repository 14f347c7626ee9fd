package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// campaignLease is the lease of the campaign launch worker.
const campaignLease = "campaign-launch"

// campaignServer implements CampaignService. The launch worker is in
// campaign_launch.go, what campaign tickets do to their targets in
// campaign_ticket.go.
type campaignServer struct {
	aftersalesv1.UnimplementedCampaignServiceServer
	*base
	cfg Campaigns
}

// campaignTextUpdatable may change until the campaign ends;
// campaignDraftUpdatable only while it is a DRAFT.
var (
	campaignTextUpdatable  = []string{"display_name", "description"}
	campaignDraftUpdatable = []string{"type", "target", "free_of_charge", "notice_only", "owner", "priority"}
)

var campaignList = listSpec{columns: []column{
	{field: filter.Field{Name: "type", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Campaign_Type_name)}, name: "type", conv: enumValue(aftersalesv1.Campaign_Type_value)},
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Campaign_State_name)}, name: "state", conv: enumValue(aftersalesv1.Campaign_State_value)},
	{field: filter.Field{Name: "owner"}, name: "owner_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

var targetList = listSpec{columns: []column{
	{field: filter.Field{Name: "state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.CampaignTarget_State_name)}, name: "state", conv: enumValue(aftersalesv1.CampaignTarget_State_value)},
	{field: filter.Field{Name: "model"}, name: "model"},
	{field: filter.Field{Name: "customer"}, name: "customer_id", conv: nameValue(resname.Customers)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// campaignStateError turns a refused campaign transition into the API's
// FAILED_PRECONDITION naming the current state.
func campaignStateError(err error) error {
	var te *campaignflow.TransitionError
	if errors.As(err, &te) {
		return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", te.Current.String(), te.Error())
	}
	return err
}

func (s *campaignServer) CreateCampaign(ctx context.Context, req *aftersalesv1.CreateCampaignRequest) (*aftersalesv1.Campaign, error) {
	c := req.GetCampaign()
	caller := principal.FromContext(ctx)
	var vs []apierr.Violation
	if strings.TrimSpace(c.GetDisplayName()) == "" {
		vs = append(vs, apierr.Violation{Field: "campaign.display_name", Description: "is required"})
	}
	if c.GetType() == aftersalesv1.Campaign_TYPE_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "campaign.type", Description: "is required: RECALL, SAFETY_NOTICE, FIRMWARE_UPDATE or INSPECTION"})
	}
	free, notice, why := campaignflow.Flags(c.GetType(), c.GetFreeOfCharge(), c.GetNoticeOnly())
	if why != "" {
		vs = append(vs, apierr.Violation{Field: "campaign.notice_only", Description: why})
	}
	ownerID, err := optionalName("campaign.owner", c.GetOwner(), resname.Staff)
	if err != nil {
		return nil, err
	}
	if ownerID == "" {
		if caller.Kind != principal.Staff {
			vs = append(vs, apierr.Violation{Field: "campaign.owner", Description: "is required when the caller is not a staff member: the owner is the first contact of its tickets"})
		}
		ownerID = caller.ID()
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	if err := checkTarget(c.GetTarget(), "campaign.target"); err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, aftersalesv1.CampaignService_CreateCampaign_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Campaign, error) {
		if err := checkOwner(tx, ownerID, c.GetOwner()); err != nil {
			return nil, err
		}
		if err := checkModels(tx, c.GetTarget(), "campaign.target"); err != nil {
			return nil, err
		}
		now := s.now()
		row := &store.Campaign{
			ID: ids.New(), DisplayName: strings.TrimSpace(c.GetDisplayName()), Description: c.GetDescription(),
			Type: int32(c.GetType()), State: int32(campaignflow.Draft), Target: marshalJSON(c.GetTarget()),
			FreeOfCharge: free, NoticeOnly: notice, OwnerID: ownerID,
			Priority:   int32(orDefault(c.GetPriority(), aftersalesv1.Ticket_NORMAL)),
			CreateTime: now, UpdateTime: now, Version: 1,
		}
		n, err := countMatching(tx, c.GetTarget())
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, targetEmpty("campaign.target")
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return campaignProto(row, nil), nil
	})
}

// checkOwner refuses an owner who is not an active staff member of the
// company: the owner is the first contact of the campaign's tickets.
func checkOwner(tx *gorm.DB, id, name string) error {
	var st store.Staff
	err := store.Translate(tx.Where("id = ?", id).Take(&st).Error)
	if isNotFound(err) {
		return badReference("campaign.owner", refName(resname.Staff, id))
	} else if err != nil {
		return err
	}
	if !st.Active || st.PartnerID != "" {
		if name == "" {
			name = refName(resname.Staff, id)
		}
		return apierr.InvalidField("campaign.owner", name+" must be an active staff member of the company")
	}
	return nil
}

func (s *campaignServer) GetCampaign(ctx context.Context, req *aftersalesv1.GetCampaignRequest) (*aftersalesv1.Campaign, error) {
	id, err := parseName("name", req.GetName(), resname.Campaigns)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	row, err := getRow[store.Campaign](ctx, s.base, db, id, req.GetName())
	if err != nil {
		return nil, err
	}
	out, err := campaignWithProgress(db, row)
	return out, s.toStatus(ctx, err)
}

func (s *campaignServer) ListCampaigns(ctx context.Context, req *aftersalesv1.ListCampaignsRequest) (*aftersalesv1.ListCampaignsResponse, error) {
	order := req.GetOrderBy()
	if strings.TrimSpace(order) == "" {
		order = "create_time desc"
	}
	db := s.db.Gorm(ctx)
	rows, next, err := list[store.Campaign](db.Model(&store.Campaign{}), campaignList, listRequest{
		filter: req.GetFilter(), orderBy: order, pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	idsOf := make([]string, len(rows))
	for i := range rows {
		idsOf[i] = rows[i].ID
	}
	progress, err := progressOf(db, idsOf...)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListCampaignsResponse{NextPageToken: next}
	for i := range rows {
		resp.Campaigns = append(resp.Campaigns, campaignProto(&rows[i], progress[rows[i].ID]))
	}
	return resp, nil
}

func (s *campaignServer) UpdateCampaign(ctx context.Context, req *aftersalesv1.UpdateCampaignRequest) (*aftersalesv1.Campaign, error) {
	c := req.GetCampaign()
	id, err := parseName("campaign.name", c.GetName(), resname.Campaigns)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), append(slices.Clone(campaignTextUpdatable), campaignDraftUpdatable...))
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	for _, p := range paths {
		switch {
		case p == "display_name" && strings.TrimSpace(c.GetDisplayName()) == "",
			p == "type" && c.GetType() == aftersalesv1.Campaign_TYPE_UNSPECIFIED,
			p == "priority" && c.GetPriority() == aftersalesv1.Ticket_PRIORITY_UNSPECIFIED:
			vs = append(vs, apierr.Violation{Field: "campaign." + p, Description: "is required"})
		}
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	if slices.Contains(paths, "target") {
		if err := checkTarget(c.GetTarget(), "campaign.target"); err != nil {
			return nil, err
		}
	}
	ownerID := ""
	if slices.Contains(paths, "owner") {
		if ownerID, err = parseName("campaign.owner", c.GetOwner(), resname.Staff); err != nil {
			return nil, err
		}
	}
	var out *aftersalesv1.Campaign
	err = s.db.InTx(ctx, func(tx *gorm.DB) error {
		var row store.Campaign
		if err := lockRow(tx, &row, id); err != nil {
			return orErr(ignoreNotFound(err), notFound(c.GetName()))
		}
		if err := checkEtag(c.GetEtag(), c.GetName(), row.Version); err != nil {
			return err
		}
		state := campaignflow.State(row.State)
		if _, err := campaignflow.Next(state, campaignflow.Update); err != nil {
			return campaignStateError(err)
		}
		before := campaignProto(&row, nil)
		for _, p := range paths {
			if slices.Contains(campaignDraftUpdatable, p) {
				if _, err := campaignflow.Next(state, campaignflow.EditDraft); err != nil {
					return apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", state.String(),
						"campaign."+p+" can change only while the campaign is a DRAFT; it is "+state.String()+"; only display_name and description can change now")
				}
			}
			switch p {
			case "display_name":
				row.DisplayName = strings.TrimSpace(c.GetDisplayName())
			case "description":
				row.Description = c.GetDescription()
			case "type":
				row.Type = int32(c.GetType())
			case "target":
				if err := checkModels(tx, c.GetTarget(), "campaign.target"); err != nil {
					return err
				}
				if n, err := countMatching(tx, c.GetTarget()); err != nil || n == 0 {
					return orErr(err, targetEmpty("campaign.target"))
				}
				row.Target = marshalJSON(c.GetTarget())
			case "free_of_charge":
				row.FreeOfCharge = c.GetFreeOfCharge()
			case "notice_only":
				row.NoticeOnly = c.GetNoticeOnly()
			case "owner":
				if err := checkOwner(tx, ownerID, c.GetOwner()); err != nil {
					return err
				}
				row.OwnerID = ownerID
			case "priority":
				row.Priority = int32(c.GetPriority())
			}
		}
		free, notice, why := campaignflow.Flags(aftersalesv1.Campaign_Type(row.Type), row.FreeOfCharge, row.NoticeOnly)
		if why != "" {
			return apierr.InvalidField("campaign.notice_only", why)
		}
		row.FreeOfCharge, row.NoticeOnly = free, notice
		row.Touch(s.now())
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return err
		}
		var err error
		if out, err = campaignWithProgress(tx, &row); err != nil {
			return err
		}
		return s.audit(ctx, tx, c.GetName(), before, campaignProto(&row, nil))
	})
	return out, s.toStatus(ctx, err)
}

func (s *campaignServer) PreviewCampaign(ctx context.Context, req *aftersalesv1.PreviewCampaignRequest) (*aftersalesv1.PreviewCampaignResponse, error) {
	id, err := parseName("name", req.GetName(), resname.Campaigns)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	row, err := getRow[store.Campaign](ctx, s.base, db, id, req.GetName())
	if err != nil {
		return nil, err
	}
	crit := campaignProto(row, nil).GetTarget()
	var byModel []struct {
		Model string
		N     int64
	}
	if err := matching(db.Model(&store.Product{}), crit).Select("products.model AS model, COUNT(*) AS n").Group("products.model").Scan(&byModel).Error; err != nil {
		return nil, s.toStatus(ctx, store.Translate(err))
	}
	out := &aftersalesv1.PreviewCampaignResponse{CountByModel: map[string]int64{}, ConfirmationThreshold: int64(s.cfg.ConfirmAbove)}
	for _, m := range byModel {
		out.CountByModel[m.Model] = m.N
		out.TargetCount += m.N
	}
	out.ConfirmationRequired = out.TargetCount > int64(s.cfg.ConfirmAbove)
	size := int(req.GetSampleSize())
	if size == 0 {
		size = 20
	}
	var sample []store.Product
	if err := matching(db, crit).Order("products.serial_number").Limit(size).Find(&sample).Error; err != nil {
		return nil, s.toStatus(ctx, store.Translate(err))
	}
	for i := range sample {
		p := &sample[i]
		out.Sample = append(out.Sample, &aftersalesv1.CampaignTarget{
			Product: productName(p), SerialNumber: p.SerialNumber, Model: p.Model, Customer: resname.Format(resname.Customers, p.CustomerID),
		})
	}
	return out, nil
}

// change is the shape of the campaign's state-changing methods: in one
// idempotent transaction lock the campaign, check the etag and the
// state machine, apply the method's own change, save and audit it.
func (s *campaignServer) change(ctx context.Context, method string, req idempotent, name, sentEtag string, action campaignflow.Action,
	apply func(tx *gorm.DB, row *store.Campaign, now time.Time) error,
) (*aftersalesv1.Campaign, error) {
	id, err := parseName("name", name, resname.Campaigns)
	if err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, method, req, func(tx *gorm.DB) (*aftersalesv1.Campaign, error) {
		var row store.Campaign
		if err := lockRow(tx, &row, id); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(name))
		}
		if err := checkEtag(sentEtag, name, row.Version); err != nil {
			return nil, err
		}
		to, err := campaignflow.Next(campaignflow.State(row.State), action)
		if err != nil {
			return nil, campaignStateError(err)
		}
		before := campaignProto(&row, nil)
		now := s.now()
		row.State = int32(to)
		row.Touch(now)
		// Saved before apply, so that what apply does to the campaign's
		// tickets sees its new state (campaign_ticket.go).
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return nil, err
		}
		if err := apply(tx, &row, now); err != nil {
			return nil, err
		}
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return nil, err
		}
		if err := s.audit(ctx, tx, name, before, campaignProto(&row, nil)); err != nil {
			return nil, err
		}
		return campaignWithProgress(tx, &row)
	})
}

func (s *campaignServer) LaunchCampaign(ctx context.Context, req *aftersalesv1.LaunchCampaignRequest) (*aftersalesv1.Campaign, error) {
	return s.change(ctx, aftersalesv1.CampaignService_LaunchCampaign_FullMethodName, req, req.GetName(), req.GetEtag(), campaignflow.Launch,
		func(tx *gorm.DB, row *store.Campaign, now time.Time) error {
			n, err := countMatching(tx, campaignProto(row, nil).GetTarget())
			if err != nil {
				return err
			}
			if n == 0 {
				return targetEmpty(req.GetName())
			}
			if n > int64(s.cfg.ConfirmAbove) && req.GetConfirmedTargetCount() != n {
				count := strconv.FormatInt(n, 10)
				return apierr.Precondition(aftersalesv1.ErrorReason_CAMPAIGN_CONFIRMATION_REQUIRED, "TARGET_COUNT", count,
					"the target matches "+count+" products, more than the confirmation threshold of "+strconv.Itoa(s.cfg.ConfirmAbove)+
						"; preview it and launch with confirmed_target_count = "+count)
			}
			if !row.NoticeOnly {
				// Every ticket needs its priority's SLA policy: refuse now
				// rather than leave the worker failing batch after batch.
				if _, err := slaPolicyFor(tx, row.Priority); err != nil {
					return err
				}
			}
			if row.LaunchTime == nil {
				row.LaunchTime = &now
			}
			return nil
		})
}

func (s *campaignServer) PauseCampaign(ctx context.Context, req *aftersalesv1.PauseCampaignRequest) (*aftersalesv1.Campaign, error) {
	// The worker holds the campaign's row lock for the batch under way,
	// so the pause waits for it and the next batch sees PAUSED.
	return s.change(ctx, aftersalesv1.CampaignService_PauseCampaign_FullMethodName, req, req.GetName(), req.GetEtag(), campaignflow.Pause,
		func(*gorm.DB, *store.Campaign, time.Time) error { return nil })
}

// cancelChunk is how many of a campaign's tickets CancelCampaign locks
// at a time.
const cancelChunk = 500

func (s *campaignServer) CancelCampaign(ctx context.Context, req *aftersalesv1.CancelCampaignRequest) (*aftersalesv1.Campaign, error) {
	return s.change(ctx, aftersalesv1.CampaignService_CancelCampaign_FullMethodName, req, req.GetName(), req.GetEtag(), campaignflow.Cancel,
		func(tx *gorm.DB, row *store.Campaign, now time.Time) error {
			row.CancelReason, row.EndTime = req.GetReason(), &now
			// Its tickets nobody has touched are withdrawn, all in this
			// transaction: a cancelled campaign never shows NEW tickets
			// left behind. Tickets being worked on go on.
			var ticketIDs []string
			if err := tx.Model(&store.CampaignTarget{}).Where("campaign_id = ? AND state = ?", row.ID, int32(campaignflow.TicketOpened)).
				Pluck("ticket_id", &ticketIDs).Error; err != nil {
				return store.Translate(err)
			}
			for chunk := range slices.Chunk(ticketIDs, cancelChunk) {
				if err := s.cancelNewTickets(ctx, tx, chunk, "The campaign was cancelled: "+req.GetReason(), now); err != nil {
					return err
				}
			}
			return nil
		})
}

// cancelNewTickets cancels those of the tickets that are still NEW,
// with a timeline entry each; their targets follow (campaign_ticket.go).
func (b *base) cancelNewTickets(ctx context.Context, tx *gorm.DB, ticketIDs []string, reason string, now time.Time) error {
	// Only the tickets still NEW are locked (and checked again under the
	// lock): locking all of them would wait for the ones being worked on,
	// whose transactions take the campaign next, which the caller holds.
	var fresh []string
	if err := tx.Model(&store.Ticket{}).Where("id IN ? AND state = ?", ticketIDs, int32(ticketflow.New)).Pluck("id", &fresh).Error; err != nil {
		return store.Translate(err)
	}
	if len(fresh) == 0 {
		return nil
	}
	q := tx.Where("id IN ? AND state = ?", fresh, int32(ticketflow.New))
	if tx.Dialector.Name() == store.DialectMySQL {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var tks []store.Ticket
	if err := q.Order("id").Find(&tks).Error; err != nil {
		return store.Translate(err)
	}
	actor := principal.FromContext(ctx)
	for i := range tks {
		tk := &tks[i]
		before := ticketProto(tk)
		to, err := ticketflow.Next(ticketflow.State(tk.State), ticketflow.Cancel)
		if err != nil {
			return err
		}
		ev := newEvent(tk, aftersalesv1.TicketEvent_CANCELLED, actor, now)
		ev.FromState, ev.ToState, ev.Message = tk.State, int32(to), reason
		tk.State, tk.CloseTime = int32(to), &now
		if err := b.saveTicket(tx, tk, ev, now); err != nil {
			return err
		}
		if err := b.audit(ctx, tx, before.GetName(), before, ticketProto(tk)); err != nil {
			return err
		}
	}
	return nil
}

func (s *campaignServer) ListCampaignTargets(ctx context.Context, req *aftersalesv1.ListCampaignTargetsRequest) (*aftersalesv1.ListCampaignTargetsResponse, error) {
	id, err := parseName("parent", req.GetParent(), resname.Campaigns)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	if ok, err := exists(db, &store.Campaign{}, id); err != nil || !ok {
		return nil, s.toStatus(ctx, orErr(err, notFound(req.GetParent())))
	}
	rows, next, err := list[store.CampaignTarget](db.Model(&store.CampaignTarget{}).Where("campaign_id = ?", id), targetList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListCampaignTargetsResponse{NextPageToken: next}
	for i := range rows {
		resp.Targets = append(resp.Targets, targetProto(&rows[i]))
	}
	return resp, nil
}

func (s *campaignServer) RecordCampaignOutreach(ctx context.Context, req *aftersalesv1.RecordCampaignOutreachRequest) (*aftersalesv1.CampaignTarget, error) {
	ids, ok := resname.Parse(req.GetName(), resname.Campaigns, resname.Targets)
	if !ok {
		return nil, apierr.InvalidField("name", "must be a resource name of the form campaigns/{campaign}/targets/{target}")
	}
	if req.GetOutcome() == aftersalesv1.RecordCampaignOutreachRequest_OUTCOME_UNSPECIFIED {
		return nil, apierr.InvalidField("outcome", "is required: ACKNOWLEDGED, DECLINED or UNREACHABLE")
	}
	return mutate(ctx, s.base, aftersalesv1.CampaignService_RecordCampaignOutreach_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.CampaignTarget, error) {
		var row store.CampaignTarget
		if err := store.Translate(tx.Where("campaign_id = ? AND id = ?", ids[0], ids[1]).Take(&row).Error); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(req.GetName()))
		}
		// The ticket first, then the target: the order a ticket's
		// change takes them in (campaign_ticket.go).
		var tk *store.Ticket
		if row.TicketID != "" {
			tk = &store.Ticket{}
			if err := lockRow(tx, tk, row.TicketID); err != nil {
				return nil, err
			}
		}
		if err := lockCampaignFirst(tx, row.CampaignID); err != nil {
			return nil, err
		}
		if err := lockRow(tx, &row, row.ID); err != nil {
			return nil, err
		}
		if err := checkEtag(req.GetEtag(), req.GetName(), row.Version); err != nil {
			return nil, err
		}
		from := campaignflow.TargetState(row.State)
		to, err := campaignflow.AfterOutreach(from, req.GetOutcome())
		if err != nil {
			return nil, apierr.Precondition(aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION, "STATE", from.String(), err.Error())
		}
		now := s.now()
		before := targetProto(&row)
		row.State = int32(to)
		if req.GetNote() != "" {
			row.Note = req.GetNote()
		}
		if campaignflow.Ended(to) {
			row.EndTime = &now
		}
		row.Touch(now)
		if err := store.Translate(tx.Save(&row).Error); err != nil {
			return nil, err
		}
		after := targetProto(&row)
		if err := s.audit(ctx, tx, req.GetName(), before, after); err != nil {
			return nil, err
		}
		if tk != nil && (to == campaignflow.Declined || to == campaignflow.Unreachable) {
			// Nobody has started the work: withdraw the ticket. Its target
			// has ended already, so the ticket's cancellation leaves it.
			reason := "Campaign outreach: the customer " + map[campaignflow.TargetState]string{
				campaignflow.Declined: "declined", campaignflow.Unreachable: "could not be reached"}[to] + "."
			if req.GetNote() != "" {
				reason += " " + req.GetNote()
			}
			if err := s.cancelNewTickets(ctx, tx, []string{tk.ID}, reason, now); err != nil {
				return nil, err
			}
		}
		if campaignflow.Ended(to) {
			if err := s.completeIfDone(ctx, tx, row.CampaignID, now); err != nil {
				return nil, err
			}
		}
		return after, nil
	})
}

func (s *campaignServer) ListCustomerCampaigns(ctx context.Context, req *aftersalesv1.ListCustomerCampaignsRequest) (*aftersalesv1.ListCustomerCampaignsResponse, error) {
	customerID, err := parseName("parent", req.GetParent(), resname.Customers)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	db := s.db.Gorm(ctx)
	if ok, err := exists(customerScope(db, caller), &store.Customer{}, customerID); err != nil || !ok {
		return nil, s.toStatus(ctx, orErr(err, notFound(req.GetParent())))
	}
	q := db.Model(&store.Campaign{}).Where("id IN (?)", db.Model(&store.CampaignTarget{}).Select("campaign_id").Where("customer_id = ?", customerID))
	rows, next, err := list[store.Campaign](q, listSpec{}, listRequest{
		parent: req.GetParent(), orderBy: "create_time desc", pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListCustomerCampaignsResponse{NextPageToken: next}
	if len(rows) == 0 {
		return resp, nil
	}
	campaignIDs := make([]string, len(rows))
	for i := range rows {
		campaignIDs[i] = rows[i].ID
	}
	var targets []store.CampaignTarget
	if err := db.Where("customer_id = ? AND campaign_id IN ?", customerID, campaignIDs).Order("create_time").Order("id").Find(&targets).Error; err != nil {
		return nil, s.toStatus(ctx, store.Translate(err))
	}
	byCampaign := map[string][]*aftersalesv1.CampaignTarget{}
	for i := range targets {
		t := targetProto(&targets[i])
		if caller.Role == principal.RoleCustomer {
			t.Note = "" // the call center's outreach note is internal
		}
		byCampaign[targets[i].CampaignID] = append(byCampaign[targets[i].CampaignID], t)
	}
	for i := range rows {
		r := &rows[i]
		resp.Campaigns = append(resp.Campaigns, &aftersalesv1.CustomerCampaign{
			Campaign: resname.Format(resname.Campaigns, r.ID), DisplayName: r.DisplayName, Description: r.Description,
			Type: aftersalesv1.Campaign_Type(r.Type), FreeOfCharge: r.FreeOfCharge, Targets: byCampaign[r.ID],
		})
	}
	return resp, nil
}
