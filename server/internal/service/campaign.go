package service

import (
	"context"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// campaignLease is the lease of the campaign launch worker.
const campaignLease = "campaign-launch"

// campaignServer implements CampaignService.
type campaignServer struct {
	aftersalesv1.UnimplementedCampaignServiceServer
	*base
	cfg Campaigns
}

// launchStep reaches the next batch of products of a launching campaign.
func (s *campaignServer) launchStep(ctx context.Context) (int, error) { return 0, nil }
