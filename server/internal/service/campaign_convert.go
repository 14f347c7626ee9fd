package service

import (
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/store"
)

// campaignProto converts a stored campaign; progress is counted apart
// (progressOf).
func campaignProto(row *store.Campaign, progress *aftersalesv1.CampaignProgress) *aftersalesv1.Campaign {
	name := resname.Format(resname.Campaigns, row.ID)
	c := &aftersalesv1.Campaign{
		Name:         name,
		DisplayName:  row.DisplayName,
		Description:  row.Description,
		Type:         aftersalesv1.Campaign_Type(row.Type),
		State:        aftersalesv1.Campaign_State(row.State),
		Target:       &aftersalesv1.TargetCriteria{},
		FreeOfCharge: row.FreeOfCharge,
		NoticeOnly:   row.NoticeOnly,
		Owner:        refName(resname.Staff, row.OwnerID),
		Priority:     aftersalesv1.Ticket_Priority(row.Priority),
		Progress:     progress,
		CancelReason: row.CancelReason,
		CreateTime:   ts(row.CreateTime),
		UpdateTime:   ts(row.UpdateTime),
		LaunchTime:   tsPtr(row.LaunchTime),
		LaunchedTime: tsPtr(row.LaunchedTime),
		EndTime:      tsPtr(row.EndTime),
		Etag:         etag.Of(name, row.Version),
	}
	if c.Progress == nil {
		c.Progress = &aftersalesv1.CampaignProgress{}
	}
	unmarshalJSON(row.Target, c.Target)
	return c
}

// targetProto converts a stored campaign target.
func targetProto(row *store.CampaignTarget) *aftersalesv1.CampaignTarget {
	name := resname.Format(resname.Campaigns, row.CampaignID, resname.Targets, row.ID)
	return &aftersalesv1.CampaignTarget{
		Name:         name,
		Product:      resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ProductID),
		SerialNumber: row.SerialNumber,
		Model:        row.Model,
		Customer:     resname.Format(resname.Customers, row.CustomerID),
		Ticket:       refName(resname.Tickets, row.TicketID),
		State:        aftersalesv1.CampaignTarget_State(row.State),
		Note:         row.Note,
		CreateTime:   ts(row.CreateTime),
		UpdateTime:   ts(row.UpdateTime),
		EndTime:      tsPtr(row.EndTime),
		Etag:         etag.Of(name, row.Version),
	}
}

// progressOf counts the targets of campaigns by state, in one grouped
// query on (campaign_id, state).
func progressOf(db *gorm.DB, campaignIDs ...string) (map[string]*aftersalesv1.CampaignProgress, error) {
	out := make(map[string]*aftersalesv1.CampaignProgress, len(campaignIDs))
	for _, id := range campaignIDs {
		out[id] = &aftersalesv1.CampaignProgress{}
	}
	if len(campaignIDs) == 0 {
		return out, nil
	}
	var counts []struct {
		CampaignID string
		State      int32
		N          int64
	}
	if err := db.Model(&store.CampaignTarget{}).Select("campaign_id, state, COUNT(*) AS n").
		Where("campaign_id IN ?", campaignIDs).Group("campaign_id, state").Scan(&counts).Error; err != nil {
		return nil, store.Translate(err)
	}
	for _, c := range counts {
		p := out[c.CampaignID]
		if p == nil {
			continue
		}
		p.Targeted += c.N
		switch campaignflow.TargetState(c.State) {
		case campaignflow.Notified:
			p.Notified += c.N
		case campaignflow.TicketOpened:
			p.TicketOpened += c.N
		case campaignflow.Done:
			p.Completed += c.N
		case campaignflow.Declined:
			p.Declined += c.N
		case campaignflow.Unreachable:
			p.Unreachable += c.N
		case campaignflow.Withdrawn:
			p.Cancelled += c.N
		}
	}
	for _, p := range out {
		if p.Targeted > 0 {
			p.CompletionRate = float64(p.Completed) / float64(p.Targeted)
		}
	}
	return out, nil
}

// campaignWithProgress converts one campaign with its progress.
func campaignWithProgress(db *gorm.DB, row *store.Campaign) (*aftersalesv1.Campaign, error) {
	p, err := progressOf(db, row.ID)
	if err != nil {
		return nil, err
	}
	return campaignProto(row, p[row.ID]), nil
}
