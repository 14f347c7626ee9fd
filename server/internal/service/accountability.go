package service

import (
	"context"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

var accountabilityList = listSpec{columns: []column{
	{field: filter.Field{Name: "kind", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.AccountabilityRecord_Kind_name)}, name: "kind", conv: enumValue(aftersalesv1.AccountabilityRecord_Kind_value)},
	{field: filter.Field{Name: "complaint"}, name: "complaint_id", conv: nameValue(resname.Complaints)},
	{field: filter.Field{Name: "responsible_staff"}, name: "responsible_staff_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// accountabilityScope limits an accountability_records query to the
// records the caller may read: admins all; a manager their own and their
// team's (staff whose manager they are); a partner shop its own
// technicians'; anyone else their own.
func accountabilityScope(q *gorm.DB, p principal.Principal) *gorm.DB {
	switch p.Role {
	case principal.RoleAdmin:
		return q
	case principal.RoleManager:
		return q.Where("(staff_id = ? OR staff_id IN (SELECT id FROM staff WHERE manager_id = ?))", p.ID(), p.ID())
	case principal.RolePartner:
		return q.Where("staff_id IN (SELECT id FROM staff WHERE partner_id = ?)", p.ID())
	case principal.RoleCustomer, principal.RoleNone:
		return q.Where(nothing)
	}
	return q.Where("staff_id = ?", p.ID())
}

func (s *trainingServer) ListAccountabilityRecords(ctx context.Context, req *aftersalesv1.ListAccountabilityRecordsRequest) (*aftersalesv1.ListAccountabilityRecordsResponse, error) {
	staffID, err := parseName("parent", req.GetParent(), resname.Staff)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	db := s.db.Gorm(ctx)
	q := accountabilityScope(db.Model(&store.AccountabilityRecord{}), caller)
	if staffID != resname.Wildcard {
		// A staff member the caller may not see is NOT_FOUND, like one
		// that does not exist.
		if ok, err := exists(staffScope(db, caller), &store.Staff{}, staffID); err != nil || !ok {
			return nil, s.toStatus(ctx, orErr(err, notFound(req.GetParent())))
		}
		q = q.Where("staff_id = ?", staffID)
	}
	rows, next, err := list[store.AccountabilityRecord](q, accountabilityList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListAccountabilityRecordsResponse{NextPageToken: next}
	for i := range rows {
		resp.AccountabilityRecords = append(resp.AccountabilityRecords, accountabilityProto(&rows[i]))
	}
	return resp, nil
}
