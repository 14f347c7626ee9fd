package service

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"google.golang.org/protobuf/proto"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

type staffServer struct {
	aftersalesv1.UnimplementedStaffServiceServer
	*base
}

var staffUpdatable = []string{"display_name", "role", "team", "manager", "partner", "skills", "email", "active"}

// staffPartnerUpdatable is what a shop may change of its technicians: not
// their role, shop or manager.
var staffPartnerUpdatable = []string{"display_name", "team", "skills", "email", "active"}

var staffList = listSpec{columns: []column{
	{field: filter.Field{Name: "role", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Staff_Role_name)}, name: "role", conv: enumValue(aftersalesv1.Staff_Role_value)},
	{field: filter.Field{Name: "team"}, name: "team"},
	{field: filter.Field{Name: "manager"}, name: "manager_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "partner"}, name: "partner_id", conv: nameValue(resname.Partners)},
	{field: filter.Field{Name: "active", Kind: filter.KindBool}, name: "active"},
	{field: filter.Field{Name: "qualification_state", Kind: filter.KindEnum, Enum: enumNames(aftersalesv1.Qualification_State_name)}, name: "qualification_state", conv: enumValue(aftersalesv1.Qualification_State_value)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// staffRefs are a staff request's parsed references.
type staffRefs struct {
	managerID, partnerID string
}

// parseStaffRefs parses the manager and partner references named in paths.
func parseStaffRefs(st *aftersalesv1.Staff, paths []string) (staffRefs, error) {
	var r staffRefs
	var err error
	if slices.Contains(paths, "manager") {
		if r.managerID, err = optionalName("staff.manager", st.GetManager(), resname.Staff); err != nil {
			return r, err
		}
	}
	if slices.Contains(paths, "partner") {
		if r.partnerID, err = optionalName("staff.partner", st.GetPartner(), resname.Partners); err != nil {
			return r, err
		}
	}
	return r, nil
}

// checkStaffRefs checks, inside tx, that the references named in paths
// exist.
func checkStaffRefs(tx *gorm.DB, st *aftersalesv1.Staff, refs staffRefs, paths []string) error {
	if slices.Contains(paths, "manager") && refs.managerID != "" {
		if ok, err := exists(tx, &store.Staff{}, refs.managerID); err != nil || !ok {
			return orErr(err, badReference("staff.manager", st.GetManager()))
		}
	}
	if slices.Contains(paths, "partner") && refs.partnerID != "" {
		if ok, err := exists(tx, &store.Partner{}, refs.partnerID); err != nil || !ok {
			return orErr(err, badReference("staff.partner", st.GetPartner()))
		}
	}
	return nil
}

// staffRowViolation checks the rules that span fields, on the row as it
// will be stored.
func staffRowViolation(row *store.Staff) error {
	if row.ManagerID != "" && row.ManagerID == row.ID {
		return apierr.InvalidField("staff.manager", "must not be the staff member themself")
	}
	if row.PartnerID != "" && row.Role != int32(aftersalesv1.Staff_TECHNICIAN) {
		return apierr.InvalidField("staff.partner", "may only be set for role TECHNICIAN; role is "+aftersalesv1.Staff_Role(row.Role).String())
	}
	return nil
}

func (s *staffServer) CreateStaff(ctx context.Context, req *aftersalesv1.CreateStaffRequest) (*aftersalesv1.Staff, error) {
	st := req.GetStaff()
	var vs []apierr.Violation
	if strings.TrimSpace(st.GetDisplayName()) == "" {
		vs = append(vs, apierr.Violation{Field: "staff.display_name", Description: "is required"})
	}
	if st.GetRole() == aftersalesv1.Staff_ROLE_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "staff.role", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	caller := principal.FromContext(ctx)
	if caller.Role == principal.RolePartner {
		// A shop registers its own technicians, and only those.
		if st.GetPartner() != "" && st.GetPartner() != caller.Name {
			return nil, accessDenied("staff.partner")
		}
		if st.GetRole() != aftersalesv1.Staff_TECHNICIAN {
			return nil, accessDenied("staff.role")
		}
		if st.GetManager() != "" {
			return nil, accessDenied("staff.manager")
		}
		st = proto.CloneOf(st)
		st.Partner = caller.Name
	}
	refs, err := parseStaffRefs(st, staffUpdatable)
	if err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, aftersalesv1.StaffService_CreateStaff_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Staff, error) {
		now := s.now()
		row := &store.Staff{ID: ids.New(), CreateTime: now, UpdateTime: now, Version: 1}
		applyStaff(row, st, refs, staffUpdatable)
		// New staff are active, whatever the request says.
		row.Active = true
		if err := staffRowViolation(row); err != nil {
			return nil, err
		}
		if err := checkStaffRefs(tx, st, refs, staffUpdatable); err != nil {
			return nil, err
		}
		// Qualified at once when the role requires no course; otherwise a
		// trainee. Either way, the history starts here.
		out, err := evaluate(tx, row, now)
		if err != nil {
			return nil, err
		}
		if _, _, err := applyQualification(tx, row, out, now, ""); err != nil {
			return nil, err
		}
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return staffProto(row), nil
	})
}

func (s *staffServer) GetStaff(ctx context.Context, req *aftersalesv1.GetStaffRequest) (*aftersalesv1.Staff, error) {
	id, err := parseName("name", req.GetName(), resname.Staff)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.Staff](ctx, s.base, staffScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return staffProto(row), nil
}

func (s *staffServer) ListStaff(ctx context.Context, req *aftersalesv1.ListStaffRequest) (*aftersalesv1.ListStaffResponse, error) {
	rows, next, err := list[store.Staff](staffScope(s.db.Gorm(ctx).Model(&store.Staff{}), principal.FromContext(ctx)), staffList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListStaffResponse{NextPageToken: next}
	for i := range rows {
		resp.Staff = append(resp.Staff, staffProto(&rows[i]))
	}
	return resp, nil
}

func (s *staffServer) UpdateStaff(ctx context.Context, req *aftersalesv1.UpdateStaffRequest) (*aftersalesv1.Staff, error) {
	st := req.GetStaff()
	id, err := parseName("staff.name", st.GetName(), resname.Staff)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	updatable := staffUpdatable
	if caller.Role == principal.RolePartner {
		updatable = staffPartnerUpdatable
		for _, p := range maskPaths(req.GetUpdateMask()) {
			if !slices.Contains(updatable, p) && slices.Contains(staffUpdatable, p) {
				return nil, accessDenied("staff." + p)
			}
		}
	}
	paths, err := updatePaths(req.GetUpdateMask(), updatable)
	if err != nil {
		return nil, err
	}
	var vs []apierr.Violation
	if slices.Contains(paths, "display_name") && strings.TrimSpace(st.GetDisplayName()) == "" {
		vs = append(vs, apierr.Violation{Field: "staff.display_name", Description: "is required"})
	}
	if slices.Contains(paths, "role") && st.GetRole() == aftersalesv1.Staff_ROLE_UNSPECIFIED {
		vs = append(vs, apierr.Violation{Field: "staff.role", Description: "is required"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	refs, err := parseStaffRefs(st, paths)
	if err != nil {
		return nil, err
	}
	scope := func(q *gorm.DB) *gorm.DB { return staffScope(q, caller) }
	return updateRow(ctx, s.base, scope, id, st.GetName(), st.GetEtag(), staffProto, func(tx *gorm.DB, row *store.Staff) error {
		applyStaff(row, st, refs, paths)
		if err := staffRowViolation(row); err != nil {
			return err
		}
		if err := checkStaffRefs(tx, st, refs, paths); err != nil {
			return err
		}
		// A new role brings its own required courses.
		now := s.now()
		out, err := evaluate(tx, row, now)
		if err != nil {
			return err
		}
		_, _, err = applyQualification(tx, row, out, now, "")
		return err
	})
}

// applyStaff copies the named fields of st onto row; references come
// parsed in refs.
func applyStaff(row *store.Staff, st *aftersalesv1.Staff, refs staffRefs, paths []string) {
	for _, path := range paths {
		switch path {
		case "display_name":
			row.DisplayName = strings.TrimSpace(st.GetDisplayName())
		case "role":
			row.Role = int32(st.GetRole())
		case "team":
			row.Team = st.GetTeam()
		case "manager":
			row.ManagerID = refs.managerID
		case "partner":
			row.PartnerID = refs.partnerID
		case "skills":
			row.Skills = marshalSkills(st.GetSkills())
		case "email":
			row.Email = st.GetEmail()
		case "active":
			row.Active = st.GetActive()
		}
	}
}

// marshalSkills stores skills as a JSON array of strings; none is "[]".
func marshalSkills(skills []string) string {
	if skills == nil {
		skills = []string{}
	}
	b, err := json.Marshal(skills)
	if err != nil {
		// A []string always marshals; this would be a bug.
		panic(err)
	}
	return string(b)
}

// unmarshalSkills reads what marshalSkills stored.
func unmarshalSkills(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	_ = json.Unmarshal([]byte(s), &out)
	if len(out) == 0 {
		return nil
	}
	return out
}

func staffProto(row *store.Staff) *aftersalesv1.Staff {
	name := resname.Format(resname.Staff, row.ID)
	return &aftersalesv1.Staff{
		Name:               name,
		DisplayName:        row.DisplayName,
		Role:               aftersalesv1.Staff_Role(row.Role),
		Team:               row.Team,
		Manager:            refName(resname.Staff, row.ManagerID),
		Partner:            refName(resname.Partners, row.PartnerID),
		Skills:             unmarshalSkills(row.Skills),
		Email:              row.Email,
		Active:             row.Active,
		CreateTime:         ts(row.CreateTime),
		UpdateTime:         ts(row.UpdateTime),
		Etag:               etag.Of(name, row.Version),
		QualificationState: aftersalesv1.Qualification_State(row.QualificationState),
	}
}
