package service

import (
	"time"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

// eligibleStaff decides whether st may be given work: a ticket, a
// complaint to handle or a follow-up to perform. It is the one gate every
// assignment passes.
func eligibleStaff(_ *gorm.DB, st *store.Staff, _ time.Time) error {
	if !st.Active {
		return apierr.Precondition(aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE, "STAFF", resname.Format(resname.Staff, st.ID), "staff member is not active")
	}
	return nil
}

// eligiblePartner decides whether a partner shop may be dispatched work.
func eligiblePartner(_ *gorm.DB, p *store.Partner, _ time.Time) error {
	if !p.Active {
		return apierr.Precondition(aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE, "PARTNER", resname.Format(resname.Partners, p.ID), "partner is not active")
	}
	return nil
}
