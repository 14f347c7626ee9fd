package service_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// errCase is one call that must fail with wantCode and wantReason and, when
// wantField is set, a BadRequest violation of that field.
type errCase struct {
	name       string
	call       func() error
	wantCode   codes.Code
	wantReason aftersalesv1.ErrorReason
	wantField  string
}

func runErrCases(t *testing.T, cases []errCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			requireCode(t, err, c.wantCode, c.wantReason)
			if c.wantField != "" {
				require.Contains(t, fieldsOf(err), c.wantField, "error: %v", err)
			}
		})
	}
}

// jsonCase is errCase over the JSON gateway.
type jsonCase struct {
	name         string
	method, path string
	body         any
	wantHTTP     int
	wantCode     codes.Code
	wantReason   aftersalesv1.ErrorReason
	wantField    string
}

func runJSONCases(t *testing.T, e *env, actor string, cases []jsonCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do(c.method, c.path, actor, c.body)
			requireHTTP(t, r, c.wantHTTP, c.wantCode, c.wantReason)
			if c.wantField != "" {
				require.Contains(t, jsonFieldViolations(r), c.wantField, string(r.raw))
			}
		})
	}
}

// errOf drops a call's result, keeping its error: errOf(client.Get(…)).
func errOf[T any](_ T, err error) error { return err }

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// cast2 is a second customer with a product and a second partner, for
// cross-ownership cases.
type cast2 struct {
	customer *aftersalesv1.Customer
	product  *aftersalesv1.Product
	partner  *aftersalesv1.Partner
}

func (e *env) seedOther() *cast2 {
	t := e.t
	t.Helper()
	ctx := e.admin()
	c := &cast2{}
	var err error
	c.customer, err = e.customers.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Li Na"}})
	require.NoError(t, err)
	c.product, err = e.customers.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: c.customer.GetName(), Product: &aftersalesv1.Product{Model: "DW-10", SerialNumber: "SN-OTHER-1"}})
	require.NoError(t, err)
	c.partner, err = e.partners.CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Other Shop"}})
	require.NoError(t, err)
	return c
}

// adminActor registers the server's bootstrap admin key under a name that
// e.do accepts as an actor, for admin-only calls over JSON.
func (e *env) adminActor() string {
	name := "admin@" + e.baseURL
	credentials.Store(name, e.app.BootstrapKey())
	return name
}

// validTicket is a ticket that CreateTicket accepts; cases break one field.
func validTicket(f *fixture) *aftersalesv1.Ticket {
	return &aftersalesv1.Ticket{
		Customer: f.customer.GetName(), Product: f.inWarranty.GetName(), Type: aftersalesv1.Ticket_REPAIR,
		Channel: aftersalesv1.Ticket_PHONE, Title: "Washer leaks",
	}
}

func ticketWith(f *fixture, change func(*aftersalesv1.Ticket)) *aftersalesv1.Ticket {
	tk := validTicket(f)
	change(tk)
	return tk
}

func cny(minor int64) *aftersalesv1.Money {
	return &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: minor}
}

func validResolution() *aftersalesv1.Resolution {
	return &aftersalesv1.Resolution{FaultCategory: "PLUMBING", FaultCode: "P1", Summary: "replaced the hose"}
}

func resolutionWith(change func(*aftersalesv1.Resolution)) *aftersalesv1.Resolution {
	r := validResolution()
	change(r)
	return r
}

// TestValidationErrors: required fields, protovalidate rules, malformed
// resource names and cross-field rules are INVALID_ARGUMENT
// FIELD_VIOLATION naming the field, over gRPC and JSON, and change nothing.
func TestValidationErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			o := e.seedOther()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			tk := e.newTicket(f, f.inWarranty)
			tn := tk.GetName()
			cs, ps, ss, ts := e.customers, e.partners, e.staff, e.tickets
			const inv, fv = codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION
			long := strings.Repeat("x", 201)

			t.Run("gRPC", func(t *testing.T) {
				runErrCases(t, []errCase{
					// Customers.
					{"customer missing", func() error { return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{})) }, inv, fv, "customer"},
					{"customer display_name required", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{Phone: "+8613800138000"}}))
					}, inv, fv, "customer.display_name"},
					{"customer display_name blank", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "  "}}))
					}, inv, fv, "customer.display_name"},
					{"customer display_name too long", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: long}}))
					}, inv, fv, "customer.display_name"},
					{"customer bad phone", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "A", Phone: "13800138000"}}))
					}, inv, fv, "customer.phone"},
					{"customer bad email", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "A", Email: "not-an-email"}}))
					}, inv, fv, "customer.email"},
					{"customer unspecified contact preference", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "A",
							ContactPreferences: []aftersalesv1.Customer_ContactMethod{aftersalesv1.Customer_PHONE, 0}}}))
					}, inv, fv, "customer.contact_preferences[1]"},
					{"customer bad country code", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "A",
							Address: &aftersalesv1.PostalAddress{CountryCode: "China"}}}))
					}, inv, fv, "customer.address.country_code"},
					{"request_id too long", func() error {
						return errOf(cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "A"}, RequestId: strings.Repeat("r", 65)}))
					}, inv, fv, "request_id"},
					{"update customer clears display_name", func() error {
						return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: f.customer.GetName()}, UpdateMask: mask("display_name")}))
					}, inv, fv, "customer.display_name"},
					{"update customer bad phone", func() error {
						return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: f.customer.GetName(), DisplayName: "A", Phone: "+0"}, UpdateMask: mask("phone")}))
					}, inv, fv, "customer.phone"},

					// Products.
					{"product model required", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{SerialNumber: "SN-V-1"}}))
					}, inv, fv, "product.model"},
					{"product serial_number required", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "WM-1"}}))
					}, inv, fv, "product.serial_number"},
					{"product serial_number with a space", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "SN 1"}}))
					}, inv, fv, "product.serial_number"},
					{"product serial_number starting with a dash", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "-SN1"}}))
					}, inv, fv, "product.serial_number"},
					{"product warranty ends before purchase", func() error {
						now := e.clock.Now()
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "SN-V-2",
							PurchaseTime: timestamp(now), WarrantyEndTime: timestamp(now.Add(-time.Hour))}}))
					}, inv, fv, "product.warranty_end_time"},
					{"product parent malformed", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: "nope", Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "SN-V-3"}}))
					}, inv, fv, "parent"},
					{"product parent wildcard", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: "customers/-", Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "SN-V-4"}}))
					}, inv, fv, "parent"},
					{"update product clears model", func() error {
						return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: f.inWarranty.GetName()}, UpdateMask: mask("model")}))
					}, inv, fv, "product.model"},

					// Partners.
					{"partner display_name required", func() error {
						return errOf(ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{Region: "Pudong"}}))
					}, inv, fv, "partner.display_name"},
					{"partner bad phone", func() error {
						return errOf(ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "S", Phone: "phone"}}))
					}, inv, fv, "partner.phone"},
					{"partner bad email", func() error {
						return errOf(ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "S", Email: "shop@"}}))
					}, inv, fv, "partner.email"},

					// Staff.
					{"staff display_name required", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{Role: aftersalesv1.Staff_AGENT}}))
					}, inv, fv, "staff.display_name"},
					{"staff role required", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S"}}))
					}, inv, fv, "staff.role"},
					{"staff role undefined", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: 99}}))
					}, inv, fv, "staff.role"},
					{"staff bad email", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_AGENT, Email: "x@"}}))
					}, inv, fv, "staff.email"},
					{"staff empty skill", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_AGENT, Skills: []string{"wiring", ""}}}))
					}, inv, fv, "staff.skills[1]"},
					{"staff manager malformed", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_AGENT, Manager: "nope"}}))
					}, inv, fv, "staff.manager"},
					{"staff partner on a non-technician", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_AGENT, Partner: f.partner.GetName()}}))
					}, inv, fv, "staff.partner"},
					{"staff is their own manager", func() error {
						return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: f.agent.GetName(), Manager: f.agent.GetName()}, UpdateMask: mask("manager")}))
					}, inv, fv, "staff.manager"},

					// Tickets.
					{"ticket missing", func() error { return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{})) }, inv, fv, "ticket"},
					{"ticket customer required", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Customer, tk.Product = "", "" })}))
					}, inv, fv, "ticket.customer"},
					{"ticket customer malformed", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Customer = "nope" })}))
					}, inv, fv, "ticket.customer"},
					{"ticket type required", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Type = 0 })}))
					}, inv, fv, "ticket.type"},
					{"ticket type undefined", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Type = 42 })}))
					}, inv, fv, "ticket.type"},
					{"ticket channel required", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Channel = 0 })}))
					}, inv, fv, "ticket.channel"},
					{"ticket title required", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Title = " " })}))
					}, inv, fv, "ticket.title"},
					{"ticket title over 200 characters", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Title = long })}))
					}, inv, fv, "ticket.title"},
					{"ticket priority undefined", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Priority = 9 })}))
					}, inv, fv, "ticket.priority"},
					{"ticket product malformed", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Product = "nope" })}))
					}, inv, fv, "ticket.product"},
					{"ticket product of another customer", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Product = o.product.GetName() })}))
					}, inv, fv, "ticket.product"},
					{"ticket fee currency lower case", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) {
							tk.FeeQuote = &aftersalesv1.FeeQuote{Labor: &aftersalesv1.Money{CurrencyCode: "cny", MinorUnits: 100}}
						})}))
					}, inv, fv, "ticket.fee_quote.labor.currency_code"},
					{"ticket fee negative", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) {
							tk.FeeQuote = &aftersalesv1.FeeQuote{Labor: cny(-1)}
						})}))
					}, inv, fv, "ticket.fee_quote.labor.minor_units"},
					{"ticket fee without currency", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) {
							tk.FeeQuote = &aftersalesv1.FeeQuote{Description: "no money"}
						})}))
					}, inv, fv, "ticket.fee_quote.labor.currency_code"},
					{"ticket fee in two currencies", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) {
							tk.FeeQuote = &aftersalesv1.FeeQuote{Labor: cny(1), Parts: &aftersalesv1.Money{CurrencyCode: "EUR", MinorUnits: 1}}
						})}))
					}, inv, fv, "ticket.fee_quote.parts.currency_code"},
					{"update ticket clears title", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tn}, UpdateMask: mask("title")}))
					}, inv, fv, "ticket.title"},
					{"update ticket clears priority", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tn}, UpdateMask: mask("priority")}))
					}, inv, fv, "ticket.priority"},
					{"update ticket to a product of another customer", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tn, Product: o.product.GetName()}, UpdateMask: mask("product")}))
					}, inv, fv, "ticket.product"},
					{"update ticket negative fee", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tn, FeeQuote: &aftersalesv1.FeeQuote{Parts: cny(-5)}}, UpdateMask: mask("fee_quote")}))
					}, inv, fv, "ticket.fee_quote.parts.minor_units"},

					// Ticket methods.
					{"resolve without resolution", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn}))
					}, inv, fv, "resolution"},
					{"resolve without fault code", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) { r.FaultCode = "" })}))
					}, inv, fv, "resolution.fault_code"},
					{"resolve without fault category", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) { r.FaultCategory = "" })}))
					}, inv, fv, "resolution.fault_category"},
					{"resolve without summary", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) { r.Summary = "" })}))
					}, inv, fv, "resolution.summary"},
					{"resolve part quantity 0", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) {
							r.Parts = []*aftersalesv1.PartUsage{{PartNumber: "H-1", Quantity: 1}, {PartNumber: "H-2"}}
						})}))
					}, inv, fv, "resolution.parts[1].quantity"},
					{"resolve part without number", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) {
							r.Parts = []*aftersalesv1.PartUsage{{Quantity: 1}}
						})}))
					}, inv, fv, "resolution.parts[0].part_number"},
					{"resolve negative labour", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) {
							r.Labor = durationpb.New(-time.Minute)
						})}))
					}, inv, fv, "resolution.labor"},
					{"resolve negative fee charged", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: tn, Resolution: resolutionWith(func(r *aftersalesv1.Resolution) {
							r.FeeCharged = cny(-100)
						})}))
					}, inv, fv, "resolution.fee_charged.minor_units"},
					{"pause without reason", func() error { return errOf(ts.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: tn})) }, inv, fv, "reason"},
					{"cancel without reason", func() error { return errOf(ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: tn})) }, inv, fv, "reason"},
					{"reopen without reason", func() error { return errOf(ts.ReopenTicket(ctx, &aftersalesv1.ReopenTicketRequest{Name: tn})) }, inv, fv, "reason"},
					{"escalate without reason", func() error {
						return errOf(ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tn}))
					}, inv, fv, "reason"},
					{"escalate reason too long", func() error {
						return errOf(ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tn, Reason: strings.Repeat("x", 2001)}))
					}, inv, fv, "reason"},
					{"comment without message", func() error {
						return errOf(ts.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: tn}))
					}, inv, fv, "message"},
					{"assign to nobody", func() error { return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn})) }, inv, fv, "assignee"},
					{"assign assignee malformed", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn, Assignee: "nope"}))
					}, inv, fv, "assignee"},
					{"assign partner malformed", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn, Partner: "staff/x"}))
					}, inv, fv, "partner"},
					{"assign a partner technician with another partner", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn, Assignee: f.partnerTech.GetName(), Partner: o.partner.GetName()}))
					}, inv, fv, "assignee"},

					// SLA policies.
					{"sla policy priority required", func() error {
						return errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							ResponseTarget: durationpb.New(time.Hour), ResolveTarget: durationpb.New(2 * time.Hour)}}))
					}, inv, fv, "sla_policy.priority"},
					{"sla policy response target required", func() error {
						return errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							Priority: aftersalesv1.Ticket_LOW, ResolveTarget: durationpb.New(2 * time.Hour)}}))
					}, inv, fv, "sla_policy.response_target"},
					{"sla policy resolve target required", func() error {
						return errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							Priority: aftersalesv1.Ticket_LOW, ResponseTarget: durationpb.New(time.Hour)}}))
					}, inv, fv, "sla_policy.resolve_target"},
					{"sla policy target under a minute", func() error {
						return errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							Priority: aftersalesv1.Ticket_LOW, ResponseTarget: durationpb.New(30 * time.Second), ResolveTarget: durationpb.New(time.Hour)}}))
					}, inv, fv, "sla_policy.response_target"},
					{"sla policy resolves before it responds", func() error {
						return errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							Priority: aftersalesv1.Ticket_LOW, ResponseTarget: durationpb.New(2 * time.Hour), ResolveTarget: durationpb.New(time.Hour)}}))
					}, inv, fv, "sla_policy.resolve_target"},
					{"update sla policy resolve shorter than response", func() error {
						return errOf(ts.UpdateSlaPolicy(adm, &aftersalesv1.UpdateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{
							Name: "slaPolicies/low", ResolveTarget: durationpb.New(time.Minute)}, UpdateMask: mask("resolve_target")}))
					}, inv, fv, "sla_policy.resolve_target"},

					// Malformed resource names.
					{"get ticket name nope", func() error { return errOf(ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: "nope"})) }, inv, fv, "name"},
					{"get ticket name empty", func() error { return errOf(ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{})) }, inv, fv, "name"},
					{"get ticket of another collection", func() error {
						return errOf(ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: f.customer.GetName()}))
					}, inv, fv, "name"},
					{"get ticket nested name", func() error {
						return errOf(ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tn + "/events/x"}))
					}, inv, fv, "name"},
					{"get customer name nope", func() error { return errOf(cs.GetCustomer(ctx, &aftersalesv1.GetCustomerRequest{Name: "nope"})) }, inv, fv, "name"},
					{"get product name nope", func() error { return errOf(cs.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: "nope"})) }, inv, fv, "name"},
					{"get product without customer", func() error {
						return errOf(cs.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: "products/x"}))
					}, inv, fv, "name"},
					{"get partner name nope", func() error { return errOf(ps.GetPartner(ctx, &aftersalesv1.GetPartnerRequest{Name: "nope"})) }, inv, fv, "name"},
					{"get staff name nope", func() error { return errOf(ss.GetStaff(ctx, &aftersalesv1.GetStaffRequest{Name: "nope"})) }, inv, fv, "name"},
					{"get sla policy name nope", func() error {
						return errOf(ts.GetSlaPolicy(ctx, &aftersalesv1.GetSlaPolicyRequest{Name: "nope"}))
					}, inv, fv, "name"},
					{"update ticket name nope", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: "nope", Title: "x"}, UpdateMask: mask("title")}))
					}, inv, fv, "ticket.name"},
					{"update customer name nope", func() error {
						return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: "nope", DisplayName: "x"}}))
					}, inv, fv, "customer.name"},
					{"update product name nope", func() error {
						return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: "nope", Model: "x"}}))
					}, inv, fv, "product.name"},
					{"update partner name nope", func() error {
						return errOf(ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: "nope", DisplayName: "x"}}))
					}, inv, fv, "partner.name"},
					{"update staff name nope", func() error {
						return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: "nope", DisplayName: "x"}, UpdateMask: mask("display_name")}))
					}, inv, fv, "staff.name"},
					{"update sla policy name nope", func() error {
						return errOf(ts.UpdateSlaPolicy(adm, &aftersalesv1.UpdateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{Name: "nope"}, UpdateMask: mask("display_name")}))
					}, inv, fv, "sla_policy.name"},
					{"transition name nope", func() error {
						return errOf(ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: "nope", Reason: "x"}))
					}, inv, fv, "name"},
					{"transition name empty", func() error { return errOf(ts.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{})) }, inv, fv, "name"},
					{"comment parent nope", func() error {
						return errOf(ts.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: "nope", Message: "hi"}))
					}, inv, fv, "parent"},
					{"events parent nope", func() error {
						return errOf(ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: "nope"}))
					}, inv, fv, "parent"},
					{"products parent nope", func() error {
						return errOf(cs.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: "nope"}))
					}, inv, fv, "parent"},
					{"check warranty without serial", func() error {
						return errOf(cs.CheckWarranty(ctx, &aftersalesv1.CheckWarrantyRequest{}))
					}, inv, fv, "serial_number"},
				})
			})

			t.Run("every missing ticket field is reported at once", func(t *testing.T) {
				err := errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{Customer: f.customer.GetName()}}))
				requireCode(t, err, inv, fv)
				require.ElementsMatch(t, []string{"ticket.type", "ticket.channel", "ticket.title"}, fieldsOf(err))

				err = errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{}}))
				requireCode(t, err, inv, fv)
				require.ElementsMatch(t, []string{"staff.display_name", "staff.role"}, fieldsOf(err))

				err = errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{}}))
				requireCode(t, err, inv, fv)
				require.ElementsMatch(t, []string{"product.model", "product.serial_number"}, fieldsOf(err))

				err = errOf(ts.CreateSlaPolicy(adm, &aftersalesv1.CreateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{}}))
				requireCode(t, err, inv, fv)
				require.ElementsMatch(t, []string{"sla_policy.priority", "sla_policy.response_target", "sla_policy.resolve_target"}, fieldsOf(err))

				err = errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn}))
				requireCode(t, err, inv, fv)
				require.ElementsMatch(t, []string{"assignee", "partner"}, fieldsOf(err))
			})

			t.Run("limits are inclusive", func(t *testing.T) {
				_, err := ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Title = strings.Repeat("x", 200) })})
				require.NoError(t, err, "a 200-character title is allowed")
				_, err = cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "WM-1", SerialNumber: "A" + strings.Repeat("b", 63)}})
				require.NoError(t, err, "a 64-character serial number is allowed")
			})

			t.Run("refused requests change nothing", func(t *testing.T) {
				before, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tn})
				require.NoError(t, err)
				_, err = ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tn, Assignee: f.partnerTech.GetName(), Partner: o.partner.GetName()})
				require.Error(t, err)
				_, err = ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tn, Title: "changed", Product: o.product.GetName()}, UpdateMask: mask("title", "product")})
				require.Error(t, err)
				after, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tn})
				require.NoError(t, err)
				require.True(t, proto.Equal(before, after), "before %v\nafter %v", before, after)
			})

			t.Run("JSON", func(t *testing.T) {
				const bad = http.StatusBadRequest
				runJSONCases(t, e, e.adminActor(), []jsonCase{
					{"partner display_name required", http.MethodPost, "/v1/partners", map[string]any{"region": "x"}, bad, inv, fv, "partner.display_name"},
					{"staff role required", http.MethodPost, "/v1/staff", map[string]any{"displayName": "S"}, bad, inv, fv, "staff.role"},
					{"sla policy priority required", http.MethodPost, "/v1/slaPolicies", map[string]any{"responseTarget": "3600s", "resolveTarget": "7200s"}, bad, inv, fv, "sla_policy.priority"},
				})
				runJSONCases(t, e, f.agent.GetName(), []jsonCase{
					{"customer display_name required", http.MethodPost, "/v1/customers", map[string]any{"phone": "+8613800138000"}, bad, inv, fv, "customer.display_name"},
					{"customer bad phone", http.MethodPost, "/v1/customers", map[string]any{"displayName": "A", "phone": "12"}, bad, inv, fv, "customer.phone"},
					{"customer bad email", http.MethodPost, "/v1/customers", map[string]any{"displayName": "A", "email": "@"}, bad, inv, fv, "customer.email"},
					{"product bad serial", http.MethodPost, "/v1/" + f.customer.GetName() + "/products", map[string]any{"model": "WM-1", "serialNumber": "SN 1"}, bad, inv, fv, "product.serial_number"},
					{"ticket title too long", http.MethodPost, "/v1/tickets", map[string]any{"customer": f.customer.GetName(), "type": "REPAIR", "channel": "APP", "title": long}, bad, inv, fv, "ticket.title"},
					{"ticket channel required", http.MethodPost, "/v1/tickets", map[string]any{"customer": f.customer.GetName(), "type": "REPAIR", "title": "x"}, bad, inv, fv, "ticket.channel"},
					{"ticket negative fee", http.MethodPost, "/v1/tickets", map[string]any{"customer": f.customer.GetName(), "type": "REPAIR", "channel": "APP", "title": "x",
						"feeQuote": map[string]any{"labor": map[string]any{"currencyCode": "CNY", "minorUnits": "-1"}}}, bad, inv, fv, "ticket.fee_quote.labor.minor_units"},
					{"ticket product of another customer", http.MethodPost, "/v1/tickets", map[string]any{"customer": f.customer.GetName(), "product": o.product.GetName(), "type": "REPAIR", "channel": "APP", "title": "x"}, bad, inv, fv, "ticket.product"},
					{"pause without reason", http.MethodPost, "/v1/" + tn + ":pause", map[string]any{}, bad, inv, fv, "reason"},
					{"resolve part quantity 0", http.MethodPost, "/v1/" + tn + ":resolve", map[string]any{"resolution": map[string]any{
						"faultCategory": "PLUMBING", "faultCode": "P1", "summary": "x", "parts": []any{map[string]any{"partNumber": "H-1"}}}}, bad, inv, fv, "resolution.parts[0].quantity"},
					{"assign to nobody", http.MethodPost, "/v1/" + tn + ":assign", map[string]any{"note": "x"}, bad, inv, fv, "assignee"},
					{"assign a partner technician with another partner", http.MethodPost, "/v1/" + tn + ":assign", map[string]any{"assignee": f.partnerTech.GetName(), "partner": o.partner.GetName()}, bad, inv, fv, "assignee"},
				})
			})
		})
	}
}

// TestUnknownNames: a name that does not exist is NOT_FOUND
// RESOURCE_NOT_FOUND (HTTP 404); a request that refers to one is
// INVALID_ARGUMENT REFERENCE_NOT_FOUND naming the field.
func TestUnknownNames(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			o := e.seedOther()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			tk := e.newTicket(f, f.inWarranty)
			cs, ps, ss, ts := e.customers, e.partners, e.staff, e.tickets
			const nf, rnf = codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND
			const inv, ref = codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND
			const ghost = "tickets/ghost"
			// The product exists, but under another customer.
			misplaced := f.customer.GetName() + "/products/" + strings.TrimPrefix(o.product.GetName(), o.customer.GetName()+"/products/")

			t.Run("NOT_FOUND", func(t *testing.T) {
				runErrCases(t, []errCase{
					{"get ticket", func() error { return errOf(ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: ghost})) }, nf, rnf, ""},
					{"update ticket", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: ghost, Title: "x"}, UpdateMask: mask("title")}))
					}, nf, rnf, ""},
					{"assign ticket", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: ghost, Assignee: f.technician.GetName()}))
					}, nf, rnf, ""},
					{"accept ticket", func() error { return errOf(ts.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: ghost})) }, nf, rnf, ""},
					{"start ticket", func() error { return errOf(ts.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: ghost})) }, nf, rnf, ""},
					{"pause ticket", func() error {
						return errOf(ts.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: ghost, Reason: "x"}))
					}, nf, rnf, ""},
					{"resume ticket", func() error { return errOf(ts.ResumeTicket(ctx, &aftersalesv1.ResumeTicketRequest{Name: ghost})) }, nf, rnf, ""},
					{"resolve ticket", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: ghost, Resolution: validResolution()}))
					}, nf, rnf, ""},
					{"close ticket", func() error { return errOf(ts.CloseTicket(ctx, &aftersalesv1.CloseTicketRequest{Name: ghost})) }, nf, rnf, ""},
					{"reopen ticket", func() error {
						return errOf(ts.ReopenTicket(ctx, &aftersalesv1.ReopenTicketRequest{Name: ghost, Reason: "x"}))
					}, nf, rnf, ""},
					{"cancel ticket", func() error {
						return errOf(ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: ghost, Reason: "x"}))
					}, nf, rnf, ""},
					{"escalate ticket", func() error {
						return errOf(ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: ghost, Reason: "x"}))
					}, nf, rnf, ""},
					{"approve ticket fee", func() error {
						return errOf(ts.ApproveTicketFee(ctx, &aftersalesv1.ApproveTicketFeeRequest{Name: ghost, Approved: true}))
					}, nf, rnf, ""},
					{"comment on ticket", func() error {
						return errOf(ts.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: ghost, Message: "hi"}))
					}, nf, rnf, ""},
					{"list ticket events", func() error {
						return errOf(ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: ghost}))
					}, nf, rnf, ""},
					{"get customer", func() error {
						return errOf(cs.GetCustomer(ctx, &aftersalesv1.GetCustomerRequest{Name: "customers/ghost"}))
					}, nf, rnf, ""},
					{"update customer", func() error {
						return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: "customers/ghost", DisplayName: "x"}, UpdateMask: mask("display_name")}))
					}, nf, rnf, ""},
					{"create product under unknown customer", func() error {
						return errOf(cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: "customers/ghost", Product: &aftersalesv1.Product{Model: "x", SerialNumber: "SN-GHOST"}}))
					}, nf, rnf, ""},
					{"list products of unknown customer", func() error {
						return errOf(cs.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: "customers/ghost"}))
					}, nf, rnf, ""},
					{"get product", func() error {
						return errOf(cs.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: f.customer.GetName() + "/products/ghost"}))
					}, nf, rnf, ""},
					{"get product under another customer", func() error {
						return errOf(cs.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: misplaced}))
					}, nf, rnf, ""},
					{"update product", func() error {
						return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: f.customer.GetName() + "/products/ghost", Model: "x"}, UpdateMask: mask("model")}))
					}, nf, rnf, ""},
					{"update product under another customer", func() error {
						return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: misplaced, Model: "x"}, UpdateMask: mask("model")}))
					}, nf, rnf, ""},
					{"check warranty of unknown serial", func() error {
						return errOf(cs.CheckWarranty(ctx, &aftersalesv1.CheckWarrantyRequest{SerialNumber: "SN-GHOST"}))
					}, nf, rnf, ""},
					{"get partner", func() error {
						return errOf(ps.GetPartner(ctx, &aftersalesv1.GetPartnerRequest{Name: "partners/ghost"}))
					}, nf, rnf, ""},
					{"update partner", func() error {
						return errOf(ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: "partners/ghost", DisplayName: "x"}, UpdateMask: mask("display_name")}))
					}, nf, rnf, ""},
					{"get staff", func() error { return errOf(ss.GetStaff(ctx, &aftersalesv1.GetStaffRequest{Name: "staff/ghost"})) }, nf, rnf, ""},
					{"update staff", func() error {
						return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: "staff/ghost", DisplayName: "x"}, UpdateMask: mask("display_name")}))
					}, nf, rnf, ""},
					{"get sla policy", func() error {
						return errOf(ts.GetSlaPolicy(ctx, &aftersalesv1.GetSlaPolicyRequest{Name: "slaPolicies/ghost"}))
					}, nf, rnf, ""},
					{"update sla policy", func() error {
						return errOf(ts.UpdateSlaPolicy(adm, &aftersalesv1.UpdateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{Name: "slaPolicies/ghost", DisplayName: "x"}, UpdateMask: mask("display_name")}))
					}, nf, rnf, ""},
				})
			})

			t.Run("REFERENCE_NOT_FOUND", func(t *testing.T) {
				runErrCases(t, []errCase{
					{"ticket for unknown customer", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Customer, tk.Product = "customers/ghost", "" })}))
					}, inv, ref, "ticket.customer"},
					{"ticket for unknown product", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Product = f.customer.GetName() + "/products/ghost" })}))
					}, inv, ref, "ticket.product"},
					{"ticket for a product of another customer, named under its own", func() error {
						return errOf(ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Product = misplaced })}))
					}, inv, ref, "ticket.product"},
					{"update ticket to unknown product", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Product: f.customer.GetName() + "/products/ghost"}, UpdateMask: mask("product")}))
					}, inv, ref, "ticket.product"},
					{"assign to unknown staff", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: "staff/ghost"}))
					}, inv, ref, "assignee"},
					{"assign to unknown partner", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: "partners/ghost"}))
					}, inv, ref, "partner"},
					{"staff with unknown manager", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_AGENT, Manager: "staff/ghost"}}))
					}, inv, ref, "staff.manager"},
					{"technician of unknown partner", func() error {
						return errOf(ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "S", Role: aftersalesv1.Staff_TECHNICIAN, Partner: "partners/ghost"}}))
					}, inv, ref, "staff.partner"},
					{"update staff to unknown manager", func() error {
						return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: f.agent.GetName(), Manager: "staff/ghost"}, UpdateMask: mask("manager")}))
					}, inv, ref, "staff.manager"},
				})
			})

			t.Run("bad references create and change nothing", func(t *testing.T) {
				got, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				require.True(t, proto.Equal(tk, got), "the ticket is unchanged")
				all, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{})
				require.NoError(t, err)
				require.Len(t, all.GetTickets(), 1)
				staff, err := ss.ListStaff(ctx, &aftersalesv1.ListStaffRequest{})
				require.NoError(t, err)
				require.Len(t, staff.GetStaff(), 4, "the seeded staff only")
				got2, err := ss.GetStaff(ctx, &aftersalesv1.GetStaffRequest{Name: f.agent.GetName()})
				require.NoError(t, err)
				require.Equal(t, f.manager.GetName(), got2.GetManager())
			})

			t.Run("JSON", func(t *testing.T) {
				runJSONCases(t, e, f.agent.GetName(), []jsonCase{
					{"get ticket", http.MethodGet, "/v1/" + ghost, nil, http.StatusNotFound, nf, rnf, ""},
					{"cancel ticket", http.MethodPost, "/v1/" + ghost + ":cancel", map[string]any{"reason": "x"}, http.StatusNotFound, nf, rnf, ""},
					{"patch ticket", http.MethodPatch, "/v1/" + ghost + "?updateMask=title", map[string]any{"title": "x"}, http.StatusNotFound, nf, rnf, ""},
					{"ticket events", http.MethodGet, "/v1/" + ghost + "/events", nil, http.StatusNotFound, nf, rnf, ""},
					{"get customer", http.MethodGet, "/v1/customers/ghost", nil, http.StatusNotFound, nf, rnf, ""},
					{"patch customer", http.MethodPatch, "/v1/customers/ghost?updateMask=display_name", map[string]any{"displayName": "x"}, http.StatusNotFound, nf, rnf, ""},
					{"get product", http.MethodGet, "/v1/" + f.customer.GetName() + "/products/ghost", nil, http.StatusNotFound, nf, rnf, ""},
					{"get partner", http.MethodGet, "/v1/partners/ghost", nil, http.StatusNotFound, nf, rnf, ""},
					{"get staff", http.MethodGet, "/v1/staff/ghost", nil, http.StatusNotFound, nf, rnf, ""},
					{"get sla policy", http.MethodGet, "/v1/slaPolicies/ghost", nil, http.StatusNotFound, nf, rnf, ""},
					{"ticket for unknown customer", http.MethodPost, "/v1/tickets", map[string]any{"customer": "customers/ghost", "type": "REPAIR", "channel": "APP", "title": "x"},
						http.StatusBadRequest, inv, ref, "ticket.customer"},
					{"assign to unknown staff", http.MethodPost, "/v1/" + tk.GetName() + ":assign", map[string]any{"assignee": "staff/ghost"}, http.StatusBadRequest, inv, ref, "assignee"},
				})
			})
		})
	}
}

// TestStaleEtags: a stale etag is ABORTED ETAG_MISMATCH (HTTP 409) and
// changes nothing; the current etag, bare, quoted or weak, is accepted.
func TestStaleEtags(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			cs, ps, ss, ts := e.customers, e.partners, e.staff, e.tickets

			// Each resource is changed once so that its first etag is
			// stale; then the stale etag must be refused and the
			// resource must still be as after the change.
			type resource struct {
				name   string
				get    func() (proto.Message, string) // the resource and its etag
				update func(etag, value string) error // changes a display field
			}
			resources := []resource{
				{
					"customer",
					func() (proto.Message, string) {
						c, err := cs.GetCustomer(ctx, &aftersalesv1.GetCustomerRequest{Name: f.customer.GetName()})
						require.NoError(t, err)
						return c, c.GetEtag()
					},
					func(etag, v string) error {
						return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: f.customer.GetName(), Etag: etag, DisplayName: v}, UpdateMask: mask("display_name")}))
					},
				},
				{
					"product",
					func() (proto.Message, string) {
						p, err := cs.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: f.inWarranty.GetName()})
						require.NoError(t, err)
						return p, p.GetEtag()
					},
					func(etag, v string) error {
						return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: f.inWarranty.GetName(), Etag: etag, Retailer: v}, UpdateMask: mask("retailer")}))
					},
				},
				{
					"partner",
					func() (proto.Message, string) {
						p, err := ps.GetPartner(ctx, &aftersalesv1.GetPartnerRequest{Name: f.partner.GetName()})
						require.NoError(t, err)
						return p, p.GetEtag()
					},
					func(etag, v string) error {
						return errOf(ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: f.partner.GetName(), Etag: etag, Region: v}, UpdateMask: mask("region")}))
					},
				},
				{
					"staff",
					func() (proto.Message, string) {
						s, err := ss.GetStaff(ctx, &aftersalesv1.GetStaffRequest{Name: f.technician.GetName()})
						require.NoError(t, err)
						return s, s.GetEtag()
					},
					func(etag, v string) error {
						return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: f.technician.GetName(), Etag: etag, Team: v}, UpdateMask: mask("team")}))
					},
				},
				{
					"sla policy",
					func() (proto.Message, string) {
						p, err := ts.GetSlaPolicy(ctx, &aftersalesv1.GetSlaPolicyRequest{Name: "slaPolicies/low"})
						require.NoError(t, err)
						return p, p.GetEtag()
					},
					func(etag, v string) error {
						return errOf(ts.UpdateSlaPolicy(adm, &aftersalesv1.UpdateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{Name: "slaPolicies/low", Etag: etag, DisplayName: v}, UpdateMask: mask("display_name")}))
					},
				},
			}
			for _, r := range resources {
				t.Run(r.name, func(t *testing.T) {
					_, stale := r.get()
					require.NoError(t, r.update(stale, "first"))
					changed, current := r.get()
					require.NotEqual(t, stale, current)

					for _, bad := range []string{stale, `"` + stale + `"`, `W/"` + stale + `"`, "garbage", current + "0"} {
						requireCode(t, r.update(bad, "second"), codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
					}
					after, _ := r.get()
					require.True(t, proto.Equal(changed, after), "a refused update changed %s", r.name)

					// The current etag, as HTTP clients decorate it, and no
					// etag at all (no precondition), are accepted.
					for i, decorate := range []func(string) string{
						func(s string) string { return `"` + s + `"` },
						func(s string) string { return `W/"` + s + `"` },
						func(string) string { return "" },
					} {
						_, current := r.get()
						require.NoError(t, r.update(decorate(current), fmt.Sprintf("ok-%d", i)), "etag %q", decorate(current))
					}
				})
			}

			t.Run("ticket", func(t *testing.T) {
				tk := e.newTicket(f, f.inWarranty)
				stale := tk.GetEtag()
				tk, err := ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "VIP", Etag: stale})
				require.NoError(t, err)
				other := e.newTicket(f, f.inWarranty)
				w := tflow{e: e, f: f}
				before := w.snap(t, tk.GetName())
				n := tk.GetName()
				const ab, em = codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH
				// The etag is checked before the state, so even methods the
				// NEW state refuses answer ABORTED.
				runErrCases(t, []errCase{
					{"update", func() error {
						return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: n, Etag: stale, Title: "x"}, UpdateMask: mask("title")}))
					}, ab, em, ""},
					{"assign", func() error {
						return errOf(ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: n, Etag: stale, Assignee: f.technician.GetName()}))
					}, ab, em, ""},
					{"accept", func() error {
						return errOf(ts.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: n, Etag: stale}))
					}, ab, em, ""},
					{"start", func() error {
						return errOf(ts.StartTicket(ctx, &aftersalesv1.StartTicketRequest{Name: n, Etag: stale}))
					}, ab, em, ""},
					{"pause", func() error {
						return errOf(ts.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: n, Etag: stale, Reason: "x"}))
					}, ab, em, ""},
					{"resume", func() error {
						return errOf(ts.ResumeTicket(ctx, &aftersalesv1.ResumeTicketRequest{Name: n, Etag: stale}))
					}, ab, em, ""},
					{"resolve", func() error {
						return errOf(ts.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: n, Etag: stale, Resolution: validResolution()}))
					}, ab, em, ""},
					{"close", func() error {
						return errOf(ts.CloseTicket(ctx, &aftersalesv1.CloseTicketRequest{Name: n, Etag: stale}))
					}, ab, em, ""},
					{"reopen", func() error {
						return errOf(ts.ReopenTicket(ctx, &aftersalesv1.ReopenTicketRequest{Name: n, Etag: stale, Reason: "x"}))
					}, ab, em, ""},
					{"cancel", func() error {
						return errOf(ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: n, Etag: stale, Reason: "x"}))
					}, ab, em, ""},
					{"escalate", func() error {
						return errOf(ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: n, Etag: stale, Reason: "x"}))
					}, ab, em, ""},
					{"approve fee", func() error {
						return errOf(ts.ApproveTicketFee(ctx, &aftersalesv1.ApproveTicketFeeRequest{Name: n, Etag: stale, Approved: true}))
					}, ab, em, ""},
					{"etag of another ticket", func() error {
						return errOf(ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: n, Etag: other.GetEtag(), Reason: "x"}))
					}, ab, em, ""},
				})
				require.Equal(t, before, w.snap(t, n), "refused calls changed the ticket")

				tk, err = ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: n, Reason: "again", Etag: `W/"` + tk.GetEtag() + `"`})
				require.NoError(t, err, "a weak quoted current etag is accepted")
				require.EqualValues(t, 2, tk.GetEscalationLevel())
				tk, err = ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: n, Reason: "done", Etag: `"` + tk.GetEtag() + `"`})
				require.NoError(t, err, "a quoted current etag is accepted")
				require.Equal(t, aftersalesv1.Ticket_CANCELLED, tk.GetState())
			})

			t.Run("JSON", func(t *testing.T) {
				c, err := cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Etag Tester"}})
				require.NoError(t, err)
				stale := c.GetEtag()
				// The gateway passes updateMask query values through unconverted,
				// so the paths are the proto field names.
				path := "/v1/" + c.GetName() + "?updateMask=display_name"
				r := e.do(http.MethodPatch, path, f.agent.GetName(), map[string]any{"displayName": "v2", "etag": stale})
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				current := r.body["etag"].(string)

				r = e.do(http.MethodPatch, path, f.agent.GetName(), map[string]any{"displayName": "v3", "etag": stale})
				requireHTTP(t, r, http.StatusConflict, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
				r = e.do(http.MethodGet, "/v1/"+c.GetName(), f.agent.GetName(), nil)
				require.Equal(t, "v2", r.body["displayName"])
				require.Equal(t, current, r.body["etag"])

				r = e.do(http.MethodPatch, path, f.agent.GetName(), map[string]any{"displayName": "v3", "etag": `W/"` + current + `"`})
				require.Equal(t, http.StatusOK, r.status, string(r.raw))

				// Without updateMask the gateway derives the mask from the
				// body, etag included; the etag still guards the update.
				maskless := "/v1/" + c.GetName()
				r = e.do(http.MethodPatch, maskless, f.agent.GetName(), map[string]any{"displayName": "v4", "etag": current})
				requireHTTP(t, r, http.StatusConflict, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
				current = e.do(http.MethodGet, maskless, f.agent.GetName(), nil).body["etag"].(string)
				r = e.do(http.MethodPatch, maskless, f.agent.GetName(), map[string]any{"displayName": "v4", "etag": current})
				require.Equal(t, http.StatusOK, r.status, string(r.raw))
				require.Equal(t, "v4", r.body["displayName"])

				tk := e.newTicket(f, f.inWarranty)
				r = e.do(http.MethodPost, "/v1/"+tk.GetName()+":escalate", f.agent.GetName(), map[string]any{"reason": "x", "etag": "0000000000000000"})
				requireHTTP(t, r, http.StatusConflict, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
			})
		})
	}
}

// TestRequestIDs: AIP-155 request ids make retries safe.
func TestRequestIDs(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			cs, ps, ss, ts := e.customers, e.partners, e.staff, e.tickets

			countCustomers := func(name string) int {
				l, err := cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{Filter: fmt.Sprintf("display_name = %q", name), PageSize: 1000})
				require.NoError(t, err)
				return len(l.GetCustomers())
			}
			countTickets := func(filter string) int {
				l, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{Filter: filter, PageSize: 1000})
				require.NoError(t, err)
				return len(l.GetTickets())
			}

			// Each Create, sent twice with one request id, creates one
			// resource and answers both times with it; the same id with
			// other content is REQUEST_ID_REUSED and creates nothing.
			type creator struct {
				name   string
				create func(rid, variant string) (string, error) // returns the new resource's name
				count  func() int
			}
			creators := []creator{
				{"customer", func(rid, v string) (string, error) {
					c, err := cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{RequestId: rid, Customer: &aftersalesv1.Customer{DisplayName: "Rid Customer", ExternalId: v}})
					return c.GetName(), err
				}, func() int { return countCustomers("Rid Customer") }},
				{"product", func(rid, v string) (string, error) {
					p, err := cs.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{RequestId: rid, Parent: f.customer.GetName(), Product: &aftersalesv1.Product{Model: "RID-" + v, SerialNumber: "SN-RID-1"}})
					return p.GetName(), err
				}, func() int {
					l, err := cs.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: f.customer.GetName()})
					require.NoError(t, err)
					return len(l.GetProducts())
				}},
				{"partner", func(rid, v string) (string, error) {
					p, err := ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{RequestId: rid, Partner: &aftersalesv1.Partner{DisplayName: "Rid Shop", Region: "rid-" + v}})
					return p.GetName(), err
				}, func() int {
					l, err := ps.ListPartners(ctx, &aftersalesv1.ListPartnersRequest{})
					require.NoError(t, err)
					return len(l.GetPartners())
				}},
				{"staff", func(rid, v string) (string, error) {
					s, err := ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{RequestId: rid, Staff: &aftersalesv1.Staff{DisplayName: "Rid Staff", Role: aftersalesv1.Staff_AGENT, Team: "rid-" + v}})
					return s.GetName(), err
				}, func() int {
					l, err := ss.ListStaff(ctx, &aftersalesv1.ListStaffRequest{})
					require.NoError(t, err)
					return len(l.GetStaff())
				}},
				{"ticket", func(rid, v string) (string, error) {
					tk, err := ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{RequestId: rid, Ticket: ticketWith(f, func(tk *aftersalesv1.Ticket) { tk.Title = "Rid " + v })})
					return tk.GetName(), err
				}, func() int { return countTickets(`customer = "` + f.customer.GetName() + `"`) }},
			}
			for _, c := range creators {
				t.Run("retry "+c.name, func(t *testing.T) {
					rid := "rid-" + strings.ReplaceAll(c.name, " ", "-")
					before := c.count()
					first, err := c.create(rid, "a")
					require.NoError(t, err)
					again, err := c.create(rid, "a")
					require.NoError(t, err)
					require.Equal(t, first, again, "a retry answers with the first result")
					require.Equal(t, before+1, c.count(), "a retry creates nothing")

					_, err = c.create(rid, "b")
					requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_REQUEST_ID_REUSED)
					require.Contains(t, fieldsOf(err), "request_id")
					require.Equal(t, before+1, c.count(), "a reused id creates nothing")
				})
			}

			t.Run("retry returns the original response", func(t *testing.T) {
				req := &aftersalesv1.CreateCustomerRequest{RequestId: "rid-orig", Customer: &aftersalesv1.Customer{DisplayName: "Orig"}}
				first, err := cs.CreateCustomer(ctx, req)
				require.NoError(t, err)
				_, err = cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: first.GetName(), DisplayName: "Renamed"}, UpdateMask: mask("display_name")})
				require.NoError(t, err)
				again, err := cs.CreateCustomer(ctx, req)
				require.NoError(t, err)
				require.True(t, proto.Equal(first, again), "the stored response, not the current resource")
			})

			t.Run("a custom method retried does its work once", func(t *testing.T) {
				tk := e.newTicket(f, f.inWarranty)
				req := &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "VIP", RequestId: "esc-1"}
				first, err := ts.EscalateTicket(ctx, req)
				require.NoError(t, err)
				again, err := ts.EscalateTicket(ctx, req)
				require.NoError(t, err)
				require.True(t, proto.Equal(first, again))
				require.EqualValues(t, 1, again.GetEscalationLevel())
				_, err = ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "other reason", RequestId: "esc-1"})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_REQUEST_ID_REUSED)
				got, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				require.EqualValues(t, 1, got.GetEscalationLevel())
			})

			t.Run("a retry its first run made stale replays that run", func(t *testing.T) {
				// The retry's etag and escalation no longer match the row
				// the first run changed; the first run's answer still wins.
				tk := e.newTicket(f, f.inWarranty)
				req := &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "VIP", RequestId: "esc-stale", Etag: tk.GetEtag()}
				first, err := ts.EscalateTicket(ctx, req)
				require.NoError(t, err)
				again, err := ts.EscalateTicket(ctx, req)
				require.NoError(t, err)
				require.True(t, proto.Equal(first, again))
				_, err = ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "VIP", RequestId: "esc-other", Etag: tk.GetEtag()})
				requireCode(t, err, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
			})

			t.Run("a failed call does not use up its request id", func(t *testing.T) {
				shop, err := ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Closed Shop"}})
				require.NoError(t, err)
				// A shop is dispatched work only with a qualified technician.
				_, err = ss.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Sam Shop", Role: aftersalesv1.Staff_TECHNICIAN, Partner: shop.GetName()}})
				require.NoError(t, err)
				_, err = ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: shop.GetName(), Active: false}, UpdateMask: mask("active")})
				require.NoError(t, err)
				tk := e.newTicket(f, f.inWarranty)
				req := &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Partner: shop.GetName(), RequestId: "assign-1"}
				_, err = ts.AssignTicket(ctx, req)
				requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_ASSIGNEE_NOT_ELIGIBLE)

				_, err = ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: shop.GetName(), Active: true}, UpdateMask: mask("active")})
				require.NoError(t, err)
				got, err := ts.AssignTicket(ctx, req)
				require.NoError(t, err, "the retry runs afresh")
				require.Equal(t, aftersalesv1.Ticket_ASSIGNED, got.GetState())
				require.Equal(t, shop.GetName(), got.GetPartner())
			})

			t.Run("one request id on two methods is two requests", func(t *testing.T) {
				c, err := cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{RequestId: "shared-1", Customer: &aftersalesv1.Customer{DisplayName: "Shared"}})
				require.NoError(t, err)
				p, err := ps.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{RequestId: "shared-1", Partner: &aftersalesv1.Partner{DisplayName: "Shared"}})
				require.NoError(t, err)
				require.True(t, strings.HasPrefix(c.GetName(), "customers/"))
				require.True(t, strings.HasPrefix(p.GetName(), "partners/"))

				tk := e.newTicket(f, f.inWarranty)
				esc, err := ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "x", RequestId: "shared-2"})
				require.NoError(t, err)
				require.EqualValues(t, 1, esc.GetEscalationLevel())
				cancelled, err := ts.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: tk.GetName(), Reason: "x", RequestId: "shared-2"})
				require.NoError(t, err)
				require.Equal(t, aftersalesv1.Ticket_CANCELLED, cancelled.GetState())
				require.EqualValues(t, 1, cancelled.GetEscalationLevel())
			})

			t.Run("concurrent duplicate creates make one ticket", func(t *testing.T) {
				cust, err := cs.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Concurrent"}})
				require.NoError(t, err)
				req := &aftersalesv1.CreateTicketRequest{RequestId: "burst-1", Ticket: &aftersalesv1.Ticket{
					Customer: cust.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_APP, Title: "Burst",
				}}
				names := concurrently(t, 16, func() (string, error) {
					tk, err := ts.CreateTicket(ctx, req)
					return tk.GetName(), err
				})
				for _, n := range names {
					require.Equal(t, names[0], n)
				}
				require.Equal(t, 1, countTickets(`customer = "`+cust.GetName()+`"`))
			})

			t.Run("concurrent duplicate escalations escalate once", func(t *testing.T) {
				tk := e.newTicket(f, f.inWarranty)
				req := &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "burst", RequestId: "burst-esc"}
				levels := concurrently(t, 16, func() (int32, error) {
					got, err := ts.EscalateTicket(ctx, req)
					return got.GetEscalationLevel(), err
				})
				for _, l := range levels {
					require.EqualValues(t, 1, l)
				}
				got, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				require.EqualValues(t, 1, got.GetEscalationLevel())
				evs, err := ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName()})
				require.NoError(t, err)
				escalations := 0
				for _, ev := range evs.GetEvents() {
					if ev.GetType() == aftersalesv1.TicketEvent_ESCALATED {
						escalations++
					}
				}
				require.Equal(t, 1, escalations)
			})

			t.Run("JSON", func(t *testing.T) {
				agent := f.agent.GetName()
				r1 := e.do(http.MethodPost, "/v1/customers?requestId=json-1", agent, map[string]any{"displayName": "Json Rid"})
				require.Equal(t, http.StatusOK, r1.status, string(r1.raw))
				r2 := e.do(http.MethodPost, "/v1/customers?requestId=json-1", agent, map[string]any{"displayName": "Json Rid"})
				require.Equal(t, http.StatusOK, r2.status, string(r2.raw))
				require.Equal(t, r1.body["name"], r2.body["name"])
				require.Equal(t, 1, countCustomers("Json Rid"))
				r3 := e.do(http.MethodPost, "/v1/customers?requestId=json-1", agent, map[string]any{"displayName": "Json Rid 2"})
				requireHTTP(t, r3, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_REQUEST_ID_REUSED)

				tk := e.newTicket(f, f.inWarranty)
				for range 2 {
					r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":escalate", agent, map[string]any{"reason": "x", "requestId": "json-esc"})
					require.Equal(t, http.StatusOK, r.status, string(r.raw))
					require.EqualValues(t, 1, r.body["escalationLevel"])
				}
			})
		})
	}
}

// concurrently runs call n times at once, after all are ready, and returns
// the results; every call must succeed.
func concurrently[T any](t *testing.T, n int, call func() (T, error)) []T {
	t.Helper()
	var (
		wg    sync.WaitGroup
		ready sync.WaitGroup
		gate  = make(chan struct{})
		out   = make([]T, n)
		errs  = make([]error, n)
	)
	ready.Add(n)
	for i := range n {
		wg.Go(func() {
			ready.Done()
			<-gate
			out[i], errs[i] = call()
		})
	}
	ready.Wait()
	close(gate)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "call %d", i)
	}
	require.False(t, t.Failed())
	return out
}

// TestListErrors: page size, page token, filter, order_by and update_mask
// problems are INVALID_ARGUMENT with their own reason.
func TestListErrors(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			cs, ps, ss, ts := e.customers, e.partners, e.staff, e.tickets
			tk := e.newTicket(f, f.inWarranty)
			e.newTicket(f, f.inWarranty)
			const inv = codes.InvalidArgument
			const (
				fv    = aftersalesv1.ErrorReason_FIELD_VIOLATION
				badPT = aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN
				badF  = aftersalesv1.ErrorReason_INVALID_FILTER
				badO  = aftersalesv1.ErrorReason_INVALID_ORDER_BY
				badM  = aftersalesv1.ErrorReason_INVALID_UPDATE_MASK
			)
			// A real token, for reuse with another query.
			page, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{PageSize: 1, Filter: "state = NEW"})
			require.NoError(t, err)
			token := page.GetNextPageToken()
			require.NotEmpty(t, token)
			plain, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{PageSize: 1})
			require.NoError(t, err)
			plainToken := plain.GetNextPageToken()
			require.NotEmpty(t, plainToken)
			_, err = ts.EscalateTicket(ctx, &aftersalesv1.EscalateTicketRequest{Name: tk.GetName(), Reason: "x"})
			require.NoError(t, err)
			evPage, err := ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName(), PageSize: 1})
			require.NoError(t, err)
			require.NotEmpty(t, evPage.GetNextPageToken())
			other := e.newTicket(f, f.inWarranty)
			listT := func(r *aftersalesv1.ListTicketsRequest) func() error {
				return func() error { return errOf(ts.ListTickets(ctx, r)) }
			}

			runErrCases(t, []errCase{
				// page_size.
				{"tickets negative page_size", listT(&aftersalesv1.ListTicketsRequest{PageSize: -1}), inv, fv, "page_size"},
				{"customers negative page_size", func() error { return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{PageSize: -1})) }, inv, fv, "page_size"},
				{"products negative page_size", func() error {
					return errOf(cs.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: f.customer.GetName(), PageSize: -1}))
				}, inv, fv, "page_size"},
				{"partners negative page_size", func() error { return errOf(ps.ListPartners(ctx, &aftersalesv1.ListPartnersRequest{PageSize: -5})) }, inv, fv, "page_size"},
				{"staff negative page_size", func() error { return errOf(ss.ListStaff(ctx, &aftersalesv1.ListStaffRequest{PageSize: -1})) }, inv, fv, "page_size"},
				{"sla policies negative page_size", func() error {
					return errOf(ts.ListSlaPolicies(ctx, &aftersalesv1.ListSlaPoliciesRequest{PageSize: -1}))
				}, inv, fv, "page_size"},
				{"events negative page_size", func() error {
					return errOf(ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: tk.GetName(), PageSize: -1}))
				}, inv, fv, "page_size"},

				// page_token.
				{"tickets malformed token", listT(&aftersalesv1.ListTicketsRequest{PageToken: "garbage"}), inv, badPT, "page_token"},
				{"tickets truncated token", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = NEW", PageToken: token[:len(token)-2]}), inv, badPT, "page_token"},
				{"customers malformed token", func() error {
					return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{PageToken: "!!!"}))
				}, inv, badPT, "page_token"},
				{"sla policies malformed token", func() error {
					return errOf(ts.ListSlaPolicies(ctx, &aftersalesv1.ListSlaPoliciesRequest{PageToken: "x"}))
				}, inv, badPT, "page_token"},
				{"token with another filter", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = ASSIGNED", PageToken: token}), inv, badPT, "page_token"},
				{"token without its filter", listT(&aftersalesv1.ListTicketsRequest{PageToken: token}), inv, badPT, "page_token"},
				{"token with another order", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = NEW", OrderBy: "create_time desc", PageToken: token}), inv, badPT, "page_token"},
				{"token of another ticket's events", func() error {
					return errOf(ts.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: other.GetName(), PageToken: evPage.GetNextPageToken()}))
				}, inv, badPT, "page_token"},
				{"tickets token on customers", func() error {
					return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{PageToken: token}))
				}, inv, badPT, "page_token"},
				// Neither list has a parent or a filter: only the collection
				// tells the two queries apart.
				{"unfiltered tickets token on customers", func() error {
					return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{PageToken: plainToken}))
				}, inv, badPT, "page_token"},

				// filter.
				{"filter syntax: no value", listT(&aftersalesv1.ListTicketsRequest{Filter: "state ="}), inv, badF, "filter"},
				{"filter syntax: OR", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = NEW OR state = CLOSED"}), inv, badF, "filter"},
				{"filter syntax: parentheses", listT(&aftersalesv1.ListTicketsRequest{Filter: "(state = NEW)"}), inv, badF, "filter"},
				{"filter syntax: unterminated string", listT(&aftersalesv1.ListTicketsRequest{Filter: `assignee = "staff/x`}), inv, badF, "filter"},
				{"filter unknown field", listT(&aftersalesv1.ListTicketsRequest{Filter: "color = RED"}), inv, badF, "filter"},
				{"filter unfilterable field", listT(&aftersalesv1.ListTicketsRequest{Filter: `title = "x"`}), inv, badF, "filter"},
				{"filter bad enum value", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = BOGUS"}), inv, badF, "filter"},
				{"filter unspecified enum value", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = STATE_UNSPECIFIED"}), inv, badF, "filter"},
				{"filter lower-case enum value", listT(&aftersalesv1.ListTicketsRequest{Filter: "state = new"}), inv, badF, "filter"},
				{"filter ordering an enum", listT(&aftersalesv1.ListTicketsRequest{Filter: "state < CLOSED"}), inv, badF, "filter"},
				{"filter ordering a name", listT(&aftersalesv1.ListTicketsRequest{Filter: `customer > "customers/a"`}), inv, badF, "filter"},
				{"filter has operator", listT(&aftersalesv1.ListTicketsRequest{Filter: "assignee:staff"}), inv, badF, "filter"},
				{"filter malformed name value", listT(&aftersalesv1.ListTicketsRequest{Filter: `assignee = "nope"`}), inv, badF, "filter"},
				{"filter malformed product value", listT(&aftersalesv1.ListTicketsRequest{Filter: `product = "products/x"`}), inv, badF, "filter"},
				{"filter bad int", listT(&aftersalesv1.ListTicketsRequest{Filter: "escalation_level = high"}), inv, badF, "filter"},
				{"filter bad time", listT(&aftersalesv1.ListTicketsRequest{Filter: "create_time > yesterday"}), inv, badF, "filter"},
				{"customers unknown filter field", func() error {
					return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{Filter: `address = "x"`}))
				}, inv, badF, "filter"},
				{"products unknown filter field", func() error {
					return errOf(cs.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: "customers/-", Filter: `retailer = "x"`}))
				}, inv, badF, "filter"},
				{"partners bad bool", func() error {
					return errOf(ps.ListPartners(ctx, &aftersalesv1.ListPartnersRequest{Filter: "active = maybe"}))
				}, inv, badF, "filter"},
				{"staff bad enum value", func() error { return errOf(ss.ListStaff(ctx, &aftersalesv1.ListStaffRequest{Filter: "role = CHEF"})) }, inv, badF, "filter"},

				// order_by.
				{"order by unknown field", listT(&aftersalesv1.ListTicketsRequest{OrderBy: "title"}), inv, badO, "order_by"},
				{"order by unsupported field", listT(&aftersalesv1.ListTicketsRequest{OrderBy: "update_time desc"}), inv, badO, "order_by"},
				{"order by bad direction", listT(&aftersalesv1.ListTicketsRequest{OrderBy: "create_time sideways"}), inv, badO, "order_by"},
				{"order by twice", listT(&aftersalesv1.ListTicketsRequest{OrderBy: "create_time, create_time desc"}), inv, badO, "order_by"},
				{"customers order by unknown field", func() error {
					return errOf(cs.ListCustomers(ctx, &aftersalesv1.ListCustomersRequest{OrderBy: "display_name"}))
				}, inv, badO, "order_by"},

				// update_mask.
				{"ticket mask state", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), State: aftersalesv1.Ticket_CLOSED}, UpdateMask: mask("state")}))
				}, inv, badM, "update_mask"},
				// name and etag identify and guard an update; a mask of only
				// them changes nothing and is refused.
				{"ticket mask etag only", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Title: "x"}, UpdateMask: mask("etag")}))
				}, inv, badM, "update_mask"},
				{"ticket mask name and etag", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Title: "x"}, UpdateMask: mask("name", "etag")}))
				}, inv, badM, "update_mask"},
				{"ticket mask state beside a valid path", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Title: "x"}, UpdateMask: mask("title", "state")}))
				}, inv, badM, "update_mask"},
				{"ticket mask unknown", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName()}, UpdateMask: mask("colour")}))
				}, inv, badM, "update_mask"},
				{"ticket mask customer (immutable)", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Customer: f.customer.GetName()}, UpdateMask: mask("customer")}))
				}, inv, badM, "update_mask"},
				{"ticket mask assignee (set by AssignTicket)", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), Assignee: f.technician.GetName()}, UpdateMask: mask("assignee")}))
				}, inv, badM, "update_mask"},
				{"ticket mask escalation_level", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName(), EscalationLevel: 9}, UpdateMask: mask("escalation_level")}))
				}, inv, badM, "update_mask"},
				{"ticket mask sub-field of an output-only field", func() error {
					return errOf(ts.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: tk.GetName()}, UpdateMask: mask("sla.policy")}))
				}, inv, badM, "update_mask"},
				{"customer mask etag", func() error {
					return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: f.customer.GetName()}, UpdateMask: mask("etag")}))
				}, inv, badM, "update_mask"},
				{"customer mask create_time", func() error {
					return errOf(cs.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: f.customer.GetName()}, UpdateMask: mask("create_time")}))
				}, inv, badM, "update_mask"},
				{"product mask serial_number (immutable)", func() error {
					return errOf(cs.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: f.inWarranty.GetName(), SerialNumber: "SN-NEW"}, UpdateMask: mask("serial_number")}))
				}, inv, badM, "update_mask"},
				{"partner mask name", func() error {
					return errOf(ps.UpdatePartner(adm, &aftersalesv1.UpdatePartnerRequest{Partner: &aftersalesv1.Partner{Name: f.partner.GetName()}, UpdateMask: mask("name")}))
				}, inv, badM, "update_mask"},
				{"staff mask update_time", func() error {
					return errOf(ss.UpdateStaff(adm, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: f.agent.GetName()}, UpdateMask: mask("update_time")}))
				}, inv, badM, "update_mask"},
				{"sla policy mask priority", func() error {
					return errOf(ts.UpdateSlaPolicy(adm, &aftersalesv1.UpdateSlaPolicyRequest{SlaPolicy: &aftersalesv1.SlaPolicy{Name: "slaPolicies/low", Priority: aftersalesv1.Ticket_URGENT}, UpdateMask: mask("priority")}))
				}, inv, badM, "update_mask"},
			})

			t.Run("page_size above the maximum is capped, not refused", func(t *testing.T) {
				_, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{PageSize: 5000})
				require.NoError(t, err)
			})

			t.Run("refused updates change nothing", func(t *testing.T) {
				got, err := ts.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				require.NoError(t, err)
				require.Equal(t, aftersalesv1.Ticket_NEW, got.GetState())
				require.Equal(t, "Washer leaks", got.GetTitle())
				require.Empty(t, got.GetAssignee())
			})

			t.Run("JSON", func(t *testing.T) {
				const bad = http.StatusBadRequest
				q := url.QueryEscape
				runJSONCases(t, e, f.agent.GetName(), []jsonCase{
					{"negative pageSize", http.MethodGet, "/v1/tickets?pageSize=-1", nil, bad, inv, fv, "page_size"},
					{"negative page_size", http.MethodGet, "/v1/customers?page_size=-1", nil, bad, inv, fv, "page_size"},
					{"malformed pageToken", http.MethodGet, "/v1/tickets?pageToken=garbage", nil, bad, inv, badPT, "page_token"},
					{"token with another filter", http.MethodGet, "/v1/tickets?pageToken=" + q(token) + "&filter=" + q("state = CLOSED"), nil, bad, inv, badPT, "page_token"},
					{"bad filter", http.MethodGet, "/v1/tickets?filter=" + q("state = BOGUS"), nil, bad, inv, badF, "filter"},
					{"unknown filter field", http.MethodGet, "/v1/staff?filter=" + q(`display_name = "x"`), nil, bad, inv, badF, "filter"},
					{"bad orderBy", http.MethodGet, "/v1/tickets?orderBy=title", nil, bad, inv, badO, "order_by"},
					{"update mask state", http.MethodPatch, "/v1/" + tk.GetName() + "?updateMask=state", map[string]any{"state": "CLOSED"}, bad, inv, badM, "update_mask"},
					{"update mask etag", http.MethodPatch, "/v1/" + f.customer.GetName() + "?updateMask=etag", map[string]any{"etag": "x"}, bad, inv, badM, "update_mask"},
					// Without updateMask the gateway derives the mask from the
					// body's fields, so an output-only field in the body is
					// refused the same way.
					{"output-only field in a maskless PATCH body", http.MethodPatch, "/v1/" + tk.GetName(), map[string]any{"title": "x", "state": "CLOSED"}, bad, inv, badM, "update_mask"},
				})
			})
		})
	}
}

// TestPagination: pages are disjoint, complete and in creation order (or
// its reverse), and filters return exactly the matching rows.
func TestPagination(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			ctx := as(f.agent.GetName())
			adm := e.admin() // partners, staff and SLA policies are the admin's
			ts := e.tickets
			// Noise: a ticket of another customer that no filtered page may show.
			e.newTicket(f, f.inWarranty)
			cust, err := e.customers.CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{DisplayName: "Pager"}})
			require.NoError(t, err)
			tech, err := e.staff.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Paula Pager", Role: aftersalesv1.Staff_TECHNICIAN}})
			require.NoError(t, err)

			var created []string
			for i := range 7 {
				e.clock.Advance(time.Second)
				tk, err := ts.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
					Customer: cust.GetName(), Type: aftersalesv1.Ticket_INSPECTION, Channel: aftersalesv1.Ticket_WEB, Title: fmt.Sprintf("Ticket %d", i),
				}})
				require.NoError(t, err)
				created = append(created, tk.GetName())
			}
			// Tickets 2 and 4 go to the technician.
			assigned := []string{created[2], created[4]}
			for _, n := range assigned {
				_, err := ts.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: n, Assignee: tech.GetName()})
				require.NoError(t, err)
			}
			byCustomer := `customer = "` + cust.GetName() + `"`

			pages := func(t *testing.T, filter, orderBy string, size int32) (sizes []int, names []string) {
				t.Helper()
				token := ""
				for {
					resp, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{Filter: filter, OrderBy: orderBy, PageSize: size, PageToken: token})
					require.NoError(t, err)
					sizes = append(sizes, len(resp.GetTickets()))
					for _, tk := range resp.GetTickets() {
						names = append(names, tk.GetName())
					}
					if token = resp.GetNextPageToken(); token == "" {
						return sizes, names
					}
					require.Less(t, len(sizes), 10, "pagination does not end")
				}
			}

			t.Run("pages of 3 in creation order", func(t *testing.T) {
				sizes, names := pages(t, byCustomer, "", 3)
				require.Equal(t, []int{3, 3, 1}, sizes)
				require.Equal(t, created, names)
				_, explicit := pages(t, byCustomer, "create_time asc", 3)
				require.Equal(t, created, explicit)
			})

			t.Run("create_time desc reverses", func(t *testing.T) {
				sizes, names := pages(t, byCustomer, "create_time desc", 3)
				require.Equal(t, []int{3, 3, 1}, sizes)
				want := slices.Clone(created)
				slices.Reverse(want)
				require.Equal(t, want, names)
			})

			t.Run("an exact last page has no next token", func(t *testing.T) {
				sizes, names := pages(t, byCustomer, "", 7)
				require.Equal(t, []int{7}, sizes)
				require.Equal(t, created, names)
			})

			t.Run("filter by state", func(t *testing.T) {
				_, names := pages(t, byCustomer+" AND state = NEW", "", 2)
				want := slices.DeleteFunc(slices.Clone(created), func(n string) bool { return slices.Contains(assigned, n) })
				require.Equal(t, want, names)

				resp, err := ts.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{Filter: "state = NEW", PageSize: 1000})
				require.NoError(t, err)
				require.Len(t, resp.GetTickets(), len(want)+1, "the noise ticket is NEW too")
				for _, tk := range resp.GetTickets() {
					require.Equal(t, aftersalesv1.Ticket_NEW, tk.GetState())
				}
				_, names = pages(t, "state != NEW AND "+byCustomer, "", 0)
				require.Equal(t, assigned, names)
			})

			t.Run("filter by assignee", func(t *testing.T) {
				_, names := pages(t, `assignee = "`+tech.GetName()+`"`, "", 1)
				require.Equal(t, assigned, names)
				_, names = pages(t, `assignee = "staff/nobody"`, "", 0)
				require.Empty(t, names)
			})

			t.Run("JSON", func(t *testing.T) {
				var names []string
				token := ""
				for range 3 {
					path := "/v1/tickets?pageSize=3&filter=" + url.QueryEscape(byCustomer)
					if token != "" {
						path += "&pageToken=" + url.QueryEscape(token)
					}
					r := e.do(http.MethodGet, path, f.agent.GetName(), nil)
					require.Equal(t, http.StatusOK, r.status, string(r.raw))
					for _, tk := range r.body["tickets"].([]any) {
						names = append(names, tk.(map[string]any)["name"].(string))
					}
					token, _ = r.body["nextPageToken"].(string)
				}
				require.Empty(t, token)
				require.Equal(t, created, names)
			})
		})
	}
}

// TestJSONErrorBody: gateway errors are google.rpc.Status JSON with a
// numeric code, a message and an ErrorInfo in the API's domain, and a
// body the gateway cannot read is 400 INVALID_ARGUMENT.
func TestJSONErrorBody(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := f.agent.GetName()
			tk := e.newTicket(f, f.inWarranty)

			requireShape := func(t *testing.T, r httpResult, httpStatus int, code codes.Code, reason aftersalesv1.ErrorReason) {
				t.Helper()
				require.Equal(t, httpStatus, r.status, string(r.raw))
				require.IsType(t, float64(0), r.body["code"], "code is a JSON number: %s", r.raw)
				require.EqualValues(t, code, r.body["code"])
				msg, ok := r.body["message"].(string)
				require.True(t, ok, "message is a string: %s", r.raw)
				require.NotEmpty(t, msg)
				details, ok := r.body["details"].([]any)
				require.True(t, ok, "details is an array: %s", r.raw)
				info := jsonDetail(r, "google.rpc.ErrorInfo")
				require.NotNil(t, info, "details carry an ErrorInfo: %v", details)
				require.Equal(t, reason.String(), info["reason"])
				require.Equal(t, "aftersales.v1", info["domain"])
			}

			t.Run("not found", func(t *testing.T) {
				requireShape(t, e.do(http.MethodGet, "/v1/tickets/ghost", agent, nil), http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			})
			t.Run("field violation carries BadRequest", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/customers", agent, map[string]any{"phone": "+8613800138000"})
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				require.Equal(t, []string{"customer.display_name"}, jsonFieldViolations(r))
			})
			t.Run("state transition carries PreconditionFailure", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":close", agent, map[string]any{})
				requireShape(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
				require.NotNil(t, jsonDetail(r, "google.rpc.PreconditionFailure"))
			})
			t.Run("conflict", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":escalate", agent, map[string]any{"reason": "x", "etag": "stale"})
				requireShape(t, r, http.StatusConflict, codes.Aborted, aftersalesv1.ErrorReason_ETAG_MISMATCH)
			})
			t.Run("already exists", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/slaPolicies", e.adminActor(), map[string]any{"priority": "LOW", "responseTarget": "3600s", "resolveTarget": "7200s"})
				requireShape(t, r, http.StatusConflict, codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS)
				r = e.do(http.MethodPost, "/v1/"+f.customer.GetName()+"/products", agent, map[string]any{"model": "X", "serialNumber": f.inWarranty.GetSerialNumber()})
				requireShape(t, r, http.StatusConflict, codes.AlreadyExists, aftersalesv1.ErrorReason_RESOURCE_EXISTS)
			})
			t.Run("unknown JSON field", func(t *testing.T) {
				before, err := e.customers.ListCustomers(as(agent), &aftersalesv1.ListCustomersRequest{})
				require.NoError(t, err)
				r := e.do(http.MethodPost, "/v1/customers", agent, map[string]any{"displayName": "Typo", "phoneNumber": "+8613800138000"})
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				after, err := e.customers.ListCustomers(as(agent), &aftersalesv1.ListCustomersRequest{})
				require.NoError(t, err)
				require.Len(t, after.GetCustomers(), len(before.GetCustomers()), "nothing was created")

				r = e.do(http.MethodPost, "/v1/"+tk.GetName()+":escalate", agent, map[string]any{"reason": "x", "urgency": "high"})
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			})
			t.Run("malformed JSON", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/customers", agent, `{"displayName": `)
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				// The violation names the body field the JSON was for.
				require.Equal(t, []string{"customer"}, jsonFieldViolations(r))
			})
			t.Run("unknown enum name", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/tickets", agent, map[string]any{"customer": f.customer.GetName(), "type": "TELEPORT", "channel": "APP", "title": "x"})
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
			})
			t.Run("wrong JSON type", func(t *testing.T) {
				r := e.do(http.MethodPost, "/v1/"+tk.GetName()+":approveFee", agent, map[string]any{"approved": "yes"})
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				// The body is the whole request: a violation without a
				// field, as in Google's APIs.
				vs, _ := jsonDetail(r, "google.rpc.BadRequest")["fieldViolations"].([]any)
				require.Len(t, vs, 1, string(r.raw))
				require.Empty(t, vs[0].(map[string]any)["field"])
				require.NotEmpty(t, vs[0].(map[string]any)["description"])
			})
			t.Run("bad query parameter", func(t *testing.T) {
				r := e.do(http.MethodGet, "/v1/tickets?pageSize=many", agent, nil)
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				require.Equal(t, []string{"page_size"}, jsonFieldViolations(r))
			})
			t.Run("parameters that are not UTF-8", func(t *testing.T) {
				// Once 500 INTERNAL: the gateway could not marshal them.
				r := e.do(http.MethodGet, "/v1/tickets/%FF", agent, nil)
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				require.Equal(t, []string{"name"}, jsonFieldViolations(r))
				r = e.do(http.MethodGet, "/v1/tickets?filter=title%3D%22%FF%22", agent, nil)
				requireShape(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION)
				require.Equal(t, []string{"filter"}, jsonFieldViolations(r))
			})
			t.Run("no such route", func(t *testing.T) {
				requireShape(t, e.do(http.MethodGet, "/v1/nothing/here", agent, nil), http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
				// A served path with another HTTP method: once 501
				// UNIMPLEMENTED, a server error for a client's mistake.
				requireShape(t, e.do(http.MethodDelete, "/v1/tickets", agent, nil), http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
			})
		})
	}
}
