package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/etag"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// Products belong to CustomerService, so their handlers are methods of
// customerServer.

var productUpdatable = []string{"model", "purchase_time", "warranty_end_time", "retailer", "install_address", "manufacture_time", "usage_reading"}

var productList = listSpec{columns: []column{
	{field: filter.Field{Name: "serial_number"}, name: "serial_number"},
	{field: filter.Field{Name: "model"}, name: "model"},
	{field: filter.Field{Name: "manufacture_time", Kind: filter.KindTime}, name: "manufacture_time"},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

func (s *customerServer) CreateProduct(ctx context.Context, req *aftersalesv1.CreateProductRequest) (*aftersalesv1.Product, error) {
	customerID, err := parseName("parent", req.GetParent(), resname.Customers)
	if err != nil {
		return nil, err
	}
	if customerID == resname.Wildcard {
		return nil, apierr.InvalidField("parent", "must name one customer; the wildcard \"-\" is only for listing")
	}
	p := req.GetProduct()
	var vs []apierr.Violation
	if strings.TrimSpace(p.GetModel()) == "" {
		vs = append(vs, apierr.Violation{Field: "product.model", Description: "is required"})
	}
	if p.GetSerialNumber() == "" {
		vs = append(vs, apierr.Violation{Field: "product.serial_number", Description: "is required"})
	}
	if v, ok := warrantyViolation(p.GetPurchaseTime() != nil, p.GetWarrantyEndTime() != nil, timePtr(p.GetPurchaseTime()), timePtr(p.GetWarrantyEndTime())); !ok {
		vs = append(vs, v)
	}
	if p.GetUsageReading() < 0 {
		vs = append(vs, apierr.Violation{Field: "product.usage_reading", Description: "must not be negative"})
	}
	if len(vs) > 0 {
		return nil, apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, vs...)
	}
	caller := principal.FromContext(ctx)
	return mutate(ctx, s.base, aftersalesv1.CustomerService_CreateProduct_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.Product, error) {
		var owner store.Customer
		if err := store.Translate(customerScope(tx, caller).Where("id = ?", customerID).Take(&owner).Error); err != nil {
			return nil, orErr(ignoreNotFound(err), notFound(req.GetParent()))
		}
		now := s.now()
		row := &store.Product{
			ID:           ids.New(),
			CustomerID:   customerID,
			SerialNumber: p.GetSerialNumber(),
			CreateTime:   now,
			UpdateTime:   now,
			Version:      1,
		}
		applyProduct(row, p, productUpdatable)
		if row.UsageReading > 0 {
			row.UsageReadTime = &now
		}
		row.Region = productRegion(row.InstallAddress, owner.Address)
		if err := store.Translate(tx.Create(row).Error); err != nil {
			return nil, err
		}
		return productProto(row), nil
	})
}

func (s *customerServer) GetProduct(ctx context.Context, req *aftersalesv1.GetProductRequest) (*aftersalesv1.Product, error) {
	customerID, productID, err := parseProductName("name", req.GetName())
	if err != nil {
		return nil, err
	}
	q := productScope(s.db.Gorm(ctx), principal.FromContext(ctx)).Where("customer_id = ?", customerID)
	row, err := getRow[store.Product](ctx, s.base, q, productID, req.GetName())
	if err != nil {
		return nil, err
	}
	return productProto(row), nil
}

func (s *customerServer) ListProducts(ctx context.Context, req *aftersalesv1.ListProductsRequest) (*aftersalesv1.ListProductsResponse, error) {
	customerID, err := parseName("parent", req.GetParent(), resname.Customers)
	if err != nil {
		return nil, err
	}
	caller := principal.FromContext(ctx)
	db := s.db.Gorm(ctx)
	q := productScope(db.Model(&store.Product{}), caller)
	if customerID != resname.Wildcard {
		if ok, err := exists(customerScope(db, caller), &store.Customer{}, customerID); err != nil || !ok {
			return nil, s.toStatus(ctx, orErr(err, notFound(req.GetParent())))
		}
		q = q.Where("customer_id = ?", customerID)
	}
	rows, next, err := list[store.Product](q, productList, listRequest{
		parent: req.GetParent(), filter: req.GetFilter(), orderBy: req.GetOrderBy(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListProductsResponse{NextPageToken: next}
	for i := range rows {
		resp.Products = append(resp.Products, productProto(&rows[i]))
	}
	return resp, nil
}

func (s *customerServer) UpdateProduct(ctx context.Context, req *aftersalesv1.UpdateProductRequest) (*aftersalesv1.Product, error) {
	p := req.GetProduct()
	customerID, productID, err := parseProductName("product.name", p.GetName())
	if err != nil {
		return nil, err
	}
	paths, err := updatePaths(req.GetUpdateMask(), productUpdatable)
	if err != nil {
		return nil, err
	}
	if slices.Contains(paths, "model") && strings.TrimSpace(p.GetModel()) == "" {
		return nil, apierr.InvalidField("product.model", "is required")
	}
	if slices.Contains(paths, "usage_reading") && p.GetUsageReading() < 0 {
		return nil, apierr.InvalidField("product.usage_reading", "must not be negative")
	}
	caller := principal.FromContext(ctx)
	// Those who do the work read the meter at a visit, and change
	// nothing else about the unit (productScope keeps them to the
	// products of their tickets).
	if caller.Role == principal.RoleTechnician || caller.Role == principal.RolePartner {
		for _, f := range paths {
			if f != "usage_reading" {
				return nil, accessDenied("product." + f)
			}
		}
	}
	// The name's customer is part of the lookup: a product addressed
	// under another customer does not exist.
	scope := func(q *gorm.DB) *gorm.DB { return productScope(q, caller).Where("customer_id = ?", customerID) }
	return updateRow(ctx, s.base, scope, productID, p.GetName(), p.GetEtag(), productProto, func(tx *gorm.DB, row *store.Product) error {
		reading := row.UsageReading
		applyProduct(row, p, paths)
		if err := s.readUsage(tx, row, reading); err != nil {
			return err
		}
		if slices.Contains(paths, "install_address") {
			var owner store.Customer
			if err := store.Translate(tx.Select("address").Where("id = ?", row.CustomerID).Take(&owner).Error); err != nil {
				return err
			}
			row.Region = productRegion(row.InstallAddress, owner.Address)
		}
		// The order of the two times is checked on the result, since the
		// mask may change only one of them.
		if v, ok := warrantyViolation(slices.Contains(paths, "purchase_time"), slices.Contains(paths, "warranty_end_time"), row.PurchaseTime, row.WarrantyEndTime); !ok {
			return apierr.Invalid(aftersalesv1.ErrorReason_FIELD_VIOLATION, v)
		}
		return nil
	})
}

func (s *customerServer) CheckWarranty(ctx context.Context, req *aftersalesv1.CheckWarrantyRequest) (*aftersalesv1.CheckWarrantyResponse, error) {
	serial := req.GetSerialNumber()
	if serial == "" {
		return nil, apierr.InvalidField("serial_number", "is required")
	}
	var row store.Product
	err := store.Translate(s.db.Gorm(ctx).Where("serial_number = ?", serial).Take(&row).Error)
	if isNotFound(err) {
		return nil, notFound("product with serial number " + serial)
	} else if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	// A shop or technician with a unit in hand learns its coverage, but
	// not whose it is (the name holds the customer's id) unless the unit
	// is on their own work.
	product := productName(&row)
	if caller := principal.FromContext(ctx); workColumn(caller) != "" {
		ok, err := exists(productScope(s.db.Gorm(ctx), caller), &store.Product{}, row.ID)
		if err != nil {
			return nil, s.toStatus(ctx, err)
		}
		if !ok {
			product = ""
		}
	}
	return &aftersalesv1.CheckWarrantyResponse{
		Product:         product,
		Model:           row.Model,
		WarrantyStatus:  ticketflow.Warranty(deref(row.WarrantyEndTime), s.now()),
		WarrantyEndTime: tsPtr(row.WarrantyEndTime),
	}, nil
}

// parseProductName parses "customers/{customer}/products/{product}".
func parseProductName(field, name string) (customerID, productID string, err error) {
	ids, ok := resname.Parse(name, resname.Customers, resname.Products)
	if !ok {
		return "", "", apierr.InvalidField(field, "must be a resource name of the form customers/{customer}/products/{product}")
	}
	return ids[0], ids[1], nil
}

// warrantyViolation checks that a warranty does not end before the unit
// was bought. The violation names the field that was set (preferring
// warranty_end_time when both were).
func warrantyViolation(purchaseSet, endSet bool, purchase, end *time.Time) (apierr.Violation, bool) {
	if purchase == nil || end == nil || !end.Before(*purchase) {
		return apierr.Violation{}, true
	}
	field := "product.warranty_end_time"
	if purchaseSet && !endSet {
		field = "product.purchase_time"
	}
	return apierr.Violation{Field: field, Description: "warranty_end_time must not be before purchase_time"}, false
}

// applyProduct copies the named fields of p onto row.
func applyProduct(row *store.Product, p *aftersalesv1.Product, paths []string) {
	for _, path := range paths {
		switch path {
		case "model":
			row.Model = strings.TrimSpace(p.GetModel())
		case "purchase_time":
			row.PurchaseTime = timePtr(p.GetPurchaseTime())
		case "warranty_end_time":
			row.WarrantyEndTime = timePtr(p.GetWarrantyEndTime())
		case "retailer":
			row.Retailer = p.GetRetailer()
		case "install_address":
			row.InstallAddress = marshalJSON(p.GetInstallAddress())
		case "manufacture_time":
			row.ManufactureTime = timePtr(p.GetManufactureTime())
		case "usage_reading":
			row.UsageReading = p.GetUsageReading()
		}
	}
}

func productName(row *store.Product) string {
	return resname.Format(resname.Customers, row.CustomerID, resname.Products, row.ID)
}

func productProto(row *store.Product) *aftersalesv1.Product {
	name := productName(row)
	p := &aftersalesv1.Product{
		Name:            name,
		Model:           row.Model,
		SerialNumber:    row.SerialNumber,
		PurchaseTime:    tsPtr(row.PurchaseTime),
		WarrantyEndTime: tsPtr(row.WarrantyEndTime),
		Retailer:        row.Retailer,
		ManufactureTime: tsPtr(row.ManufactureTime),
		Region:          row.Region,
		UsageReading:    row.UsageReading,
		UsageReadTime:   tsPtr(row.UsageReadTime),
		CreateTime:      ts(row.CreateTime),
		UpdateTime:      ts(row.UpdateTime),
		Etag:            etag.Of(name, row.Version),
	}
	if row.InstallAddress != "" {
		p.InstallAddress = &aftersalesv1.PostalAddress{}
		unmarshalJSON(row.InstallAddress, p.InstallAddress)
	}
	return p
}

// productRegion derives a product's region (Product.region, which
// campaigns target by) from the stored JSON of its install address and
// of its owner's address: the install address's region, else the
// owner's.
func productRegion(installAddress, ownerAddress string) string {
	for _, raw := range []string{installAddress, ownerAddress} {
		if raw == "" {
			continue
		}
		var a aftersalesv1.PostalAddress
		unmarshalJSON(raw, &a)
		if r := strings.TrimSpace(a.GetRegion()); r != "" {
			return r
		}
	}
	return ""
}

// syncProductRegions keeps the region of a customer's products right
// when the customer's address changes, in the change's transaction:
// products installed at an address with a region keep theirs. The
// region is derived and output only, so the products' versions stay.
func syncProductRegions(tx *gorm.DB, customerID, ownerAddress string) error {
	var rows []store.Product
	if err := tx.Select("id", "install_address", "region").Where("customer_id = ?", customerID).Find(&rows).Error; err != nil {
		return store.Translate(err)
	}
	byRegion := map[string][]string{}
	for _, r := range rows {
		if want := productRegion(r.InstallAddress, ownerAddress); want != r.Region {
			byRegion[want] = append(byRegion[want], r.ID)
		}
	}
	for region, ids := range byRegion {
		if err := tx.Model(&store.Product{}).Where("id IN ?", ids).Update("region", region).Error; err != nil {
			return store.Translate(err)
		}
	}
	return nil
}
