package service

import (
	"context"
	"slices"
	"strings"

	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
)

type customerServer struct {
	aftersalesv1.UnimplementedCustomerServiceServer
	*base
}

var customerUpdatable = []string{"display_name", "phone", "email", "address", "contact_preferences", "external_id"}

// customerSelfUpdatable is what customers may change of their own record.
var customerSelfUpdatable = []string{"display_name", "phone", "email", "address", "contact_preferences"}

var customerList = listSpec{columns: []column{
	{field: filter.Field{Name: "display_name"}, name: "display_name"},
	{field: filter.Field{Name: "phone"}, name: "phone"},
	{field: filter.Field{Name: "email"}, name: "email"},
	{field: filter.Field{Name: "external_id"}, name: "external_id"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

func (s *customerServer) CreateCustomer(ctx context.Context, req *aftersalesv1.CreateCustomerRequest) (*aftersalesv1.Customer, error) {
	c := req.GetCustomer()
	if strings.TrimSpace(c.GetDisplayName()) == "" {
		return nil, apierr.InvalidField("customer.display_name", "is required")
	}
	return mutate(ctx, s.base, aftersalesv1.CustomerService_CreateCustomer_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Customer, error) {
		now := s.now()
		row := &store.Customer{ID: ids.New(), CreateTime: now, UpdateTime: now, Version: 1}
		applyCustomer(row, c, customerUpdatable)
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return customerProto(row), nil
	})
}

func (s *customerServer) GetCustomer(ctx context.Context, req *aftersalesv1.GetCustomerRequest) (*aftersalesv1.Customer, error) {
	id, err := parseName("name", req.GetName(), resname.Customers)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	row, err := getRow[store.Customer](ctx, s.base, customerScope(s.db.Gorm(ctx), caller), id, req.GetName())
	if err != nil {
		return nil, err
	}
	return contactOnly(customerProto(row), caller), nil
}

func (s *customerServer) ListCustomers(ctx context.Context, req *aftersalesv1.ListCustomersRequest) (*aftersalesv1.ListCustomersResponse, error) {
	rows, next, err := list[store.Customer](customerScope(s.db.Gorm(ctx).Model(&store.Customer{}), principal.FromContext(ctx)), customerList, listRequest{
		filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListCustomersResponse{NextPageToken: next}
	for i := range rows {
		resp.Customers = append(resp.Customers, customerProto(&rows[i]))
	}
	return resp, nil
}

func (s *customerServer) UpdateCustomer(ctx context.Context, req *aftersalesv1.UpdateCustomerRequest) (*aftersalesv1.Customer, error) {
	c := req.GetCustomer()
	id, err := parseName("customer.name", c.GetName(), resname.Customers)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	updatable := customerUpdatable
	if caller.Role == principal.RoleCustomer {
		// external_id links the record to the login system; a customer
		// changing it could take over another login's record.
		updatable = customerSelfUpdatable
		if slices.Contains(maskPaths(req.GetUpdateMask()), "external_id") {
			return nil, accessDenied("customer.external_id")
		}
	}
	paths, err := updatePaths(req.GetUpdateMask(), updatable)
	if err != nil {
		return nil, err
	}
	if slices.Contains(paths, "display_name") && strings.TrimSpace(c.GetDisplayName()) == "" {
		return nil, apierr.InvalidField("customer.display_name", "is required")
	}
	scope := func(q *gorm.DB) *gorm.DB { return customerScope(q, caller) }
	return updateRow(ctx, s.base, scope, id, c.GetName(), c.GetEtag(), customerProto, func(tx *gorm.DB, row *store.Customer) error {
		applyCustomer(row, c, paths)
		if slices.Contains(paths, "address") {
			return syncProductRegions(tx, row.ID, row.Address)
		}
		return nil
	})
}

// applyCustomer copies the named fields of c onto row.
func applyCustomer(row *store.Customer, c *aftersalesv1.Customer, paths []string) {
	for _, p := range paths {
		switch p {
		case "display_name":
			row.DisplayName = strings.TrimSpace(c.GetDisplayName())
		case "phone":
			row.Phone = c.GetPhone()
		case "email":
			row.Email = c.GetEmail()
		case "address":
			row.Address = marshalJSON(c.GetAddress())
		case "contact_preferences":
			names := make([]string, len(c.GetContactPreferences()))
			for i, m := range c.GetContactPreferences() {
				names[i] = m.String()
			}
			row.ContactPreferences = strings.Join(names, ",")
		case "external_id":
			row.ExternalID = nil
			if c.GetExternalId() != "" {
				v := c.GetExternalId()
				row.ExternalID = &v
			}
		}
	}
}

func customerProto(row *store.Customer) *aftersalesv1.Customer {
	name := resname.Format(resname.Customers, row.ID)
	c := &aftersalesv1.Customer{
		Name:        name,
		DisplayName: row.DisplayName,
		Phone:       row.Phone,
		Email:       row.Email,
		CreateTime:  ts(row.CreateTime),
		UpdateTime:  ts(row.UpdateTime),
		Etag:        etag.Of(name, row.Version),
	}
	if row.ExternalID != nil {
		c.ExternalId = *row.ExternalID
	}
	if row.Address != "" {
		c.Address = &aftersalesv1.PostalAddress{}
		unmarshalJSON(row.Address, c.Address)
	}
	if row.ContactPreferences != "" {
		for _, n := range strings.Split(row.ContactPreferences, ",") {
			c.ContactPreferences = append(c.ContactPreferences, aftersalesv1.Customer_ContactMethod(aftersalesv1.Customer_ContactMethod_value[n]))
		}
	}
	return c
}

// marshalJSON stores a nested message as JSON text; nil is "".
func marshalJSON(m proto.Message) string {
	if m == nil || !m.ProtoReflect().IsValid() {
		return ""
	}
	b, err := protojson.Marshal(m)
	if err != nil {
		// Generated messages always marshal; this would be a bug.
		panic(err)
	}
	return string(b)
}

// unmarshalJSON reads what marshalJSON stored. Unknown fields are
// ignored so that rows written by a newer version still read.
func unmarshalJSON(s string, m proto.Message) {
	_ = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(s), m)
}
