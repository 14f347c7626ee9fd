package auth

import (
	"slices"
	"strings"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// Short names for the policy table.
const (
	admin      = principal.RoleAdmin
	manager    = principal.RoleManager
	agent      = principal.RoleAgent
	technician = principal.RoleTechnician
	trainer    = principal.RoleTrainer
	partner    = principal.RolePartner
	customer   = principal.RoleCustomer
)

// staffRoles are all staff roles.
var staffRoles = []principal.Role{admin, manager, agent, technician, trainer}

// everyone is every authenticated role.
var everyone = append(append([]principal.Role{}, staffRoles...), partner, customer)

// policy is the one table of who may call what (API.md §5), by full gRPC
// method name. A method missing here is denied to everyone, admins too,
// and a test fails until every registered method has a row. Rows say which
// roles may call at all; which rows they then see or change (their own
// tickets, their shop's technicians) is scoping, applied in the queries.
var policy = map[string][]principal.Role{
	// Customers and products: the call center registers them; customers
	// manage their own; partners and technicians read the customer of their
	// work (scoped).
	aftersalesv1.CustomerService_CreateCustomer_FullMethodName: {manager, agent},
	aftersalesv1.CustomerService_GetCustomer_FullMethodName:    {manager, agent, technician, partner, customer},
	aftersalesv1.CustomerService_ListCustomers_FullMethodName:  {manager, agent},
	aftersalesv1.CustomerService_UpdateCustomer_FullMethodName: {manager, agent, customer},
	aftersalesv1.CustomerService_CreateProduct_FullMethodName:  {manager, agent, customer},
	aftersalesv1.CustomerService_GetProduct_FullMethodName:     {manager, agent, technician, partner, customer},
	aftersalesv1.CustomerService_ListProducts_FullMethodName:   {manager, agent, customer},
	aftersalesv1.CustomerService_UpdateProduct_FullMethodName:  {manager, agent, technician, partner, customer},
	aftersalesv1.CustomerService_CheckWarranty_FullMethodName:  {manager, agent, technician, partner},

	// Partners: staff read them; a shop reads itself.
	aftersalesv1.PartnerService_CreatePartner_FullMethodName: {},
	aftersalesv1.PartnerService_GetPartner_FullMethodName:    {manager, agent, trainer, partner},
	aftersalesv1.PartnerService_ListPartners_FullMethodName:  {manager, agent, trainer},
	aftersalesv1.PartnerService_UpdatePartner_FullMethodName: {},

	// Staff: admins manage everyone, partners their own technicians.
	aftersalesv1.StaffService_CreateStaff_FullMethodName: {partner},
	aftersalesv1.StaffService_GetStaff_FullMethodName:    {manager, agent, technician, trainer, partner},
	aftersalesv1.StaffService_ListStaff_FullMethodName:   {manager, agent, trainer, partner},
	aftersalesv1.StaffService_UpdateStaff_FullMethodName: {partner},

	// Tickets: staff who run the desk do everything; those who do the
	// work act on tickets dispatched to them; customers open, follow and
	// withdraw their own.
	aftersalesv1.TicketService_CreateTicket_FullMethodName:     {manager, agent, customer},
	aftersalesv1.TicketService_GetTicket_FullMethodName:        everyone,
	aftersalesv1.TicketService_ListTickets_FullMethodName:      everyone,
	aftersalesv1.TicketService_UpdateTicket_FullMethodName:     {manager, agent, technician, partner},
	aftersalesv1.TicketService_AssignTicket_FullMethodName:     {manager, agent, partner},
	aftersalesv1.TicketService_AcceptTicket_FullMethodName:     {manager, agent, technician, partner},
	aftersalesv1.TicketService_StartTicket_FullMethodName:      {manager, agent, technician, partner},
	aftersalesv1.TicketService_PauseTicket_FullMethodName:      {manager, agent, technician, partner},
	aftersalesv1.TicketService_ResumeTicket_FullMethodName:     {manager, agent, technician, partner},
	aftersalesv1.TicketService_ResolveTicket_FullMethodName:    {manager, agent, technician, partner},
	aftersalesv1.TicketService_CloseTicket_FullMethodName:      {manager, agent},
	aftersalesv1.TicketService_ReopenTicket_FullMethodName:     {manager, agent},
	aftersalesv1.TicketService_CancelTicket_FullMethodName:     {manager, agent, customer},
	aftersalesv1.TicketService_EscalateTicket_FullMethodName:   {manager, agent},
	aftersalesv1.TicketService_ApproveTicketFee_FullMethodName: {manager, agent, customer},
	aftersalesv1.TicketService_AddTicketComment_FullMethodName: everyone,
	aftersalesv1.TicketService_ListTicketEvents_FullMethodName: everyone,
	aftersalesv1.TicketService_CreateSlaPolicy_FullMethodName:  {},
	aftersalesv1.TicketService_GetSlaPolicy_FullMethodName:     staffRoles,
	aftersalesv1.TicketService_ListSlaPolicies_FullMethodName:  staffRoles,
	aftersalesv1.TicketService_UpdateSlaPolicy_FullMethodName:  {},

	// Quotes from the fee schedule: whoever may give a fee_quote today
	// prices the work (scoped to the tickets they may change); a quote
	// outside the schedule or with a large discount waits for a manager.
	aftersalesv1.TicketService_QuoteTicket_FullMethodName:        {manager, agent, technician, partner},
	aftersalesv1.TicketService_ApproveTicketQuote_FullMethodName: {manager},

	// Complaints: the desk records and handles them; customers file and
	// follow their own; partners see none. Technicians and trainers are
	// handlers only when assigned, and work them through the desk roles.
	aftersalesv1.ComplaintService_CreateComplaint_FullMethodName:      {manager, agent, customer},
	aftersalesv1.ComplaintService_GetComplaint_FullMethodName:         {manager, agent, customer},
	aftersalesv1.ComplaintService_ListComplaints_FullMethodName:       {manager, agent, customer},
	aftersalesv1.ComplaintService_UpdateComplaint_FullMethodName:      {manager, agent},
	aftersalesv1.ComplaintService_AcknowledgeComplaint_FullMethodName: {manager, agent},
	aftersalesv1.ComplaintService_AssignComplaint_FullMethodName:      {manager},
	aftersalesv1.ComplaintService_EscalateComplaint_FullMethodName:    {manager, agent},
	aftersalesv1.ComplaintService_ResolveComplaint_FullMethodName:     {manager, agent},
	aftersalesv1.ComplaintService_CloseComplaint_FullMethodName:       {manager, agent, customer},
	aftersalesv1.ComplaintService_ReopenComplaint_FullMethodName:      {manager, agent, customer},
	aftersalesv1.ComplaintService_AddComplaintComment_FullMethodName:  {manager, agent, customer},
	aftersalesv1.ComplaintService_ListComplaintEvents_FullMethodName:  {manager, agent, customer},

	// Follow-ups: the call center's work; customers rate their own
	// tickets from the app.
	aftersalesv1.FollowUpService_CreateFollowUp_FullMethodName:        {manager, agent},
	aftersalesv1.FollowUpService_GetFollowUp_FullMethodName:           {manager, agent},
	aftersalesv1.FollowUpService_ListFollowUps_FullMethodName:         {manager, agent},
	aftersalesv1.FollowUpService_UpdateFollowUp_FullMethodName:        {manager, agent},
	aftersalesv1.FollowUpService_RecordFollowUpAttempt_FullMethodName: {manager, agent},
	aftersalesv1.FollowUpService_CompleteFollowUp_FullMethodName:      {manager, agent},
	aftersalesv1.FollowUpService_CancelFollowUp_FullMethodName:        {manager, agent},
	aftersalesv1.FollowUpService_SubmitSurvey_FullMethodName:          {customer},

	// Training: trainers run courses and assessments, managers assess
	// their teams, staff read their own record, and partners manage their
	// own technicians' training (scoped).
	aftersalesv1.StaffService_GetQualification_FullMethodName:             {manager, agent, technician, trainer, partner},
	aftersalesv1.TrainingService_CreateCourse_FullMethodName:              {trainer},
	aftersalesv1.TrainingService_GetCourse_FullMethodName:                 {manager, agent, technician, trainer, partner},
	aftersalesv1.TrainingService_ListCourses_FullMethodName:               {manager, agent, technician, trainer, partner},
	aftersalesv1.TrainingService_UpdateCourse_FullMethodName:              {trainer},
	aftersalesv1.TrainingService_EnrollStaff_FullMethodName:               {manager, trainer, partner},
	aftersalesv1.TrainingService_ListEnrollments_FullMethodName:           {manager, agent, technician, trainer, partner},
	aftersalesv1.TrainingService_CompleteEnrollment_FullMethodName:        {manager, trainer, partner},
	aftersalesv1.TrainingService_RecordAssessment_FullMethodName:          {manager, trainer},
	aftersalesv1.TrainingService_ListAssessments_FullMethodName:           {manager, agent, technician, trainer, partner},
	aftersalesv1.TrainingService_ListAccountabilityRecords_FullMethodName: {manager, agent, technician, trainer, partner},

	// Reports (issue 7): managers see every figure; a partner shop its own
	// (the partner filter is forced); staff their own scorecard, a
	// partner its technicians' (scoped); customers none.
	aftersalesv1.ReportService_GetServiceMetrics_FullMethodName:  {manager, partner},
	aftersalesv1.ReportService_GetStaffScorecard_FullMethodName:  {manager, agent, technician, trainer, partner},
	aftersalesv1.ReportService_GetFaultStatistics_FullMethodName: {manager, partner},
	aftersalesv1.ReportService_GetCampaignMetrics_FullMethodName: {manager},
	// What warranty work costs the company is for those who run it.
	aftersalesv1.ReportService_GetCostMetrics_FullMethodName: {manager},

	// Campaigns: managers decide and launch them; the call center reads
	// them and records what customers said; customers see those that
	// reached their own products. Partners see a campaign on the tickets
	// dispatched to them (Ticket.campaign), not the campaign itself.
	aftersalesv1.CampaignService_CreateCampaign_FullMethodName:         {manager},
	aftersalesv1.CampaignService_GetCampaign_FullMethodName:            {manager, agent},
	aftersalesv1.CampaignService_ListCampaigns_FullMethodName:          {manager, agent},
	aftersalesv1.CampaignService_UpdateCampaign_FullMethodName:         {manager},
	aftersalesv1.CampaignService_PreviewCampaign_FullMethodName:        {manager},
	aftersalesv1.CampaignService_LaunchCampaign_FullMethodName:         {manager},
	aftersalesv1.CampaignService_PauseCampaign_FullMethodName:          {manager},
	aftersalesv1.CampaignService_CancelCampaign_FullMethodName:         {manager},
	aftersalesv1.CampaignService_ListCampaignTargets_FullMethodName:    {manager, agent},
	aftersalesv1.CampaignService_RecordCampaignOutreach_FullMethodName: {manager, agent},
	aftersalesv1.CampaignService_ListCustomerCampaigns_FullMethodName:  {manager, agent, customer},

	// Maintenance plans: managers set them up; the call center reads them.
	aftersalesv1.MaintenanceService_CreateMaintenancePlan_FullMethodName: {manager},
	aftersalesv1.MaintenanceService_GetMaintenancePlan_FullMethodName:    {manager, agent},
	aftersalesv1.MaintenanceService_ListMaintenancePlans_FullMethodName:  {manager, agent},
	aftersalesv1.MaintenanceService_UpdateMaintenancePlan_FullMethodName: {manager},
	aftersalesv1.MaintenanceService_ListMaintenanceVisits_FullMethodName: {manager, agent},

	// The price list: managers write it; staff and shops read what is
	// published; customers the prices of their products. LookupFees needs
	// no credentials at all (publicMethods).
	aftersalesv1.FeeService_CreateFeeSchedule_FullMethodName:  {manager},
	aftersalesv1.FeeService_GetFeeSchedule_FullMethodName:     {manager, agent, technician, trainer, partner},
	aftersalesv1.FeeService_ListFeeSchedules_FullMethodName:   {manager, agent, technician, trainer, partner},
	aftersalesv1.FeeService_UpdateFeeSchedule_FullMethodName:  {manager},
	aftersalesv1.FeeService_PublishFeeSchedule_FullMethodName: {manager},
	aftersalesv1.FeeService_GetProductFees_FullMethodName:     {manager, agent, technician, partner, customer},
	aftersalesv1.FeeService_LookupFees_FullMethodName:         everyone,

	// Warranty claims: managers review them and issue the monthly
	// statements; a shop reads its own claims and statements (scoped).
	aftersalesv1.WarrantyClaimService_GetWarrantyClaim_FullMethodName:         {manager, partner},
	aftersalesv1.WarrantyClaimService_ListWarrantyClaims_FullMethodName:       {manager, partner},
	aftersalesv1.WarrantyClaimService_ApproveWarrantyClaim_FullMethodName:     {manager},
	aftersalesv1.WarrantyClaimService_AdjustWarrantyClaim_FullMethodName:      {manager},
	aftersalesv1.WarrantyClaimService_RejectWarrantyClaim_FullMethodName:      {manager},
	aftersalesv1.WarrantyClaimService_GetSettlementStatement_FullMethodName:   {manager, partner},
	aftersalesv1.WarrantyClaimService_IssueSettlementStatement_FullMethodName: {manager},

	// The audit trail is for those who answer for the work.
	aftersalesv1.AuditService_ListAuditRecords_FullMethodName: {manager},

	// The change feed: everyone reads the events of what they may Get
	// (scoped by the events' own scope columns).
	aftersalesv1.EventService_ListEvents_FullMethodName:  everyone,
	aftersalesv1.EventService_WatchEvents_FullMethodName: everyone,

	// Webhooks: admins subscribe for the company, a shop for itself.
	aftersalesv1.WebhookService_CreateWebhook_FullMethodName:         {partner},
	aftersalesv1.WebhookService_GetWebhook_FullMethodName:            {partner},
	aftersalesv1.WebhookService_ListWebhooks_FullMethodName:          {partner},
	aftersalesv1.WebhookService_UpdateWebhook_FullMethodName:         {partner},
	aftersalesv1.WebhookService_DeleteWebhook_FullMethodName:         {partner},
	aftersalesv1.WebhookService_ListWebhookDeliveries_FullMethodName: {partner},
	aftersalesv1.WebhookService_RedeliverEvent_FullMethodName:        {partner},

	// Keys are for admins only.
	aftersalesv1.ApiKeyService_CreateApiKey_FullMethodName: {},
	aftersalesv1.ApiKeyService_GetApiKey_FullMethodName:    {},
	aftersalesv1.ApiKeyService_ListApiKeys_FullMethodName:  {},
	aftersalesv1.ApiKeyService_RevokeApiKey_FullMethodName: {},
	// Who am I: every caller may ask who its credentials act as.
	aftersalesv1.ApiKeyService_GetCaller_FullMethodName: everyone,
}

// publicPrefixes are the methods that need no credentials: health checks
// (for load balancers) and, when enabled, reflection.
var publicPrefixes = []string{"/grpc.health.v1.Health/", "/grpc.reflection."}

// publicMethods need no credentials either: the published price list
// (收费标准透明) is for anyone, signed in or not.
var publicMethods = map[string]bool{aftersalesv1.FeeService_LookupFees_FullMethodName: true}

// Public reports whether method may be called without credentials.
func Public(method string) bool {
	if publicMethods[method] {
		return true
	}
	for _, p := range publicPrefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// Allowed reports whether role may call method. Admins may call
// everything in the table; nobody may call a method missing from it.
func Allowed(method string, role principal.Role) bool {
	roles, ok := policy[method]
	if !ok {
		return false
	}
	if role == admin {
		return true
	}
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// Methods returns the methods role may call, sorted.
func Methods(role principal.Role) []string {
	var out []string
	for m := range policy {
		if Allowed(m, role) {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// HasRule reports whether method has a row in the policy table.
func HasRule(method string) bool {
	_, ok := policy[method]
	return ok
}
