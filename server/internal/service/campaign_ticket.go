package service

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/campaignflow"
	"github.com/aftersales/aftersales/server/internal/store"
)

// This file is where campaigns and tickets meet: a campaign ticket's
// state change moves its target, and the end of a campaign's last open
// target completes it. Everything runs inside the ticket change's
// transaction, taking the ticket, then its target, then its campaign.

// campaignTicketMoved applies a campaign ticket's state change (ev, whose
// ToState is set when the state changed) to its target: resolved or
// closed completes it, cancelled cancels it, reopened takes a completed
// target of a campaign still running back (campaignflow.AfterTicket).
func (b *base) campaignTicketMoved(tx *gorm.DB, tk *store.Ticket, ev *event, now time.Time) error {
	if tk.CampaignID == "" || ev.ToState == 0 || ev.ToState == ev.FromState {
		return nil
	}
	ctx := tx.Statement.Context
	var row store.CampaignTarget
	err := store.Translate(tx.Where("ticket_id = ?", tk.ID).Take(&row).Error)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if _, changed := campaignflow.AfterTicket(campaignflow.TargetState(row.State), aftersalesv1.Ticket_State(tk.State)); !changed {
		return nil // most moves (assigned, started…) leave the target as it is
	}
	if err := lockCampaignFirst(tx, row.CampaignID); err != nil {
		return err
	}
	if err := lockRow(tx, &row, row.ID); err != nil {
		return err
	}
	to, changed := campaignflow.AfterTicket(campaignflow.TargetState(row.State), aftersalesv1.Ticket_State(tk.State))
	if !changed {
		return nil
	}
	if !campaignflow.Ended(to) {
		// A reopened ticket reopens its target only while the campaign
		// runs: an ended campaign's figures are final.
		var c store.Campaign
		if err := store.Translate(tx.Select("state").Where("id = ?", row.CampaignID).Take(&c).Error); err != nil {
			return err
		}
		if st := campaignflow.State(c.State); st == campaignflow.Completed || st == campaignflow.Cancelled {
			return nil
		}
	}
	before := targetProto(&row)
	row.State, row.EndTime = int32(to), nil
	if campaignflow.Ended(to) {
		row.EndTime = &now
	}
	row.Touch(now)
	if err := store.Translate(tx.Save(&row).Error); err != nil {
		return err
	}
	if err := b.audit(ctx, tx, before.GetName(), before, targetProto(&row)); err != nil {
		return err
	}
	if !campaignflow.Ended(to) {
		return nil
	}
	return b.completeIfDone(ctx, tx, row.CampaignID, now)
}

// lockCampaignFirst locks a campaign before one of its targets is
// changed. Every transaction that ends a target, and the worker that
// adds them, then takes the campaign before the target, so the last two
// targets ending at once cannot both see the other still open (each
// would leave the campaign ACTIVE for ever), nor wait for each other's
// target while holding the campaign (a deadlock). It writes the
// campaign rather than only locking it, for Galera (see touchRow); the
// campaign's progress changes anyway. A campaign that is gone is no
// error: its targets go with it.
func lockCampaignFirst(tx *gorm.DB, campaignID string) error {
	return touchRow(tx, &store.Campaign{}, campaignID)
}

// completeIfDone completes an ACTIVE campaign none of whose targets is
// still open. A campaign still launching is not done: more products may
// be reached (the worker completes it when it ends the launch).
func (b *base) completeIfDone(ctx context.Context, tx *gorm.DB, campaignID string, now time.Time) error {
	var c store.Campaign
	if err := store.Translate(tx.Select("state").Where("id = ?", campaignID).Take(&c).Error); err != nil {
		return ignoreNotFound(err)
	}
	if campaignflow.State(c.State) != campaignflow.Active {
		return nil
	}
	var locked store.Campaign
	if err := lockRow(tx, &locked, campaignID); err != nil {
		return err
	}
	return b.completeLocked(ctx, tx, &locked, now)
}

// completeLocked completes the locked campaign c when it is ACTIVE and
// has no open target.
func (b *base) completeLocked(ctx context.Context, tx *gorm.DB, c *store.Campaign, now time.Time) error {
	to, err := campaignflow.Next(campaignflow.State(c.State), campaignflow.Complete)
	if err != nil {
		return nil // not ACTIVE (any more): nothing to complete
	}
	// One open target is enough to know, and a current read (a locking
	// one, on MySQL) sees the targets that others ended and committed
	// while this transaction waited for the campaign, which its snapshot
	// may predate.
	q := tx.Model(&store.CampaignTarget{}).Where("campaign_id = ? AND state IN ?", c.ID, campaignflow.OpenTargets)
	if tx.Dialector.Name() == store.DialectMySQL {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthShare})
	}
	var open []string
	if err := q.Limit(1).Pluck("id", &open).Error; err != nil {
		return store.Translate(err)
	}
	if len(open) > 0 {
		return nil
	}
	before := campaignProto(c, nil)
	c.State, c.EndTime = int32(to), &now
	c.Touch(now)
	if err := store.Translate(tx.Save(c).Error); err != nil {
		return err
	}
	return b.audit(ctx, tx, resname.Format(resname.Campaigns, c.ID), before, campaignProto(c, nil))
}
