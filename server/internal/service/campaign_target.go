package service

import (
	"fmt"
	"slices"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/store"
)

// A campaign's target is a set of conditions on products. This file
// checks them and turns them into a products query, shared by
// PreviewCampaign, LaunchCampaign and the launch worker.

// checkTarget checks what the proto's rules cannot: ranges in order, a
// fault given whole. field is the target's field path.
func checkTarget(c *aftersalesv1.TargetCriteria, field string) error {
	if c == nil {
		return apierr.InvalidField(field, "is required: at least one product model")
	}
	var vs []apierr.Violation
	if len(c.GetModels()) == 0 {
		vs = append(vs, apierr.Violation{Field: field + ".models", Description: "at least one model is required, so that no campaign reaches every product by mistake"})
	}
	if c.GetSerialNumberFrom() != "" && c.GetSerialNumberTo() != "" && c.GetSerialNumberFrom() > c.GetSerialNumberTo() {
		vs = append(vs, apierr.Violation{Field: field + ".serial_number_to", Description: "must not be before serial_number_from (byte order)"})
	}
	if s, e := c.GetPurchaseStartTime(), c.GetPurchaseEndTime(); s != nil && e != nil && !e.AsTime().After(s.AsTime()) {
		vs = append(vs, apierr.Violation{Field: field + ".purchase_end_time", Description: "must be after purchase_start_time"})
	}
	if s, e := c.GetManufactureStartTime(), c.GetManufactureEndTime(); s != nil && e != nil && !e.AsTime().After(s.AsTime()) {
		vs = append(vs, apierr.Violation{Field: field + ".manufacture_end_time", Description: "must be after manufacture_start_time"})
	}
	if (c.GetFaultCategory() == "") != (c.GetFaultCode() == "") {
		vs = append(vs, apierr.Violation{Field: field + ".fault_code", Description: "fault_category and fault_code go together: give both or neither"})
	}
	if len(vs) > 0 {
		return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	return nil
}

// checkModels refuses models that no registered product has: a typo
// would otherwise make a campaign that silently reaches nobody.
func checkModels(tx *gorm.DB, c *aftersalesv1.TargetCriteria, field string) error {
	var known []string
	if err := tx.Model(&store.Product{}).Distinct("model").Where("model IN ?", c.GetModels()).Pluck("model", &known).Error; err != nil {
		return store.Translate(err)
	}
	var vs []apierr.Violation
	for i, m := range c.GetModels() {
		if !slices.Contains(known, m) {
			vs = append(vs, apierr.Violation{Field: fmt.Sprintf("%s.models[%d]", field, i), Description: "no registered product has model " + m})
		}
	}
	if len(vs) > 0 {
		return apierr.Invalid(aftersalesv1.ErrorReason_UNKNOWN_PRODUCT_MODEL, vs...)
	}
	return nil
}

// matching adds the target's conditions to a products query. The
// models come first: idx_products_model (model, and InnoDB's implicit
// id) serves both the condition and the worker's keyset order by id.
func matching(q *gorm.DB, c *aftersalesv1.TargetCriteria) *gorm.DB {
	q = q.Where("products.model IN ?", c.GetModels())
	if v := c.GetSerialNumberFrom(); v != "" {
		q = q.Where("products.serial_number >= ?", v)
	}
	if v := c.GetSerialNumberTo(); v != "" {
		q = q.Where("products.serial_number <= ?", v)
	}
	if t := timePtr(c.GetPurchaseStartTime()); t != nil {
		q = q.Where("products.purchase_time >= ?", *t)
	}
	if t := timePtr(c.GetPurchaseEndTime()); t != nil {
		q = q.Where("products.purchase_time < ?", *t)
	}
	if t := timePtr(c.GetManufactureStartTime()); t != nil {
		q = q.Where("products.manufacture_time >= ?", *t)
	}
	if t := timePtr(c.GetManufactureEndTime()); t != nil {
		q = q.Where("products.manufacture_time < ?", *t)
	}
	if len(c.GetRegions()) > 0 {
		q = q.Where("products.region IN ?", c.GetRegions())
	}
	if c.GetFaultCode() != "" {
		// A ticket resolved with the fault, as GetFaultStatistics counts
		// it; idx_tickets_product finds a product's tickets.
		q = q.Where("EXISTS (SELECT 1 FROM tickets WHERE tickets.product_id = products.id AND tickets.resolve_time IS NOT NULL"+
			" AND tickets.fault_category = ? AND tickets.fault_code = ?)", c.GetFaultCategory(), c.GetFaultCode())
	}
	return q
}

// countMatching counts the products a target matches now.
func countMatching(tx *gorm.DB, c *aftersalesv1.TargetCriteria) (int64, error) {
	var n int64
	err := matching(tx.Model(&store.Product{}), c).Count(&n).Error
	return n, store.Translate(err)
}

// targetEmpty is the FAILED_PRECONDITION of a target that matches no
// product.
func targetEmpty(name string) error {
	return apierr.Precondition(aftersalesv1.ErrorReason_CAMPAIGN_TARGET_EMPTY, "CAMPAIGN_TARGET", name,
		"the target matches no registered product; widen it (models, serial numbers, dates, regions, fault)")
}
