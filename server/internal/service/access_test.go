package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// This file is the access-control acceptance test: every RPC of the
// aftersales.v1 package against every role, over gRPC and JSON, and the
// row scoping behind the gate (out-of-scope reads, lists, filters, page
// tokens and writes), the field rules and delegation.

// accRole is a kind of caller in the access matrix.
type accRole string

const (
	accAdmin      accRole = "admin"      // the bootstrap admin key
	accManager    accRole = "manager"    // staff key, role MANAGER
	accAgent      accRole = "agent"      // staff key, role AGENT
	accTechnician accRole = "technician" // staff key, role TECHNICIAN
	accTrainer    accRole = "trainer"    // staff key, role TRAINER
	accPartner    accRole = "partner"    // partner shop key
	accCustomer   accRole = "customer"   // customer JWT
	accService    accRole = "service"    // service-account key with service_role AGENT
	accAnonymous  accRole = "anonymous"  // no credentials
)

// accRoles are the callers the matrix runs, in order.
var accRoles = []accRole{accAdmin, accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer, accService, accAnonymous}

// accessRules is who may call what, written from API.md §5 (and the
// service comments for services added since), independently of the
// server's policy table (auth/policy.go). Admins may call every declared
// method and are not listed; a service account acts with its role (here
// AGENT) and is not listed either; anonymous callers may call nothing.
//
// A method of package aftersales.v1 missing here fails
// TestAccessPolicyTable and TestAccess: a new RPC must declare its rule.
//
// Roles that pass the gate may still see nothing: a trainer may ask for
// tickets (the read methods are open to every authenticated caller) but
// its scope holds none; TestAccess/scope checks that.
var accessRules = map[string][]accRole{
	// CustomerService. The call center (agents, their managers) registers
	// customers and products; customers manage their own profile and
	// products; those who do the work read the customer and unit of their
	// tickets (scoped, contact only). CheckWarranty looks any unit up by
	// serial, so it is for staff and shops, not customers.
	"/aftersales.v1.CustomerService/CreateCustomer": {accManager, accAgent},
	"/aftersales.v1.CustomerService/GetCustomer":    {accManager, accAgent, accTechnician, accPartner, accCustomer},
	"/aftersales.v1.CustomerService/ListCustomers":  {accManager, accAgent},
	"/aftersales.v1.CustomerService/UpdateCustomer": {accManager, accAgent, accCustomer},
	"/aftersales.v1.CustomerService/CreateProduct":  {accManager, accAgent, accCustomer},
	"/aftersales.v1.CustomerService/GetProduct":     {accManager, accAgent, accTechnician, accPartner, accCustomer},
	"/aftersales.v1.CustomerService/ListProducts":   {accManager, accAgent, accCustomer},
	"/aftersales.v1.CustomerService/UpdateProduct":  {accManager, accAgent, accTechnician, accPartner, accCustomer},
	"/aftersales.v1.CustomerService/CheckWarranty":  {accManager, accAgent, accTechnician, accPartner},

	// PartnerService: admins manage shops; staff who dispatch or train
	// read them; a shop reads itself.
	"/aftersales.v1.PartnerService/CreatePartner": {},
	"/aftersales.v1.PartnerService/GetPartner":    {accManager, accAgent, accTrainer, accPartner},
	"/aftersales.v1.PartnerService/ListPartners":  {accManager, accAgent, accTrainer},
	"/aftersales.v1.PartnerService/UpdatePartner": {},

	// StaffService: admins manage staff, a shop its own technicians;
	// technicians read themselves.
	"/aftersales.v1.StaffService/CreateStaff": {accPartner},
	"/aftersales.v1.StaffService/GetStaff":    {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.StaffService/ListStaff":   {accManager, accAgent, accTrainer, accPartner},
	"/aftersales.v1.StaffService/UpdateStaff": {accPartner},

	// TicketService: the desk does everything; technicians and shops work
	// the tickets dispatched to them; customers open, follow, withdraw and
	// approve fees on their own. SLA policies are admin-managed, readable
	// by staff.
	"/aftersales.v1.TicketService/CreateTicket":     {accManager, accAgent, accCustomer},
	"/aftersales.v1.TicketService/GetTicket":        {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.TicketService/ListTickets":      {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.TicketService/UpdateTicket":     {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/AssignTicket":     {accManager, accAgent, accPartner},
	"/aftersales.v1.TicketService/AcceptTicket":     {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/StartTicket":      {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/PauseTicket":      {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/ResumeTicket":     {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/ResolveTicket":    {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/CloseTicket":      {accManager, accAgent},
	"/aftersales.v1.TicketService/ReopenTicket":     {accManager, accAgent},
	"/aftersales.v1.TicketService/CancelTicket":     {accManager, accAgent, accCustomer},
	"/aftersales.v1.TicketService/EscalateTicket":   {accManager, accAgent},
	"/aftersales.v1.TicketService/ApproveTicketFee": {accManager, accAgent, accCustomer},
	"/aftersales.v1.TicketService/AddTicketComment": {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.TicketService/ListTicketEvents": {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.TicketService/CreateSlaPolicy":  {},
	"/aftersales.v1.TicketService/GetSlaPolicy":     {accManager, accAgent, accTechnician, accTrainer},
	"/aftersales.v1.TicketService/ListSlaPolicies":  {accManager, accAgent, accTechnician, accTrainer},
	"/aftersales.v1.TicketService/UpdateSlaPolicy":  {},

	// Quotes from the fee schedule: those who may set a fee quote today
	// price the work; only a manager approves one that needs it.
	"/aftersales.v1.TicketService/QuoteTicket":        {accManager, accAgent, accTechnician, accPartner},
	"/aftersales.v1.TicketService/ApproveTicketQuote": {accManager},

	// ApiKeyService: keys are for admins only.
	"/aftersales.v1.ApiKeyService/CreateApiKey": {},
	"/aftersales.v1.ApiKeyService/GetApiKey":    {},
	"/aftersales.v1.ApiKeyService/ListApiKeys":  {},
	"/aftersales.v1.ApiKeyService/RevokeApiKey": {},
	// Except who the caller is, which everyone may ask.
	"/aftersales.v1.ApiKeyService/GetCaller": {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},

	// ComplaintService (API.md §5): the desk handles complaints (only
	// managers assign handlers); customers file, follow, accept or reopen,
	// and comment on their own; partners see none.
	"/aftersales.v1.ComplaintService/CreateComplaint":      {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/GetComplaint":         {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/ListComplaints":       {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/UpdateComplaint":      {accManager, accAgent},
	"/aftersales.v1.ComplaintService/AcknowledgeComplaint": {accManager, accAgent},
	"/aftersales.v1.ComplaintService/AssignComplaint":      {accManager},
	"/aftersales.v1.ComplaintService/EscalateComplaint":    {accManager, accAgent},
	"/aftersales.v1.ComplaintService/ResolveComplaint":     {accManager, accAgent},
	"/aftersales.v1.ComplaintService/CloseComplaint":       {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/ReopenComplaint":      {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/AddComplaintComment":  {accManager, accAgent, accCustomer},
	"/aftersales.v1.ComplaintService/ListComplaintEvents":  {accManager, accAgent, accCustomer},

	// FollowUpService: call-center work; customers rate their own tickets.
	"/aftersales.v1.FollowUpService/CreateFollowUp":        {accManager, accAgent},
	"/aftersales.v1.FollowUpService/GetFollowUp":           {accManager, accAgent},
	"/aftersales.v1.FollowUpService/ListFollowUps":         {accManager, accAgent},
	"/aftersales.v1.FollowUpService/UpdateFollowUp":        {accManager, accAgent},
	"/aftersales.v1.FollowUpService/RecordFollowUpAttempt": {accManager, accAgent},
	"/aftersales.v1.FollowUpService/CompleteFollowUp":      {accManager, accAgent},
	"/aftersales.v1.FollowUpService/CancelFollowUp":        {accManager, accAgent},
	"/aftersales.v1.FollowUpService/SubmitSurvey":          {accCustomer},

	// TrainingService and qualification (API.md §5): trainers define
	// courses; trainers and managers assess; staff read their own record;
	// partners manage their own technicians' training (scoped).
	"/aftersales.v1.StaffService/GetQualification":             {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/CreateCourse":              {accTrainer},
	"/aftersales.v1.TrainingService/GetCourse":                 {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/ListCourses":               {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/UpdateCourse":              {accTrainer},
	"/aftersales.v1.TrainingService/EnrollStaff":               {accManager, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/ListEnrollments":           {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/CompleteEnrollment":        {accManager, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/RecordAssessment":          {accManager, accTrainer},
	"/aftersales.v1.TrainingService/ListAssessments":           {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.TrainingService/ListAccountabilityRecords": {accManager, accAgent, accTechnician, accTrainer, accPartner},

	// ReportService (report.proto): managers see everything; partners
	// their own shop's figures; staff their own scorecard; customers none.
	"/aftersales.v1.ReportService/GetServiceMetrics":  {accManager, accPartner},
	"/aftersales.v1.ReportService/GetStaffScorecard":  {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.ReportService/GetFaultStatistics": {accManager, accPartner},

	// AuditService (audit.proto): "Admins and managers may read it."
	"/aftersales.v1.AuditService/ListAuditRecords": {accManager},

	// EventService (event.proto): everyone reads the events of what they
	// may Get (scoped). WebhookService (webhook.proto): admins for the
	// company, a shop's key for the shop.
	"/aftersales.v1.EventService/ListEvents":              {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.EventService/WatchEvents":             {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},
	"/aftersales.v1.WebhookService/CreateWebhook":         {accPartner},
	"/aftersales.v1.WebhookService/GetWebhook":            {accPartner},
	"/aftersales.v1.WebhookService/ListWebhooks":          {accPartner},
	"/aftersales.v1.WebhookService/UpdateWebhook":         {accPartner},
	"/aftersales.v1.WebhookService/DeleteWebhook":         {accPartner},
	"/aftersales.v1.WebhookService/ListWebhookDeliveries": {accPartner},
	"/aftersales.v1.WebhookService/RedeliverEvent":        {accPartner},

	// CampaignService (campaign.proto): managers decide and launch
	// campaigns; the call center reads them and records outreach;
	// customers list the campaigns concerning their own products.
	"/aftersales.v1.CampaignService/CreateCampaign":         {accManager},
	"/aftersales.v1.CampaignService/GetCampaign":            {accManager, accAgent},
	"/aftersales.v1.CampaignService/ListCampaigns":          {accManager, accAgent},
	"/aftersales.v1.CampaignService/UpdateCampaign":         {accManager},
	"/aftersales.v1.CampaignService/PreviewCampaign":        {accManager},
	"/aftersales.v1.CampaignService/LaunchCampaign":         {accManager},
	"/aftersales.v1.CampaignService/PauseCampaign":          {accManager},
	"/aftersales.v1.CampaignService/CancelCampaign":         {accManager},
	"/aftersales.v1.CampaignService/ListCampaignTargets":    {accManager, accAgent},
	"/aftersales.v1.CampaignService/RecordCampaignOutreach": {accManager, accAgent},
	"/aftersales.v1.CampaignService/ListCustomerCampaigns":  {accManager, accAgent, accCustomer},
	"/aftersales.v1.ReportService/GetCampaignMetrics":       {accManager},
	"/aftersales.v1.ReportService/GetCostMetrics":           {accManager},

	// MaintenanceService (maintenance.proto): managers set plans up; the
	// call center reads them and their visits.
	"/aftersales.v1.MaintenanceService/CreateMaintenancePlan": {accManager},
	"/aftersales.v1.MaintenanceService/GetMaintenancePlan":    {accManager, accAgent},
	"/aftersales.v1.MaintenanceService/ListMaintenancePlans":  {accManager, accAgent},
	"/aftersales.v1.MaintenanceService/UpdateMaintenancePlan": {accManager},
	"/aftersales.v1.MaintenanceService/ListMaintenanceVisits": {accManager, accAgent},

	// FeeService (fee.proto): managers write the price list; staff and
	// shops read what is published; customers their products' prices;
	// LookupFees is public (accPublic).
	"/aftersales.v1.FeeService/CreateFeeSchedule":  {accManager},
	"/aftersales.v1.FeeService/GetFeeSchedule":     {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.FeeService/ListFeeSchedules":   {accManager, accAgent, accTechnician, accTrainer, accPartner},
	"/aftersales.v1.FeeService/UpdateFeeSchedule":  {accManager},
	"/aftersales.v1.FeeService/PublishFeeSchedule": {accManager},
	"/aftersales.v1.FeeService/GetProductFees":     {accManager, accAgent, accTechnician, accPartner, accCustomer},
	"/aftersales.v1.FeeService/LookupFees":         {accManager, accAgent, accTechnician, accTrainer, accPartner, accCustomer},

	// WarrantyClaimService (claim.proto): company reviewers (managers)
	// approve, adjust and reject claims and issue statements; a shop
	// reads its own claims and statements only.
	"/aftersales.v1.WarrantyClaimService/GetWarrantyClaim":         {accManager, accPartner},
	"/aftersales.v1.WarrantyClaimService/ListWarrantyClaims":       {accManager, accPartner},
	"/aftersales.v1.WarrantyClaimService/ApproveWarrantyClaim":     {accManager},
	"/aftersales.v1.WarrantyClaimService/AdjustWarrantyClaim":      {accManager},
	"/aftersales.v1.WarrantyClaimService/RejectWarrantyClaim":      {accManager},
	"/aftersales.v1.WarrantyClaimService/GetSettlementStatement":   {accManager, accPartner},
	"/aftersales.v1.WarrantyClaimService/IssueSettlementStatement": {accManager},
}

// accPublic are the methods that need no credentials (auth.Public).
var accPublic = map[string]bool{"/aftersales.v1.FeeService/LookupFees": true}

// accMayCall reports whether role may call method by accessRules; ok is
// false when the method has no rule.
func accMayCall(method string, role accRole) (may, ok bool) {
	roles, ok := accessRules[method]
	if !ok {
		return false, false
	}
	switch role {
	case accAnonymous:
		return accPublic[method], true
	case accAdmin:
		return true, true
	case accService:
		role = accAgent
	}
	return slices.Contains(roles, role), true
}

// accMethods returns every method of every service of package
// aftersales.v1 in the registry, by full gRPC method name, sorted.
func accMethods(t testing.TB) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	protoregistry.GlobalFiles.RangeFilesByPackage("aftersales.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			sd := fd.Services().Get(i)
			for j := 0; j < sd.Methods().Len(); j++ {
				md := sd.Methods().Get(j)
				out["/"+string(sd.FullName())+"/"+string(md.Name())] = md
			}
		}
		return true
	})
	require.NotEmpty(t, out, "no aftersales.v1 services registered")
	return out
}

func accSorted(m map[string]protoreflect.MethodDescriptor) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// accPrincipalRole maps the matrix roles that have a principal.Role.
var accPrincipalRole = map[accRole]principal.Role{
	accAdmin: principal.RoleAdmin, accManager: principal.RoleManager, accAgent: principal.RoleAgent,
	accTechnician: principal.RoleTechnician, accTrainer: principal.RoleTrainer, accPartner: principal.RolePartner,
	accCustomer: principal.RoleCustomer,
}

// TestAccessPolicyTable checks, without a server, that every RPC declares
// its rule here and that the server's policy table says the same.
func TestAccessPolicyTable(t *testing.T) {
	methods := accMethods(t)
	for _, m := range accSorted(methods) {
		if _, ok := accessRules[m]; !ok {
			t.Errorf("declare the access rule for %s (in accessRules of access_test.go and in auth/policy.go)", m)
			continue
		}
		if !auth.HasRule(m) {
			t.Errorf("declare the access rule for %s in auth/policy.go: the server denies it to everyone, admins included", m)
			continue
		}
		for role, pr := range accPrincipalRole {
			want, _ := accMayCall(m, role)
			assert.Equal(t, want, auth.Allowed(m, pr), "policy table: may %s call %s?", role, m)
		}
	}
	for m := range accessRules {
		if _, ok := methods[m]; !ok {
			t.Errorf("accessRules names %s, which is not a method of aftersales.v1", m)
		}
	}
}

// accWorld is the cast of the access test on one server.
type accWorld struct {
	e *env
	f *fixture

	admin    string // name under which the bootstrap admin key is registered
	trainer  *aftersalesv1.Staff
	service  string // service key with role AGENT, no delegation
	delegate string // service key with role AGENT that may delegate

	partnerA, partnerB *aftersalesv1.Partner
	techA, techB       *aftersalesv1.Staff // shop technicians of A and B
	t1, t2             *aftersalesv1.Staff // internal technicians
	custX, custY       *aftersalesv1.Customer
	prodY              *aftersalesv1.Product

	// tA: X's, dispatched to A (techA); tB: Y's, dispatched to B (techB);
	// tT1: X's, assigned to T1; tT2: Y's, assigned to T2 and in progress;
	// tNewX, tNewY: NEW and unassigned.
	tA, tB, tT1, tT2, tNewX, tNewY *aftersalesv1.Ticket
}

func accID(name string) string {
	_, id, _ := strings.Cut(name, "/")
	return id
}

func (w *accWorld) actor(r accRole) string {
	switch r {
	case accAdmin:
		return w.admin
	case accManager:
		return w.f.manager.GetName()
	case accAgent:
		return w.f.agent.GetName()
	case accTechnician:
		return w.t1.GetName()
	case accTrainer:
		return w.trainer.GetName()
	case accPartner:
		return w.partnerA.GetName()
	case accCustomer:
		return w.custX.GetName()
	case accService:
		return w.service
	}
	return ""
}

// accSetup seeds the cast: two shops with a technician each, two internal
// technicians, two customers with a product each, a trainer, service keys,
// and six tickets.
func accSetup(t *testing.T, e *env) *accWorld {
	t.Helper()
	f := e.seed()
	w := &accWorld{e: e, f: f, partnerA: f.partner, techA: f.partnerTech, t1: f.technician, custX: f.customer}
	adm := e.admin()

	w.admin = "admin-key-" + ids.New()
	credentials.Store(w.admin, e.app.BootstrapKey())

	var err error
	w.trainer, err = e.staff.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Tia Trainer", Role: aftersalesv1.Staff_TRAINER}})
	require.NoError(t, err)
	w.t2, err = e.staff.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Ted Tech", Role: aftersalesv1.Staff_TECHNICIAN, Team: "west"}})
	require.NoError(t, err)
	w.partnerB, err = e.partners.CreatePartner(adm, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Repair-B", Region: "Minhang"}})
	require.NoError(t, err)
	w.techB, err = e.staff.CreateStaff(adm, &aftersalesv1.CreateStaffRequest{Staff: &aftersalesv1.Staff{DisplayName: "Bo Bench", Role: aftersalesv1.Staff_TECHNICIAN, Partner: w.partnerB.GetName()}})
	require.NoError(t, err)
	for _, st := range []*aftersalesv1.Staff{w.trainer, w.t2, w.techB} {
		e.issueKey(auth.KeySpec{DisplayName: st.GetDisplayName(), StaffID: accID(st.GetName())}, st.GetName())
	}
	e.issueKey(auth.KeySpec{DisplayName: "shop B key", PartnerID: accID(w.partnerB.GetName())}, w.partnerB.GetName())
	w.service = "service-agent-" + ids.New()
	e.issueKey(auth.KeySpec{DisplayName: "ivr", ServiceRole: aftersalesv1.Staff_AGENT}, w.service)
	w.delegate = "service-delegate-" + ids.New()
	e.issueKey(auth.KeySpec{DisplayName: "call-center seat", ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true}, w.delegate)

	// X gets the fields a shop must not see.
	w.custX, err = e.customers.UpdateCustomer(adm, &aftersalesv1.UpdateCustomerRequest{
		Customer: &aftersalesv1.Customer{Name: w.custX.GetName(), Email: "chen.wei@example.com",
			ContactPreferences: []aftersalesv1.Customer_ContactMethod{aftersalesv1.Customer_SMS}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"email", "contact_preferences"}},
	})
	require.NoError(t, err)
	require.NotEmpty(t, w.custX.GetExternalId())
	w.custY, err = e.customers.CreateCustomer(adm, &aftersalesv1.CreateCustomerRequest{Customer: &aftersalesv1.Customer{
		DisplayName: "Yang Li", Phone: "+8613900139000", Email: "yang.li@example.com", ExternalId: "login-" + ids.New(),
	}})
	require.NoError(t, err)
	e.login(w.custY)
	w.prodY, err = e.customers.CreateProduct(adm, &aftersalesv1.CreateProductRequest{Parent: w.custY.GetName(), Product: &aftersalesv1.Product{
		Model: "DW-300", SerialNumber: "SN-Y-" + ids.New(), WarrantyEndTime: timestamp(e.clock.Now().AddDate(1, 0, 0)),
	}})
	require.NoError(t, err)

	agent := as(f.agent.GetName())
	open := func(c *aftersalesv1.Customer, p *aftersalesv1.Product, title string) *aftersalesv1.Ticket {
		tk, err := e.tickets.CreateTicket(agent, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
			Customer: c.GetName(), Product: p.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE, Title: title,
		}})
		require.NoError(t, err)
		return tk
	}
	assign := func(tk *aftersalesv1.Ticket, st *aftersalesv1.Staff) *aftersalesv1.Ticket {
		tk, err := e.tickets.AssignTicket(agent, &aftersalesv1.AssignTicketRequest{Name: tk.GetName(), Assignee: st.GetName()})
		require.NoError(t, err)
		return tk
	}
	w.tA = assign(open(w.custX, f.inWarranty, "A's job"), w.techA)
	require.Equal(t, w.partnerA.GetName(), w.tA.GetPartner())
	w.tB = assign(open(w.custY, w.prodY, "B's job"), w.techB)
	require.Equal(t, w.partnerB.GetName(), w.tB.GetPartner())
	w.tT1 = assign(open(w.custX, f.outOfWarranty, "T1's job"), w.t1)
	w.tT2 = assign(open(w.custY, w.prodY, "T2's job"), w.t2)
	t2 := as(w.t2.GetName())
	w.tT2, err = e.tickets.AcceptTicket(t2, &aftersalesv1.AcceptTicketRequest{Name: w.tT2.GetName()})
	require.NoError(t, err)
	w.tT2, err = e.tickets.StartTicket(t2, &aftersalesv1.StartTicketRequest{Name: w.tT2.GetName()})
	require.NoError(t, err)
	require.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, w.tT2.GetState())
	w.tNewX = open(w.custX, nil, "X waits")
	w.tNewY = open(w.custY, nil, "Y waits")
	return w
}

// TestAccess runs the access matrix and the scoping checks on one server
// per dialect.
func TestAccess(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			w := accSetup(t, e)
			served := accMatrixGRPC(t, w)
			accMatrixJSON(t, w, served)
			t.Run("scope", func(t *testing.T) { accScope(t, w) })
		})
	}
}

// accCtx returns a context acting as actor, with a deadline.
func accCtx(t *testing.T, actor string, md ...string) context.Context {
	ctx := as(actor)
	if len(md) > 0 {
		ctx = metadata.AppendToOutgoingContext(ctx, md...)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// accMatrixGRPC calls every method as every role with an empty request
// through the generic client path and checks the gate. It returns the
// methods the server serves: a method of a service not registered on the
// server (a proto ahead of its implementation) is answered UNIMPLEMENTED
// before any interceptor runs, to everyone; its rule is still checked
// against the policy table by TestAccessPolicyTable.
func accMatrixGRPC(t *testing.T, w *accWorld) map[string]bool {
	methods := accMethods(t)
	served := map[string]bool{}
	t.Run("matrix/grpc", func(t *testing.T) {
		for _, m := range accSorted(methods) {
			md := methods[m]
			t.Run(strings.TrimPrefix(m, "/aftersales.v1."), func(t *testing.T) {
				if _, ok := accessRules[m]; !ok {
					t.Fatalf("declare the access rule for %s", m)
				}
				call := func(r accRole) error {
					req := dynamicpb.NewMessage(md.Input())
					resp := dynamicpb.NewMessage(md.Output())
					ctx := accCtx(t, w.actor(r))
					if md.IsStreamingServer() {
						// A watch that was let in waits for events until
						// its deadline; the gate answers at once.
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, time.Second)
						defer cancel()
					}
					return w.e.conn.Invoke(ctx, m, req, resp)
				}
				if err := call(accAdmin); status.Code(err) == codes.Unimplemented && strings.Contains(status.Convert(err).Message(), "unknown service") {
					for _, r := range accRoles {
						assert.Equal(t, codes.Unimplemented, status.Code(call(r)), "%s: unserved method", r)
					}
					t.Logf("%s is not served by this server; the gate is checked once it is", m)
					return
				}
				served[m] = true
				for _, r := range accRoles {
					err := call(r)
					may, _ := accMayCall(m, r)
					switch {
					case r == accAnonymous && !may:
						assert.Equal(t, codes.Unauthenticated.String(), status.Code(err).String(), "anonymous on %s: %v", m, err)
						assert.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err), "anonymous on %s: %v", m, err)
					case may:
						c := status.Code(err)
						assert.True(t, c != codes.PermissionDenied && c != codes.Unauthenticated, "%s may call %s but got %v", r, m, err)
					default:
						assert.Equal(t, codes.PermissionDenied.String(), status.Code(err).String(), "%s may not call %s: %v", r, m, err)
						assert.Equal(t, aftersalesv1.ErrorReason_ACCESS_DENIED, apierr.Reason(err), "%s may not call %s: %v", r, m, err)
					}
				}
			})
		}
	})
	return served
}

// accPathVar matches a path template variable, "{name=tickets/*}".
var accPathVar = regexp.MustCompile(`\{([^}=]+)(=([^}]*))?\}`)

// accRoutes returns the HTTP routes of md with every path variable filled
// with a name that does not exist.
func accRoutes(md protoreflect.MethodDescriptor) [][2]string {
	rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule)
	if rule == nil {
		return nil
	}
	var out [][2]string
	for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
		var verb, tmpl string
		switch p := r.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			verb, tmpl = http.MethodGet, p.Get
		case *annotations.HttpRule_Post:
			verb, tmpl = http.MethodPost, p.Post
		case *annotations.HttpRule_Patch:
			verb, tmpl = http.MethodPatch, p.Patch
		case *annotations.HttpRule_Put:
			verb, tmpl = http.MethodPut, p.Put
		case *annotations.HttpRule_Delete:
			verb, tmpl = http.MethodDelete, p.Delete
		default:
			continue
		}
		path := accPathVar.ReplaceAllStringFunc(tmpl, func(v string) string {
			sub := accPathVar.FindStringSubmatch(v)
			if sub[3] == "" {
				return "accprobe"
			}
			return strings.NewReplacer("**", "accprobe", "*", "accprobe").Replace(sub[3])
		})
		out = append(out, [2]string{verb, path})
	}
	return out
}

// accMatrixJSON runs the same gate check over the JSON gateway, on every
// route of every served method.
func accMatrixJSON(t *testing.T, w *accWorld, served map[string]bool) {
	methods := accMethods(t)
	t.Run("matrix/json", func(t *testing.T) {
		for _, m := range accSorted(methods) {
			// Streams are gRPC only (WatchEvents, event.proto).
			if !served[m] || methods[m].IsStreamingServer() {
				continue
			}
			routes := accRoutes(methods[m])
			assert.NotEmpty(t, routes, "%s has no HTTP route", m)
			for _, rt := range routes {
				verb, path := rt[0], rt[1]
				var body any
				if verb != http.MethodGet && verb != http.MethodDelete {
					body = map[string]any{}
				}
				for _, r := range accRoles {
					res := w.e.do(verb, path, w.actor(r), body)
					may, _ := accMayCall(m, r)
					switch {
					case r == accAnonymous && !may:
						assert.Equal(t, http.StatusUnauthorized, res.status, "anonymous %s %s (%s): %s", verb, path, m, res.raw)
						assert.Equal(t, "INVALID_CREDENTIALS", res.reason(), "anonymous %s %s: %s", verb, path, res.raw)
					case may:
						assert.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, res.status, "%s may call %s %s (%s): %s", r, verb, path, m, res.raw)
						assert.NotEqual(t, http.StatusNotImplemented, res.status, "%s %s %s: %s", r, verb, path, res.raw)
					default:
						assert.Equal(t, http.StatusForbidden, res.status, "%s may not call %s %s (%s): %s", r, verb, path, m, res.raw)
						assert.Equal(t, "ACCESS_DENIED", res.reason(), "%s %s %s: %s", r, verb, path, res.raw)
					}
				}
			}
		}
	})
}

// accNames returns the names of resources.
func accNames[M interface{ GetName() string }](ms ...M) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.GetName())
	}
	return out
}

// accShape is an error message with the resource name taken out, so that
// an out-of-scope and a missing resource compare equal.
func accShape(msg, name string) string { return strings.ReplaceAll(msg, name, "{name}") }

// requireHidden asserts that err, the answer to a call on an out-of-scope
// resource name, is the NOT_FOUND of the missing resource missing.
func requireHidden(t *testing.T, err error, name string, missingErr error, missing string) {
	t.Helper()
	requireCode(t, missingErr, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
	requireCode(t, err, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
	require.Equal(t, accShape(status.Convert(missingErr).Message(), missing), accShape(status.Convert(err).Message(), name))
}

// requireHiddenHTTP is requireHidden for gateway answers.
func requireHiddenHTTP(t *testing.T, r httpResult, name string, missing httpResult, missingName string) {
	t.Helper()
	requireHTTP(t, missing, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
	requireHTTP(t, r, http.StatusNotFound, codes.NotFound, aftersalesv1.ErrorReason_RESOURCE_NOT_FOUND)
	require.Equal(t, accShape(missing.body["message"].(string), missingName), accShape(r.body["message"].(string), name))
}

// accDo is env.do with extra request headers and a raw bearer credential.
func accDo(t *testing.T, e *env, method, path, actor string, body any, header map[string]string) httpResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.baseURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if actor != "" {
		req.Header.Set("Authorization", "Bearer "+bearer(actor))
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := httpResult{status: resp.StatusCode, raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		require.NoError(t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

// accJSONNames returns the "name" of each object in r.body[field].
func accJSONNames(t *testing.T, r httpResult, field string) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, string(r.raw))
	out := []string{}
	items, _ := r.body[field].([]any)
	for _, it := range items {
		out = append(out, it.(map[string]any)["name"].(string))
	}
	return out
}

// accQuery builds a query string.
func accQuery(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			v.Set(kv[i], kv[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// listTickets returns every ticket name actor sees with filter, walking
// pages of one row so that every page token is used, over gRPC.
func (w *accWorld) listTickets(t *testing.T, actor, filter string) []string {
	t.Helper()
	var out []string
	token := ""
	for range 100 {
		resp, err := w.e.tickets.ListTickets(accCtx(t, actor), &aftersalesv1.ListTicketsRequest{Filter: filter, PageSize: 1, PageToken: token})
		require.NoError(t, err)
		out = append(out, accNames(resp.GetTickets()...)...)
		if token = resp.GetNextPageToken(); token == "" {
			return out
		}
	}
	t.Fatal("ListTickets did not end")
	return nil
}

// listTicketsJSON is listTickets over the gateway.
func (w *accWorld) listTicketsJSON(t *testing.T, actor, filter string) []string {
	t.Helper()
	out := []string{}
	token := ""
	for range 100 {
		r := w.e.do(http.MethodGet, "/v1/tickets"+accQuery("filter", filter, "page_size", "1", "page_token", token), actor, nil)
		out = append(out, accJSONNames(t, r, "tickets")...)
		token, _ = r.body["nextPageToken"].(string)
		if token == "" {
			return out
		}
	}
	t.Fatal("ListTickets did not end")
	return nil
}

// accTokens returns every next_page_token of a page-of-one walk by actor.
func (w *accWorld) accTokens(t *testing.T, list func(ctx context.Context, token string) (string, error), actor string) []string {
	t.Helper()
	var out []string
	token := ""
	for range 100 {
		next, err := list(accCtx(t, actor), token)
		require.NoError(t, err)
		if next == "" {
			return out
		}
		out = append(out, next)
		token = next
	}
	t.Fatal("list did not end")
	return nil
}

func accSubset(t *testing.T, got, allowed []string, msgAndArgs ...any) {
	t.Helper()
	for _, g := range got {
		require.Contains(t, allowed, g, msgAndArgs...)
	}
}

// accScope checks what each caller sees and may change.
func accScope(t *testing.T, w *accWorld) {
	e, f := w.e, w.f
	agent := w.f.agent.GetName()
	pA, pB := w.partnerA.GetName(), w.partnerB.GetName()
	x, y := w.custX.GetName(), w.custY.GetName()
	t1, t2 := w.t1.GetName(), w.t2.GetName()
	all := accNames(w.tA, w.tB, w.tT1, w.tT2, w.tNewX, w.tNewY)

	// Expected ticket scopes.
	visible := map[string][]string{
		agent:                 all,
		w.service:             all,
		w.f.manager.GetName(): all,
		w.admin:               all,
		pA:                    accNames(w.tA),
		pB:                    accNames(w.tB),
		w.techA.GetName():     accNames(w.tA),
		w.techB.GetName():     accNames(w.tB),
		t1:                    accNames(w.tT1),
		t2:                    accNames(w.tT2),
		x:                     accNames(w.tA, w.tT1, w.tNewX),
		y:                     accNames(w.tB, w.tT2, w.tNewY),
		w.trainer.GetName():   {},
	}

	t.Run("list tickets", func(t *testing.T) {
		for actor, want := range visible {
			require.ElementsMatch(t, want, w.listTickets(t, actor, ""), "gRPC ListTickets as %s", actor)
			require.ElementsMatch(t, want, w.listTicketsJSON(t, actor, ""), "JSON ListTickets as %s", actor)
		}
	})

	t.Run("list tickets with filters reaching out", func(t *testing.T) {
		cases := []struct {
			actor, filter string
			want          []string
		}{
			{pA, `partner = "` + pB + `"`, nil},
			{pA, `customer = "` + y + `"`, nil},
			{pA, `assignee = "` + w.techB.GetName() + `"`, nil},
			{pA, `partner = "` + pA + `"`, accNames(w.tA)}, // control
			{x, `customer = "` + y + `"`, nil},
			{x, `partner = "` + pB + `"`, nil},
			{x, `state = NEW`, accNames(w.tNewX)}, // control
			{t1, `assignee = "` + t2 + `"`, nil},
			{t1, `state = IN_PROGRESS`, nil}, // T2's ticket is the only one in progress
			{t1, `first_contact = "` + agent + `"`, accNames(w.tT1)},
			{w.trainer.GetName(), `customer = "` + x + `"`, nil},
		}
		for _, c := range cases {
			require.ElementsMatch(t, c.want, w.listTickets(t, c.actor, c.filter), "gRPC %s filter %s", c.actor, c.filter)
			require.ElementsMatch(t, c.want, w.listTicketsJSON(t, c.actor, c.filter), "JSON %s filter %s", c.actor, c.filter)
		}
	})

	t.Run("page tokens of another principal", func(t *testing.T) {
		ticketTokens := func(filter string) []string {
			return w.accTokens(t, func(ctx context.Context, token string) (string, error) {
				r, err := e.tickets.ListTickets(ctx, &aftersalesv1.ListTicketsRequest{Filter: filter, PageSize: 1, PageToken: token})
				return r.GetNextPageToken(), err
			}, agent)
		}
		for _, filter := range []string{"", `partner = "` + pB + `"`, `customer = "` + y + `"`} {
			tokens := ticketTokens(filter)
			for _, actor := range []string{pA, x, t1, w.trainer.GetName()} {
				for _, tok := range tokens {
					resp, err := e.tickets.ListTickets(accCtx(t, actor), &aftersalesv1.ListTicketsRequest{Filter: filter, PageToken: tok})
					if err != nil {
						requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN)
					} else {
						accSubset(t, accNames(resp.GetTickets()...), visible[actor], "gRPC %s with the agent's page token (filter %q)", actor, filter)
					}
					r := e.do(http.MethodGet, "/v1/tickets"+accQuery("filter", filter, "page_token", tok), actor, nil)
					if r.status == http.StatusBadRequest {
						require.Equal(t, "INVALID_PAGE_TOKEN", r.reason(), string(r.raw))
					} else {
						accSubset(t, accJSONNames(t, r, "tickets"), visible[actor], "JSON %s with the agent's page token (filter %q)", actor, filter)
					}
				}
			}
			// A token of another query is refused, never reinterpreted.
			if len(tokens) > 0 {
				_, err := e.tickets.ListTickets(accCtx(t, pA), &aftersalesv1.ListTicketsRequest{Filter: `state = NEW`, PageToken: tokens[0]})
				requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_PAGE_TOKEN)
			}
		}

		// Staff: the agent's tokens give shop A only its own technicians.
		staffTokens := w.accTokens(t, func(ctx context.Context, token string) (string, error) {
			r, err := e.staff.ListStaff(ctx, &aftersalesv1.ListStaffRequest{PageSize: 1, PageToken: token})
			return r.GetNextPageToken(), err
		}, agent)
		require.NotEmpty(t, staffTokens)
		for _, tok := range staffTokens {
			resp, err := e.staff.ListStaff(accCtx(t, pA), &aftersalesv1.ListStaffRequest{PageToken: tok})
			require.NoError(t, err)
			accSubset(t, accNames(resp.GetStaff()...), accNames(w.techA), "shop A with the agent's staff token")
			r := e.do(http.MethodGet, "/v1/staff"+accQuery("page_token", tok), pA, nil)
			accSubset(t, accJSONNames(t, r, "staff"), accNames(w.techA), "JSON shop A with the agent's staff token")
		}

		// Products across customers: the agent's tokens give X only X's.
		xProducts := accNames(f.inWarranty, f.outOfWarranty)
		productTokens := w.accTokens(t, func(ctx context.Context, token string) (string, error) {
			r, err := e.customers.ListProducts(ctx, &aftersalesv1.ListProductsRequest{Parent: "customers/-", PageSize: 1, PageToken: token})
			return r.GetNextPageToken(), err
		}, agent)
		require.NotEmpty(t, productTokens)
		for _, tok := range productTokens {
			resp, err := e.customers.ListProducts(accCtx(t, x), &aftersalesv1.ListProductsRequest{Parent: "customers/-", PageToken: tok})
			require.NoError(t, err)
			accSubset(t, accNames(resp.GetProducts()...), xProducts, "X with the agent's product token")
			r := e.do(http.MethodGet, "/v1/customers/-/products"+accQuery("page_token", tok), x, nil)
			accSubset(t, accJSONNames(t, r, "products"), xProducts, "JSON X with the agent's product token")
		}
	})

	t.Run("list staff and products", func(t *testing.T) {
		resp, err := e.staff.ListStaff(accCtx(t, pA), &aftersalesv1.ListStaffRequest{})
		require.NoError(t, err)
		require.ElementsMatch(t, accNames(w.techA), accNames(resp.GetStaff()...))
		require.ElementsMatch(t, accNames(w.techA), accJSONNames(t, e.do(http.MethodGet, "/v1/staff", pA, nil), "staff"))
		resp, err = e.staff.ListStaff(accCtx(t, pA), &aftersalesv1.ListStaffRequest{Filter: `partner = "` + pB + `"`})
		require.NoError(t, err)
		require.Empty(t, resp.GetStaff())
		require.Empty(t, accJSONNames(t, e.do(http.MethodGet, "/v1/staff"+accQuery("filter", `partner = "`+pB+`"`), pA, nil), "staff"))

		xProducts := accNames(f.inWarranty, f.outOfWarranty)
		for _, parent := range []string{"customers/-", x} {
			pr, err := e.customers.ListProducts(accCtx(t, x), &aftersalesv1.ListProductsRequest{Parent: parent})
			require.NoError(t, err)
			require.ElementsMatch(t, xProducts, accNames(pr.GetProducts()...), "X lists %s", parent)
			require.ElementsMatch(t, xProducts, accJSONNames(t, e.do(http.MethodGet, "/v1/"+parent+"/products", x, nil), "products"))
		}
		pr, err := e.customers.ListProducts(accCtx(t, x), &aftersalesv1.ListProductsRequest{Parent: "customers/-", Filter: `serial_number = "` + w.prodY.GetSerialNumber() + `"`})
		require.NoError(t, err)
		require.Empty(t, pr.GetProducts(), "X must not find Y's unit by serial")
		require.Empty(t, accJSONNames(t, e.do(http.MethodGet, "/v1/customers/-/products"+accQuery("filter", `serial_number = "`+w.prodY.GetSerialNumber()+`"`), x, nil), "products"))

		// Y's products through Y's parent: as missing as a missing customer.
		_, err = e.customers.ListProducts(accCtx(t, x), &aftersalesv1.ListProductsRequest{Parent: y})
		missing := "customers/" + ids.New()
		_, missErr := e.customers.ListProducts(accCtx(t, x), &aftersalesv1.ListProductsRequest{Parent: missing})
		requireHidden(t, err, y, missErr, missing)
		requireHiddenHTTP(t, e.do(http.MethodGet, "/v1/"+y+"/products", x, nil), y, e.do(http.MethodGet, "/v1/"+missing+"/products", x, nil), missing)
	})

	t.Run("get out of scope is not found", func(t *testing.T) {
		get := map[string]func(ctx context.Context, name string) error{
			"tickets": func(ctx context.Context, n string) error {
				_, err := e.tickets.GetTicket(ctx, &aftersalesv1.GetTicketRequest{Name: n})
				return err
			},
			"events": func(ctx context.Context, n string) error {
				_, err := e.tickets.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: strings.TrimSuffix(n, "/events")})
				return err
			},
			"customers": func(ctx context.Context, n string) error {
				_, err := e.customers.GetCustomer(ctx, &aftersalesv1.GetCustomerRequest{Name: n})
				return err
			},
			"products": func(ctx context.Context, n string) error {
				_, err := e.customers.GetProduct(ctx, &aftersalesv1.GetProductRequest{Name: n})
				return err
			},
			"staff": func(ctx context.Context, n string) error {
				_, err := e.staff.GetStaff(ctx, &aftersalesv1.GetStaffRequest{Name: n})
				return err
			},
			"partners": func(ctx context.Context, n string) error {
				_, err := e.partners.GetPartner(ctx, &aftersalesv1.GetPartnerRequest{Name: n})
				return err
			},
		}
		missingTicket := "tickets/" + ids.New()
		missingCustomer := "customers/" + ids.New()
		missingStaff := "staff/" + ids.New()
		missingPartner := "partners/" + ids.New()
		missingProductOf := func(c string) string { return c + "/products/" + ids.New() }
		cases := []struct {
			actor, kind, name, missing string
		}{
			// Partner A on partner B's world.
			{pA, "tickets", w.tB.GetName(), missingTicket},
			{pA, "tickets", w.tNewY.GetName(), missingTicket},
			{pA, "tickets", w.tT1.GetName(), missingTicket},
			{pA, "events", w.tB.GetName() + "/events", missingTicket + "/events"},
			{pA, "customers", y, missingCustomer},
			{pA, "products", w.prodY.GetName(), missingProductOf(y)},
			{pA, "products", f.outOfWarranty.GetName(), missingProductOf(x)}, // X's, but not on A's ticket
			{pA, "staff", w.techB.GetName(), missingStaff},
			{pA, "staff", agent, missingStaff},
			{pA, "partners", pB, missingPartner},
			// A shop's technician sees only their own ticket.
			{w.techA.GetName(), "tickets", w.tB.GetName(), missingTicket},
			// Customer X on customer Y's world.
			{x, "tickets", w.tB.GetName(), missingTicket},
			{x, "tickets", w.tNewY.GetName(), missingTicket},
			{x, "events", w.tNewY.GetName() + "/events", missingTicket + "/events"},
			{x, "customers", y, missingCustomer},
			{x, "products", w.prodY.GetName(), missingProductOf(y)},
			{x, "products", x + "/products/" + accID(strings.TrimPrefix(w.prodY.GetName(), y+"/")), missingProductOf(x)},
			// Technicians on others' and unassigned tickets.
			{t1, "tickets", w.tT2.GetName(), missingTicket},
			{t1, "tickets", w.tNewX.GetName(), missingTicket},
			{t1, "tickets", w.tA.GetName(), missingTicket},
			{t1, "events", w.tNewX.GetName() + "/events", missingTicket + "/events"},
			{t1, "customers", y, missingCustomer},
			{t1, "products", f.inWarranty.GetName(), missingProductOf(x)}, // X's, but on A's ticket
			{t1, "staff", t2, missingStaff},
			// A trainer has no tickets.
			{w.trainer.GetName(), "tickets", w.tA.GetName(), missingTicket},
		}
		for _, c := range cases {
			err := get[c.kind](accCtx(t, c.actor), c.name)
			missErr := get[c.kind](accCtx(t, c.actor), c.missing)
			// A timeline's error names its ticket.
			name, missing := strings.TrimSuffix(c.name, "/events"), strings.TrimSuffix(c.missing, "/events")
			requireHidden(t, err, name, missErr, missing)
			requireHiddenHTTP(t, e.do(http.MethodGet, "/v1/"+c.name, c.actor, nil), name, e.do(http.MethodGet, "/v1/"+c.missing, c.actor, nil), missing)
		}
		// Controls: the same callers do see their own.
		for _, c := range [][3]string{
			{pA, "tickets", w.tA.GetName()}, {pA, "customers", x}, {pA, "products", f.inWarranty.GetName()},
			{pA, "staff", w.techA.GetName()}, {pA, "partners", pA},
			{x, "tickets", w.tA.GetName()}, {x, "customers", x}, {x, "products", w.f.outOfWarranty.GetName()},
			{t1, "tickets", w.tT1.GetName()}, {t1, "customers", x}, {t1, "products", f.outOfWarranty.GetName()}, {t1, "staff", t1},
		} {
			require.NoError(t, get[c[1]](accCtx(t, c[0]), c[2]), "%s gets %s", c[0], c[2])
			r := e.do(http.MethodGet, "/v1/"+c[2], c[0], nil)
			require.Equal(t, http.StatusOK, r.status, "%s gets %s: %s", c[0], c[2], r.raw)
		}
	})

	// etagOf reads a resource as the admin: an unchanged etag means an
	// unchanged row.
	adm := func() context.Context { return accCtx(t, w.admin) }
	ticketEtag := func(t *testing.T, name string) (string, aftersalesv1.Ticket_State) {
		tk, err := e.tickets.GetTicket(adm(), &aftersalesv1.GetTicketRequest{Name: name})
		require.NoError(t, err)
		return tk.GetEtag(), tk.GetState()
	}
	eventCount := func(t *testing.T, ticket string) int {
		r, err := e.tickets.ListTicketEvents(adm(), &aftersalesv1.ListTicketEventsRequest{Parent: ticket, PageSize: 1000})
		require.NoError(t, err)
		return len(r.GetEvents())
	}

	t.Run("writes out of scope are not found and change nothing", func(t *testing.T) {
		missingTicket := "tickets/" + ids.New()
		ticketWrites := []struct {
			actor, what string
			ticket      *aftersalesv1.Ticket
			call        func(ctx context.Context, name string) error
			http        func(name string) (string, string, any)
		}{
			{pA, "accept", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.AcceptTicket(ctx, &aftersalesv1.AcceptTicketRequest{Name: n})
				return err
			}, func(n string) (string, string, any) { return http.MethodPost, "/v1/" + n + ":accept", map[string]any{} }},
			{pA, "resolve", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: n, Resolution: &aftersalesv1.Resolution{FaultCategory: "X", FaultCode: "X1", Summary: "done"}})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":resolve", map[string]any{"resolution": map[string]any{"faultCategory": "X", "faultCode": "X1", "summary": "done"}}
			}},
			{pA, "assign to own technician", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: n, Assignee: w.techA.GetName()})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":assign", map[string]any{"assignee": w.techA.GetName()}
			}},
			{pA, "update description", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: n, Description: "mine now"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPatch, "/v1/" + n + "?update_mask=description", map[string]any{"description": "mine now"}
			}},
			{pA, "comment", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: n, Message: "hello"})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + "/events:comment", map[string]any{"message": "hello"}
			}},
			{t1, "pause", w.tT2, func(ctx context.Context, n string) error {
				_, err := e.tickets.PauseTicket(ctx, &aftersalesv1.PauseTicketRequest{Name: n, Reason: "parts"})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":pause", map[string]any{"reason": "parts"}
			}},
			{t1, "resolve", w.tT2, func(ctx context.Context, n string) error {
				_, err := e.tickets.ResolveTicket(ctx, &aftersalesv1.ResolveTicketRequest{Name: n, Resolution: &aftersalesv1.Resolution{FaultCategory: "X", FaultCode: "X1", Summary: "done"}})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":resolve", map[string]any{"resolution": map[string]any{"faultCategory": "X", "faultCode": "X1", "summary": "done"}}
			}},
			{t1, "comment on unassigned", w.tNewX, func(ctx context.Context, n string) error {
				_, err := e.tickets.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: n, Message: "hello"})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + "/events:comment", map[string]any{"message": "hello"}
			}},
			{t1, "update unassigned", w.tNewX, func(ctx context.Context, n string) error {
				_, err := e.tickets.UpdateTicket(ctx, &aftersalesv1.UpdateTicketRequest{Ticket: &aftersalesv1.Ticket{Name: n, Description: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}}})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPatch, "/v1/" + n + "?update_mask=description", map[string]any{"description": "x"}
			}},
			{x, "cancel", w.tNewY, func(ctx context.Context, n string) error {
				_, err := e.tickets.CancelTicket(ctx, &aftersalesv1.CancelTicketRequest{Name: n, Reason: "changed my mind"})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":cancel", map[string]any{"reason": "changed my mind"}
			}},
			{x, "approve fee", w.tB, func(ctx context.Context, n string) error {
				_, err := e.tickets.ApproveTicketFee(ctx, &aftersalesv1.ApproveTicketFeeRequest{Name: n, Approved: true})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + ":approveFee", map[string]any{"approved": true}
			}},
			{x, "comment", w.tNewY, func(ctx context.Context, n string) error {
				_, err := e.tickets.AddTicketComment(ctx, &aftersalesv1.AddTicketCommentRequest{Parent: n, Message: "hello"})
				return err
			}, func(n string) (string, string, any) {
				return http.MethodPost, "/v1/" + n + "/events:comment", map[string]any{"message": "hello"}
			}},
		}
		for _, c := range ticketWrites {
			name := c.ticket.GetName()
			etagBefore, stateBefore := ticketEtag(t, name)
			eventsBefore := eventCount(t, name)

			err := c.call(accCtx(t, c.actor), name)
			requireHidden(t, err, name, c.call(accCtx(t, c.actor), missingTicket), missingTicket)
			verb, path, body := c.http(name)
			mverb, mpath, mbody := c.http(missingTicket)
			requireHiddenHTTP(t, e.do(verb, path, c.actor, body), name, e.do(mverb, mpath, c.actor, mbody), missingTicket)

			etagAfter, stateAfter := ticketEtag(t, name)
			require.Equal(t, etagBefore, etagAfter, "%s %s of %s changed it", c.actor, c.what, name)
			require.Equal(t, stateBefore, stateAfter)
			require.Equal(t, eventsBefore, eventCount(t, name), "%s %s of %s added an event", c.actor, c.what, name)
		}
		// The T2 ticket could have been paused: the refusal above was scope.
		_, state := ticketEtag(t, w.tT2.GetName())
		require.Equal(t, aftersalesv1.Ticket_IN_PROGRESS, state)

		// Customer X on Y's product and profile.
		prodBefore, err := e.customers.GetProduct(adm(), &aftersalesv1.GetProductRequest{Name: w.prodY.GetName()})
		require.NoError(t, err)
		forged := x + "/products/" + strings.TrimPrefix(w.prodY.GetName(), y+"/products/")
		missingProduct := x + "/products/" + ids.New()
		updProduct := func(ctx context.Context, n string) error {
			_, err := e.customers.UpdateProduct(ctx, &aftersalesv1.UpdateProductRequest{Product: &aftersalesv1.Product{Name: n, Retailer: "mine"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retailer"}}})
			return err
		}
		for _, n := range []string{w.prodY.GetName(), forged} {
			requireHidden(t, updProduct(accCtx(t, x), n), n, updProduct(accCtx(t, x), missingProduct), missingProduct)
			requireHiddenHTTP(t, e.do(http.MethodPatch, "/v1/"+n+"?update_mask=retailer", x, map[string]any{"retailer": "mine"}), n,
				e.do(http.MethodPatch, "/v1/"+missingProduct+"?update_mask=retailer", x, map[string]any{"retailer": "mine"}), missingProduct)
		}
		prodAfter, err := e.customers.GetProduct(adm(), &aftersalesv1.GetProductRequest{Name: w.prodY.GetName()})
		require.NoError(t, err)
		require.Equal(t, prodBefore.GetEtag(), prodAfter.GetEtag())
		require.Empty(t, prodAfter.GetRetailer())

		custBefore, err := e.customers.GetCustomer(adm(), &aftersalesv1.GetCustomerRequest{Name: y})
		require.NoError(t, err)
		missingCustomer := "customers/" + ids.New()
		updCustomer := func(ctx context.Context, n string) error {
			_, err := e.customers.UpdateCustomer(ctx, &aftersalesv1.UpdateCustomerRequest{Customer: &aftersalesv1.Customer{Name: n, Phone: "+8613700137000"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"phone"}}})
			return err
		}
		requireHidden(t, updCustomer(accCtx(t, x), y), y, updCustomer(accCtx(t, x), missingCustomer), missingCustomer)
		newProduct := func(ctx context.Context, parent string) error {
			_, err := e.customers.CreateProduct(ctx, &aftersalesv1.CreateProductRequest{Parent: parent, Product: &aftersalesv1.Product{Model: "X", SerialNumber: "SN-PLANT-" + ids.New()}})
			return err
		}
		requireHidden(t, newProduct(accCtx(t, x), y), y, newProduct(accCtx(t, x), missingCustomer), missingCustomer)
		requireHiddenHTTP(t, e.do(http.MethodPost, "/v1/"+y+"/products", x, map[string]any{"model": "X", "serialNumber": "SN-PLANT-" + ids.New()}), y,
			e.do(http.MethodPost, "/v1/"+missingCustomer+"/products", x, map[string]any{"model": "X", "serialNumber": "SN-PLANT-" + ids.New()}), missingCustomer)
		custAfter, err := e.customers.GetCustomer(adm(), &aftersalesv1.GetCustomerRequest{Name: y})
		require.NoError(t, err)
		require.Equal(t, custBefore.GetEtag(), custAfter.GetEtag())
		yProducts, err := e.customers.ListProducts(adm(), &aftersalesv1.ListProductsRequest{Parent: y})
		require.NoError(t, err)
		require.ElementsMatch(t, accNames(w.prodY), accNames(yProducts.GetProducts()...), "nothing planted on Y")

		// Partner A on partner B's technician.
		techBefore, err := e.staff.GetStaff(adm(), &aftersalesv1.GetStaffRequest{Name: w.techB.GetName()})
		require.NoError(t, err)
		missingStaff := "staff/" + ids.New()
		updStaff := func(ctx context.Context, n string) error {
			_, err := e.staff.UpdateStaff(ctx, &aftersalesv1.UpdateStaffRequest{Staff: &aftersalesv1.Staff{Name: n, Active: false}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}}})
			return err
		}
		requireHidden(t, updStaff(accCtx(t, pA), w.techB.GetName()), w.techB.GetName(), updStaff(accCtx(t, pA), missingStaff), missingStaff)
		requireHiddenHTTP(t, e.do(http.MethodPatch, "/v1/"+w.techB.GetName()+"?update_mask=active", pA, map[string]any{"active": false}), w.techB.GetName(),
			e.do(http.MethodPatch, "/v1/"+missingStaff+"?update_mask=active", pA, map[string]any{"active": false}), missingStaff)
		requireHidden(t, updStaff(accCtx(t, pA), agent), agent, updStaff(accCtx(t, pA), missingStaff), missingStaff)
		techAfter, err := e.staff.GetStaff(adm(), &aftersalesv1.GetStaffRequest{Name: w.techB.GetName()})
		require.NoError(t, err)
		require.Equal(t, techBefore.GetEtag(), techAfter.GetEtag())
		require.True(t, techAfter.GetActive())

		// Shop A dispatching its own ticket to B's technician or shop.
		etagA, _ := ticketEtag(t, w.tA.GetName())
		_, err = e.tickets.AssignTicket(accCtx(t, pA), &aftersalesv1.AssignTicketRequest{Name: w.tA.GetName(), Assignee: w.techB.GetName()})
		requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_REFERENCE_NOT_FOUND)
		_, err = e.tickets.AssignTicket(accCtx(t, pA), &aftersalesv1.AssignTicketRequest{Name: w.tA.GetName(), Assignee: w.techA.GetName(), Partner: pB})
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		r := e.do(http.MethodPost, "/v1/"+w.tA.GetName()+":assign", pA, map[string]any{"assignee": w.techA.GetName(), "partner": pB})
		requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		after, _ := ticketEtag(t, w.tA.GetName())
		require.Equal(t, etagA, after)
	})

	t.Run("field rules", func(t *testing.T) {
		fee := &aftersalesv1.FeeQuote{Labor: &aftersalesv1.Money{CurrencyCode: "CNY", MinorUnits: 1}}
		before := len(w.listTickets(t, agent, ""))

		_, err := e.tickets.CreateTicket(accCtx(t, x), &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
			Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_APP, Title: "free repair please", FeeQuote: fee,
		}})
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		r := e.do(http.MethodPost, "/v1/tickets", x, map[string]any{"type": "REPAIR", "channel": "APP", "title": "free repair please",
			"feeQuote": map[string]any{"labor": map[string]any{"currencyCode": "CNY", "minorUnits": "1"}}})
		requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)

		_, err = e.tickets.CreateTicket(accCtx(t, x), &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
			Customer: y, Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_APP, Title: "for my neighbour",
		}})
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		r = e.do(http.MethodPost, "/v1/tickets", x, map[string]any{"customer": y, "type": "REPAIR", "channel": "APP", "title": "for my neighbour"})
		requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		require.Len(t, w.listTickets(t, agent, ""), before, "refused creates open nothing")

		etagA, _ := ticketEtag(t, w.tA.GetName())
		_, err = e.tickets.UpdateTicket(accCtx(t, pA), &aftersalesv1.UpdateTicketRequest{
			Ticket: &aftersalesv1.Ticket{Name: w.tA.GetName(), Priority: aftersalesv1.Ticket_URGENT}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
		})
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		r = e.do(http.MethodPatch, "/v1/"+w.tA.GetName()+"?update_mask=priority", pA, map[string]any{"priority": "URGENT"})
		requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		_, err = e.tickets.UpdateTicket(accCtx(t, t1), &aftersalesv1.UpdateTicketRequest{
			Ticket: &aftersalesv1.Ticket{Name: w.tT1.GetName(), Priority: aftersalesv1.Ticket_URGENT}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"priority"}},
		})
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)

		_, err = e.tickets.CancelTicket(accCtx(t, x), &aftersalesv1.CancelTicketRequest{Name: w.tA.GetName(), Reason: "too slow"})
		requireCode(t, err, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
		r = e.do(http.MethodPost, "/v1/"+w.tA.GetName()+":cancel", x, map[string]any{"reason": "too slow"})
		requireHTTP(t, r, http.StatusBadRequest, codes.FailedPrecondition, aftersalesv1.ErrorReason_INVALID_STATE_TRANSITION)
		after, state := ticketEtag(t, w.tA.GetName())
		require.Equal(t, etagA, after)
		require.Equal(t, aftersalesv1.Ticket_ASSIGNED, state)

		// Internal comments: staff-only, in both directions.
		for _, actor := range []string{pA, x} {
			_, err = e.tickets.AddTicketComment(accCtx(t, actor), &aftersalesv1.AddTicketCommentRequest{Parent: w.tA.GetName(), Message: "psst", Internal: true})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			r = e.do(http.MethodPost, "/v1/"+w.tA.GetName()+"/events:comment", actor, map[string]any{"message": "psst", "internal": true})
			requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		}
		_, err = e.tickets.AddTicketComment(accCtx(t, agent), &aftersalesv1.AddTicketCommentRequest{Parent: w.tA.GetName(), Message: "staff only: customer disputes the fee", Internal: true})
		require.NoError(t, err)
		_, err = e.tickets.AddTicketComment(accCtx(t, agent), &aftersalesv1.AddTicketCommentRequest{Parent: w.tA.GetName(), Message: "we are on it"})
		require.NoError(t, err)
		events := func(actor string) (internal, public int) {
			resp, err := e.tickets.ListTicketEvents(accCtx(t, actor), &aftersalesv1.ListTicketEventsRequest{Parent: w.tA.GetName()})
			require.NoError(t, err)
			for _, ev := range resp.GetEvents() {
				if ev.GetInternal() || strings.Contains(ev.GetMessage(), "staff only") {
					internal++
				} else if ev.GetType() == aftersalesv1.TicketEvent_COMMENTED {
					public++
				}
			}
			r := e.do(http.MethodGet, "/v1/"+w.tA.GetName()+"/events", actor, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			jsonInternal := 0
			for _, ev := range r.body["events"].([]any) {
				m := ev.(map[string]any)
				if m["internal"] == true || strings.Contains(asString(m["message"]), "staff only") {
					jsonInternal++
				}
			}
			require.Equal(t, internal, jsonInternal, "JSON and gRPC timelines agree for %s", actor)
			return internal, public
		}
		for _, actor := range []string{x, pA} {
			internal, public := events(actor)
			require.Zero(t, internal, "%s sees an internal comment", actor)
			require.Equal(t, 1, public, "%s sees the public comment", actor)
		}
		internal, public := events(agent)
		require.Equal(t, 1, internal)
		require.Equal(t, 1, public)
		// Page tokens of the agent's timeline do not uncover the note.
		evTokens := w.accTokens(t, func(ctx context.Context, token string) (string, error) {
			r, err := e.tickets.ListTicketEvents(ctx, &aftersalesv1.ListTicketEventsRequest{Parent: w.tA.GetName(), PageSize: 1, PageToken: token})
			return r.GetNextPageToken(), err
		}, agent)
		require.NotEmpty(t, evTokens)
		for _, tok := range evTokens {
			resp, err := e.tickets.ListTicketEvents(accCtx(t, x), &aftersalesv1.ListTicketEventsRequest{Parent: w.tA.GetName(), PageToken: tok})
			require.NoError(t, err)
			for _, ev := range resp.GetEvents() {
				require.False(t, ev.GetInternal())
				require.NotContains(t, ev.GetMessage(), "staff only")
			}
		}

		// Those who do the work see the customer's contact, nothing more.
		full, err := e.customers.GetCustomer(accCtx(t, agent), &aftersalesv1.GetCustomerRequest{Name: x})
		require.NoError(t, err)
		require.NotEmpty(t, full.GetEmail())
		require.NotEmpty(t, full.GetExternalId())
		for _, actor := range []string{pA, t1, w.techA.GetName()} {
			c, err := e.customers.GetCustomer(accCtx(t, actor), &aftersalesv1.GetCustomerRequest{Name: x})
			require.NoError(t, err, actor)
			require.Equal(t, full.GetDisplayName(), c.GetDisplayName())
			require.Equal(t, full.GetPhone(), c.GetPhone())
			require.Empty(t, c.GetEmail(), actor)
			require.Empty(t, c.GetExternalId(), actor)
			require.Empty(t, c.GetContactPreferences(), actor)
			require.Nil(t, c.GetCreateTime(), actor)
			r := e.do(http.MethodGet, "/v1/"+x, actor, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			for k := range r.body {
				require.Contains(t, []string{"name", "displayName", "phone", "address", "etag"}, k, "%s sees customer field %s", actor, k)
			}
		}
	})

	t.Run("check warranty names only units in scope", func(t *testing.T) {
		cases := []struct {
			actor   string
			product *aftersalesv1.Product
			named   bool
		}{
			{agent, w.prodY, true},
			{pA, f.inWarranty, true}, // on A's ticket
			{pA, w.prodY, false},     // B's and T2's work
			{pA, f.outOfWarranty, false},
			{t1, f.outOfWarranty, true}, // on T1's ticket
			{t1, w.prodY, false},
			{w.techA.GetName(), f.inWarranty, true},
			{w.techA.GetName(), w.prodY, false},
		}
		for _, c := range cases {
			r, err := e.customers.CheckWarranty(accCtx(t, c.actor), &aftersalesv1.CheckWarrantyRequest{SerialNumber: c.product.GetSerialNumber()})
			require.NoError(t, err)
			require.Equal(t, c.product.GetModel(), r.GetModel(), "coverage is for anyone with the unit in hand")
			require.NotEqual(t, aftersalesv1.WarrantyStatus_WARRANTY_STATUS_UNSPECIFIED, r.GetWarrantyStatus())
			j := e.do(http.MethodGet, "/v1/products:checkWarranty"+accQuery("serial_number", c.product.GetSerialNumber()), c.actor, nil)
			require.Equal(t, http.StatusOK, j.status, string(j.raw))
			if c.named {
				require.Equal(t, c.product.GetName(), r.GetProduct(), c.actor)
				require.Equal(t, c.product.GetName(), j.body["product"], c.actor)
			} else {
				require.Empty(t, r.GetProduct(), "%s learns whose unit %s is", c.actor, c.product.GetName())
				require.Empty(t, asString(j.body["product"]), "%s learns whose unit %s is (JSON)", c.actor, c.product.GetName())
			}
		}
	})

	t.Run("delegation", func(t *testing.T) {
		req := func(title string) *aftersalesv1.CreateTicketRequest {
			return &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
				Customer: y, Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE, Title: title,
			}}
		}
		body := func(title string) map[string]any {
			return map[string]any{"customer": y, "type": "REPAIR", "channel": "PHONE", "title": title}
		}
		onBehalf := []string{auth.OnBehalfOfMetadataKey, agent}
		header := map[string]string{"X-Aftersales-On-Behalf-Of": agent}

		tk, err := e.tickets.CreateTicket(accCtx(t, w.delegate, onBehalf...), req("via seat software"))
		require.NoError(t, err)
		require.Equal(t, agent, tk.GetFirstContact())
		r := accDo(t, e, http.MethodPost, "/v1/tickets", w.delegate, body("via seat software, JSON"), header)
		require.Equal(t, http.StatusOK, r.status, string(r.raw))
		require.Equal(t, agent, r.body["firstContact"])

		// Keys that may not delegate are refused, not silently ignored.
		for _, actor := range []string{w.service, agent, pA} {
			_, err = e.tickets.CreateTicket(accCtx(t, actor, onBehalf...), req("impersonation"))
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			r = accDo(t, e, http.MethodPost, "/v1/tickets", actor, body("impersonation"), header)
			requireHTTP(t, r, http.StatusForbidden, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
			_, err = e.tickets.GetTicket(accCtx(t, actor, onBehalf...), &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		}
		// The same service key without delegation is itself, not the agent.
		tk, err = e.tickets.CreateTicket(accCtx(t, w.service), req("from the IVR"))
		require.NoError(t, err)
		require.NotEqual(t, agent, tk.GetFirstContact())
	})
}

// asString returns v if it is a string, else "".
func asString(v any) string {
	s, _ := v.(string)
	return s
}
