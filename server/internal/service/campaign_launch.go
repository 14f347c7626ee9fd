package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// The launch worker reaches a LAUNCHING campaign's products in batches of
// --campaign-batch, on the replica holding its lease. Each batch is one
// transaction: it locks the campaign, reads the next matching products
// after the campaign's cursor in product id order, records a target per
// product, opens its ticket (or notifies, for notice-only campaigns), and
// moves the cursor on. A crash loses at most the batch under way, which
// the next pass redoes from the committed cursor; the unique key on
// (campaign_id, product_id) makes a batch that two workers ever ran at
// once (a lease lost mid-pass) fail whole instead of reaching a product
// twice.

// campaignTicketChannel is the channel of the tickets campaigns open:
// the call center phones the owner to arrange the work. No channel means
// "the company reached out"; PHONE is how a recall is worked.
const campaignTicketChannel = aftersalesv1.Ticket_PHONE

// campaignNotified is the event type of a notice-only campaign reaching
// a product ({resource}.{verb}, as changefeed.Type names events).
const campaignNotified = "campaign.notified"

// launchStep reaches the next batch of products of each launching
// campaign, oldest first: one batch per campaign and pass, so a launch
// goes at a steady --campaign-batch products per --campaign-interval
// (2,000 a second at most by default: 500 every 250 ms; measured 785
// a second on 2 CPUs), a pass stays short enough for the lease to
// be renewed on time, and interactive traffic keeps its share of the
// database.
func (s *campaignServer) launchStep(ctx context.Context) (int, error) {
	ctx = principal.NewContext(ctx, principal.NewSystem(campaignLease))
	var launching []string
	if err := s.db.Gorm(ctx).Model(&store.Campaign{}).Where("state = ?", int32(campaignflow.Launching)).
		Order("create_time").Order("id").Pluck("id", &launching).Error; err != nil {
		return 0, store.Translate(err)
	}
	total := 0
	var errs []error
	for _, id := range launching {
		// One campaign's failing batch (retried next pass) does not hold
		// the others up.
		n, err := s.launchBatch(ctx, id)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

// launchBatch reaches the next batch of the campaign's products in one
// transaction and reports how many it reached. When none is left the
// launch ends: LAUNCHING → ACTIVE.
func (s *campaignServer) launchBatch(ctx context.Context, id string) (int, error) {
	reached := 0
	err := s.db.InTx(ctx, func(tx *gorm.DB) error {
		reached = 0
		var c store.Campaign
		if err := lockRow(tx, &c, id); err != nil {
			return ignoreNotFound(err)
		}
		if campaignflow.State(c.State) != campaignflow.Launching {
			return nil // paused or cancelled since the pass began
		}
		now := s.now()
		crit := campaignProto(&c, nil).GetTarget()
		products, err := s.nextProducts(tx, crit, c.CursorID)
		if err != nil {
			return err
		}
		if len(products) == 0 {
			return s.launched(ctx, tx, &c, now)
		}
		var policy *store.SlaPolicy
		if !c.NoticeOnly {
			if policy, err = slaPolicyFor(tx, c.Priority); err != nil {
				return err
			}
		}
		for i := range products {
			if err := s.reach(ctx, tx, &c, &products[i], policy, now); err != nil {
				return err
			}
		}
		c.CursorID = products[len(products)-1].ID
		c.Touch(now)
		if err := store.Translate(tx.Save(&c).Error); err != nil {
			return err
		}
		reached = len(products)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return reached, nil
}

// nextProducts reads the next batch of products the target matches,
// in id order after cursor. Each model is read on its own and the
// results merged: idx_products_model is (model, id) in InnoDB, so one
// model's next products are a short ordered range, where a query over
// several models makes MySQL scan the primary key and filter (EXPLAIN on
// MariaDB 10.11 with 300k products of 60 models: 150k rows examined for
// two models, a 500-row range for each one alone).
func (s *campaignServer) nextProducts(tx *gorm.DB, crit *aftersalesv1.TargetCriteria, cursor string) ([]store.Product, error) {
	var out []store.Product
	for _, model := range crit.GetModels() {
		one := proto.CloneOf(crit)
		one.Models = []string{model}
		var rows []store.Product
		if err := matching(tx, one).Where("products.id > ?", cursor).Order("products.id").Limit(s.cfg.Batch).Find(&rows).Error; err != nil {
			return nil, store.Translate(err)
		}
		out = append(out, rows...)
	}
	slices.SortFunc(out, func(a, b store.Product) int { return strings.Compare(a.ID, b.ID) })
	return out[:min(len(out), s.cfg.Batch)], nil
}

// reach records campaign c's target for product p and opens its ticket,
// or notifies its owner when c is notice-only. The rows are appended:
// they are inserted together at commit, and a target that exists
// already (the unique key) fails the whole batch.
func (s *campaignServer) reach(ctx context.Context, tx *gorm.DB, c *store.Campaign, p *store.Product, policy *store.SlaPolicy, now time.Time) error {
	target := &store.CampaignTarget{
		ID: ids.New(), CampaignID: c.ID, ProductID: p.ID, CustomerID: p.CustomerID, Model: p.Model, SerialNumber: p.SerialNumber,
		State: int32(campaignflow.Notified), CreateTime: now, UpdateTime: now, Version: 1,
	}
	if c.NoticeOnly {
		if err := store.Append(tx, target); err != nil {
			return err
		}
		msg := targetProto(target)
		if err := s.auditAs(ctx, tx, msg.GetName(), nil, msg, ""); err != nil {
			return err
		}
		// The notice itself: what webhooks and the customer's feed see.
		data, err := anyBytes(msg)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, msg.GetName(), campaignNotified, msg, data)
	}
	warranty := ticketflow.Warranty(deref(p.WarrantyEndTime), now)
	if c.FreeOfCharge {
		warranty = aftersalesv1.WarrantyStatus_WARRANTY_STATUS_IN_WARRANTY
	}
	tk := &store.Ticket{
		ID: ids.New(), CustomerID: p.CustomerID, ProductID: p.ID,
		Type:    int32(campaignflow.TicketType(aftersalesv1.Campaign_Type(c.Type))),
		Channel: int32(campaignTicketChannel), Priority: c.Priority,
		Title: c.DisplayName, Description: c.Description, State: int32(ticketflow.New),
		// The campaign's owner answers for its tickets (首问负责制).
		FirstContactID: c.OwnerID, WarrantyStatus: int32(warranty), CampaignID: c.ID,
		CreateTime: now, UpdateTime: now, Version: 1,
	}
	applySLA(tk, policy)
	if err := appendTicket(tx, tk, principal.FromContext(ctx), now); err != nil {
		return err
	}
	out := ticketProto(tk)
	if err := s.audit(ctx, tx, out.GetName(), nil, out); err != nil {
		return err
	}
	target.TicketID, target.State = tk.ID, int32(campaignflow.TicketOpened)
	if err := store.Append(tx, target); err != nil {
		return err
	}
	msg := targetProto(target)
	return s.audit(ctx, tx, msg.GetName(), nil, msg)
}

// launched ends the launch of the locked campaign c: every matching
// product is reached. A campaign whose targets have all ended meanwhile
// is complete at once.
func (s *campaignServer) launched(ctx context.Context, tx *gorm.DB, c *store.Campaign, now time.Time) error {
	to, err := campaignflow.Next(campaignflow.State(c.State), campaignflow.Launched)
	if err != nil {
		return err
	}
	before := campaignProto(c, nil)
	c.State, c.LaunchedTime = int32(to), &now
	c.Touch(now)
	if err := store.Translate(tx.Save(c).Error); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, resname.Format(resname.Campaigns, c.ID), before, campaignProto(c, nil)); err != nil {
		return err
	}
	return s.completeLocked(ctx, tx, c, now)
}
