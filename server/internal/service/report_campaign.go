package service

import (
	"context"
	"math"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/store"
)

// week is the bucket of CampaignMetrics.completed_by_week.
const week = 7 * 24 * time.Hour

// GetCampaignMetrics computes a campaign's figures from its targets: the
// progress counts, and over its completed targets the time from reaching
// the product to completing it and the completions by week since launch.
func (s *reportServer) GetCampaignMetrics(ctx context.Context, req *aftersalesv1.GetCampaignMetricsRequest) (*aftersalesv1.CampaignMetrics, error) {
	id, err := parseName("campaign", req.GetCampaign(), resname.Campaigns)
	if err != nil {
		return nil, err
	}
	db := s.db.Gorm(ctx)
	c, err := getRow[store.Campaign](ctx, s.base, db, id, req.GetCampaign())
	if err != nil {
		return nil, err
	}
	progress, err := progressOf(db, id)
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	var done []struct {
		CreateTime time.Time
		EndTime    time.Time
	}
	if err := db.Model(&store.CampaignTarget{}).Select("create_time, end_time").
		Where("campaign_id = ? AND state = ?", id, int32(campaignflow.Done)).Scan(&done).Error; err != nil {
		return nil, s.toStatus(ctx, store.Translate(err))
	}
	out := &aftersalesv1.CampaignMetrics{Campaign: req.GetCampaign(), Progress: progress[id]}
	if len(done) == 0 {
		return out, nil
	}
	took := make([]time.Duration, len(done))
	var sum time.Duration
	for i, d := range done {
		took[i] = d.EndTime.Sub(d.CreateTime)
		sum += took[i]
		if c.LaunchTime != nil {
			w := int(d.EndTime.Sub(*c.LaunchTime) / week)
			for len(out.CompletedByWeek) <= max(w, 0) {
				out.CompletedByWeek = append(out.CompletedByWeek, 0)
			}
			out.CompletedByWeek[max(w, 0)]++
		}
	}
	slices.Sort(took)
	out.MeanTimeToCompletion = durationpb.New(sum / time.Duration(len(took)))
	out.P90TimeToCompletion = durationpb.New(nearestRank(took, 0.9))
	return out, nil
}

// nearestRank is the p-quantile of sorted by the nearest-rank method.
func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
