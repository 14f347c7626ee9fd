package service

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestLaunchBatchUniqueness drives the launch worker's batches directly,
// without the lease that normally keeps a second worker away: a batch
// replayed from a stale cursor fails whole on the unique key instead of
// reaching a product twice, and two workers racing through a launch
// reach every product exactly once, of each model, merged in id order.
func TestLaunchBatchUniqueness(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Open(t, dialect)
			b := &base{db: db, log: storetest.Logger(t), events: newSignal()}
			worker := func() *campaignServer { return &campaignServer{base: b, cfg: Campaigns{Batch: 3}} }
			ctx := context.Background()
			g := db.Gorm(ctx)
			now := db.Now()
			owner := &store.Staff{ID: ids.New(), DisplayName: "Owner", Role: int32(aftersalesv1.Staff_MANAGER), Skills: "[]", Active: true, CreateTime: now, UpdateTime: now, Version: 1}
			require.NoError(t, g.Create(owner).Error)
			customer := &store.Customer{ID: ids.New(), DisplayName: "C", CreateTime: now, UpdateTime: now, Version: 1}
			require.NoError(t, g.Create(customer).Error)
			const products = 10
			for i := range products {
				require.NoError(t, g.Create(&store.Product{ID: ids.New(), CustomerID: customer.ID, Model: fmt.Sprintf("M-%d", i%2), SerialNumber: fmt.Sprintf("S-%02d", i),
					CreateTime: now, UpdateTime: now, Version: 1}).Error)
			}
			campaign := func() *store.Campaign {
				c := &store.Campaign{ID: ids.New(), DisplayName: "Recall", Type: int32(aftersalesv1.Campaign_RECALL), State: int32(campaignflow.Launching),
					Target: marshalJSON(&aftersalesv1.TargetCriteria{Models: []string{"M-1", "M-0"}}), FreeOfCharge: true, OwnerID: owner.ID,
					Priority: int32(aftersalesv1.Ticket_NORMAL), CreateTime: now, UpdateTime: now, Version: 1}
				require.NoError(t, g.Create(c).Error)
				return c
			}
			count := func(model any, where string, args ...any) int64 {
				var n int64
				require.NoError(t, g.Model(model).Where(where, args...).Count(&n).Error)
				return n
			}
			rows := func() [3]int64 {
				return [3]int64{count(&store.CampaignTarget{}, "1 = 1"), count(&store.Ticket{}, "1 = 1"), count(&store.AuditRecord{}, "1 = 1")}
			}

			// A batch, then the same batch again from a cursor set back.
			c := campaign()
			n, err := worker().launchBatch(ctx, c.ID)
			require.NoError(t, err)
			require.Equal(t, 3, n)
			before := rows()
			require.NoError(t, g.Model(&store.Campaign{}).Where("id = ?", c.ID).Update("cursor_id", "").Error)
			_, err = worker().launchBatch(ctx, c.ID)
			require.ErrorIs(t, err, store.ErrAlreadyExists)
			require.Equal(t, before, rows(), "the replayed batch wrote nothing")

			// Two workers at once, from the start, through to the end.
			c = campaign()
			var wg sync.WaitGroup
			for range 2 {
				w := worker()
				wg.Go(func() {
					for {
						var state store.Campaign
						if err := g.Select("state").Where("id = ?", c.ID).Take(&state).Error; err != nil || state.State != int32(campaignflow.Launching) {
							return
						}
						_, _ = w.launchBatch(ctx, c.ID) // a conflict is retried
					}
				})
			}
			wg.Wait()
			require.EqualValues(t, products, count(&store.CampaignTarget{}, "campaign_id = ?", c.ID))
			var distinct int64
			require.NoError(t, g.Model(&store.CampaignTarget{}).Where("campaign_id = ?", c.ID).Distinct("product_id").Count(&distinct).Error)
			require.EqualValues(t, products, distinct)
			require.EqualValues(t, products, count(&store.Ticket{}, "campaign_id = ?", c.ID))
			var done store.Campaign
			require.NoError(t, g.Where("id = ?", c.ID).Take(&done).Error)
			require.Equal(t, int32(campaignflow.Active), done.State)
		})
	}
}
