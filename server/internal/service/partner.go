package service

import (
	"context"
	"slices"
	"strings"

	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

type partnerServer struct {
	aftersalesv1.UnimplementedPartnerServiceServer
	*base
}

var partnerUpdatable = []string{"display_name", "region", "contact_name", "phone", "email", "address", "active"}

var partnerList = listSpec{columns: []column{
	{field: filter.Field{Name: "region"}, name: "region"},
	{field: filter.Field{Name: "active", Kind: filter.KindBool}, name: "active"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

func (s *partnerServer) CreatePartner(ctx context.Context, req *aftersalesv1.CreatePartnerRequest) (*aftersalesv1.Partner, error) {
	p := req.GetPartner()
	if strings.TrimSpace(p.GetDisplayName()) == "" {
		return nil, apierr.InvalidField("partner.display_name", "is required")
	}
	return mutate(ctx, s.base, aftersalesv1.PartnerService_CreatePartner_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Partner, error) {
		now := s.now()
		row := &store.Partner{ID: ids.New(), CreateTime: now, UpdateTime: now, Version: 1}
		applyPartner(row, p, partnerUpdatable)
		// New partners are active, whatever the request says.
		row.Active = true
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return partnerProto(row), nil
	})
}

func (s *partnerServer) GetPartner(ctx context.Context, req *aftersalesv1.GetPartnerRequest) (*aftersalesv1.Partner, error) {
	id, err := parseName("name", req.GetName(), resname.Partners)
	if err != nil {
		return nil, err
	}
	row, err := getRow[store.Partner](ctx, s.base, partnerScope(s.db.Gorm(ctx), principal.FromContext(ctx)), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return partnerProto(row), nil
}

func (s *partnerServer) ListPartners(ctx context.Context, req *aftersalesv1.ListPartnersRequest) (*aftersalesv1.ListPartnersResponse, error) {
	rows, next, err := list[store.Partner](partnerScope(s.db.Gorm(ctx).Model(&store.Partner{}), principal.FromContext(ctx)), partnerList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListPartnersResponse{NextPageToken: next}
	for i := range rows {
		resp.Partners = append(resp.Partners, partnerProto(&rows[i]))
	}
	return resp, nil
}

func (s *partnerServer) UpdatePartner(ctx context.Context, req *aftersalesv1.UpdatePartnerRequest) (*aftersalesv1.Partner, error) {
	p := req.GetPartner()
	id, err := parseName("partner.name", p.GetName(), resname.Partners)
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), partnerUpdatable)
	if err != nil {
		return nil, err
	}
	if slices.Contains(paths, "display_name") && strings.TrimSpace(p.GetDisplayName()) == "" {
		return nil, apierr.InvalidField("partner.display_name", "is required")
	}
	return updateRow(ctx, s.base, unscoped, id, p.GetName(), p.GetEtag(), partnerProto, func(_ *gorm.DB, row *store.Partner) error {
		applyPartner(row, p, paths)
		return nil
	})
}

// applyPartner copies the named fields of p onto row.
func applyPartner(row *store.Partner, p *aftersalesv1.Partner, paths []string) {
	for _, path := range paths {
		switch path {
		case "display_name":
			row.DisplayName = strings.TrimSpace(p.GetDisplayName())
		case "region":
			row.Region = p.GetRegion()
		case "contact_name":
			row.ContactName = p.GetContactName()
		case "phone":
			row.Phone = p.GetPhone()
		case "email":
			row.Email = p.GetEmail()
		case "address":
			row.Address = marshalJSON(p.GetAddress())
		case "active":
			row.Active = p.GetActive()
		}
	}
}

func partnerProto(row *store.Partner) *aftersalesv1.Partner {
	name := resname.Format(resname.Partners, row.ID)
	p := &aftersalesv1.Partner{
		Name:        name,
		DisplayName: row.DisplayName,
		Region:      row.Region,
		ContactName: row.ContactName,
		Phone:       row.Phone,
		Email:       row.Email,
		Active:      row.Active,
		CreateTime:  ts(row.CreateTime),
		UpdateTime:  ts(row.UpdateTime),
		Etag:        etag.Of(name, row.Version),
	}
	if row.Address != "" {
		p.Address = &aftersalesv1.PostalAddress{}
		unmarshalJSON(row.Address, p.Address)
	}
	return p
}
