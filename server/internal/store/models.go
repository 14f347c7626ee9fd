package store

import "time"

// The resource tables. Every resource has a server-assigned string ID, a
// Version bumped on each change (the etag is derived from it), and
// create/update times. Each list query orders by (create_time, id), so
// each table has an index starting with the columns a list filters on and
// ending with those two.
//
// Nested values that are never filtered on (addresses, parts lists) are
// kept as JSON text so the schema stays flat and portable.

// Customer is a person or organisation that owns products.
type Customer struct {
	ID                 string    `gorm:"primaryKey;size:32"`
	DisplayName        string    `gorm:"size:200;not null"`
	Phone              string    `gorm:"size:20;not null;index:idx_customers_phone"`
	Email              string    `gorm:"size:254;not null;index:idx_customers_email"`
	Address            string    `gorm:"type:text;not null"`
	ContactPreferences string    `gorm:"size:200;not null"`
	ExternalID         *string   `gorm:"size:128;uniqueIndex:idx_customers_external_id"`
	CreateTime         time.Time `gorm:"not null;index:idx_customers_create,priority:1"`
	UpdateTime         time.Time `gorm:"not null"`
	Version            int64     `gorm:"not null"`
}

// Product is a sold unit owned by a customer.
type Product struct {
	ID              string     `gorm:"primaryKey;size:32;index:idx_products_update,priority:2;index:idx_products_model_update,priority:3"`
	CustomerID      string     `gorm:"size:32;not null;index:idx_products_customer_create,priority:1"`
	Model           string     `gorm:"size:100;not null;index:idx_products_model;index:idx_products_model_update,priority:1"`
	SerialNumber    string     `gorm:"size:64;not null;uniqueIndex:idx_products_serial"`
	PurchaseTime    *time.Time ``
	WarrantyEndTime *time.Time ``
	Retailer        string     `gorm:"size:200;not null"`
	InstallAddress  string     `gorm:"type:text;not null"`
	ManufactureTime *time.Time ``
	// Region is derived: the install address's region, else the owner's.
	Region string `gorm:"size:100;not null"`
	// UsageReading is the unit's usage meter, never lowered;
	// UsageReadTime when it last changed.
	UsageReading  int64      `gorm:"not null;default:0"`
	UsageReadTime *time.Time ``
	CreateTime    time.Time  `gorm:"not null;index:idx_products_customer_create,priority:2;index:idx_products_create,priority:1"`
	UpdateTime    time.Time  `gorm:"not null;index:idx_products_update,priority:1;index:idx_products_model_update,priority:2"`
	Version       int64      `gorm:"not null"`
}

// Partner is a repair shop.
type Partner struct {
	ID          string    `gorm:"primaryKey;size:32"`
	DisplayName string    `gorm:"size:200;not null"`
	Region      string    `gorm:"size:100;not null;index:idx_partners_region"`
	ContactName string    `gorm:"size:200;not null"`
	Phone       string    `gorm:"size:20;not null"`
	Email       string    `gorm:"size:254;not null"`
	Address     string    `gorm:"type:text;not null"`
	Active      bool      `gorm:"not null"`
	CreateTime  time.Time `gorm:"not null;index:idx_partners_create,priority:1"`
	UpdateTime  time.Time `gorm:"not null"`
	Version     int64     `gorm:"not null"`
}

// Staff is a person who serves customers or manages those who do.
type Staff struct {
	ID          string `gorm:"primaryKey;size:32"`
	DisplayName string `gorm:"size:200;not null"`
	Role        int32  `gorm:"not null;index:idx_staff_role"`
	Team        string `gorm:"size:100;not null;index:idx_staff_team"`
	ManagerID   string `gorm:"size:32;not null;index:idx_staff_manager"`
	PartnerID   string `gorm:"size:32;not null;index:idx_staff_partner"`
	Skills      string `gorm:"type:text;not null"`
	Email       string `gorm:"size:254;not null"`
	Active      bool   `gorm:"not null"`
	// QualificationState is the staff member's Qualification.State, kept
	// up to date by the training service so that dispatchers can filter
	// on it; QualificationExpireTime is when it lapses by itself.
	QualificationState      int32      `gorm:"not null;index:idx_staff_qualification,priority:1"`
	QualificationExpireTime *time.Time `gorm:"index:idx_staff_qualification_expire"`
	CreateTime              time.Time  `gorm:"not null;index:idx_staff_create,priority:1;index:idx_staff_qualification,priority:2"`
	UpdateTime              time.Time  `gorm:"not null"`
	Version                 int64      `gorm:"not null"`
}

// SlaPolicy holds the targets for one ticket priority.
type SlaPolicy struct {
	ID                    string    `gorm:"primaryKey;size:32"`
	DisplayName           string    `gorm:"size:200;not null"`
	Priority              int32     `gorm:"not null;uniqueIndex:idx_sla_policies_priority"`
	ResponseTargetSeconds int64     `gorm:"not null"`
	ResolveTargetSeconds  int64     `gorm:"not null"`
	PauseClock            bool      `gorm:"not null"`
	CreateTime            time.Time `gorm:"not null;index:idx_sla_policies_create,priority:1"`
	UpdateTime            time.Time `gorm:"not null"`
	Version               int64     `gorm:"not null"`
}

// Ticket is a service request and its work order. The fee quote,
// resolution and SLA clock are flattened into columns: they are read with
// every ticket and some are filtered on.
type Ticket struct {
	ID             string `gorm:"primaryKey;size:32;index:idx_tickets_update,priority:2;index:idx_tickets_state_resolve,priority:3;index:idx_tickets_assignee_resolve,priority:4"`
	CustomerID     string `gorm:"size:32;not null;index:idx_tickets_customer,priority:1"`
	ProductID      string `gorm:"size:32;not null;index:idx_tickets_product"`
	Type           int32  `gorm:"not null"`
	Channel        int32  `gorm:"not null"`
	Priority       int32  `gorm:"not null"`
	Title          string `gorm:"size:200;not null"`
	Description    string `gorm:"type:text;not null"`
	State          int32  `gorm:"not null;index:idx_tickets_state_assignee,priority:1;index:idx_tickets_state,priority:1;index:idx_tickets_response_due,priority:3;index:idx_tickets_resolve_due,priority:2;index:idx_tickets_state_resolve,priority:1;index:idx_tickets_assignee_resolve,priority:2"`
	FirstContactID string `gorm:"size:32;not null;index:idx_tickets_first_contact"`
	AssigneeID     string `gorm:"size:32;not null;index:idx_tickets_state_assignee,priority:2;index:idx_tickets_assignee,priority:1;index:idx_tickets_assignee_resolve,priority:1"`
	PartnerID      string `gorm:"size:32;not null;index:idx_tickets_partner,priority:1"`
	WarrantyStatus int32  `gorm:"not null"`

	FeeCurrency     string     `gorm:"size:3;not null"`
	FeeLaborMinor   int64      `gorm:"not null"`
	FeePartsMinor   int64      `gorm:"not null"`
	FeeDescription  string     `gorm:"type:text;not null"`
	FeeApproval     int32      `gorm:"not null"`
	FeeDecideTime   *time.Time ``
	FaultCategory   string     `gorm:"size:40;not null"`
	FaultCode       string     `gorm:"size:40;not null"`
	Resolution      string     `gorm:"type:text;not null"`
	PartsUsed       string     `gorm:"type:text;not null"`
	LaborSeconds    int64      `gorm:"not null"`
	ChargedCurrency string     `gorm:"size:3;not null"`
	ChargedMinor    int64      `gorm:"not null"`

	SlaPolicyID       string     `gorm:"size:32;not null"`
	ResponseDue       time.Time  `gorm:"not null;index:idx_tickets_response_due,priority:4"`
	ResolveDue        time.Time  `gorm:"not null;index:idx_tickets_resolve_due,priority:3;index:idx_tickets_state_resolve,priority:2;index:idx_tickets_assignee_resolve,priority:3"`
	FirstResponseTime *time.Time `gorm:"index:idx_tickets_response_due,priority:2"`
	ResponseBreached  bool       `gorm:"not null;index:idx_tickets_response_due,priority:1"`
	ResolveBreached   bool       `gorm:"not null;index:idx_tickets_resolve_due,priority:1"`
	PausedSeconds     int64      `gorm:"not null"`
	PausedAt          *time.Time ``
	PauseClock        bool       `gorm:"not null"`
	PauseReason       string     `gorm:"type:text;not null"`
	EscalationLevel   int32      `gorm:"not null"`

	// CampaignID and MaintenancePlanID say what opened the ticket; ""
	// for tickets opened by a person.
	CampaignID        string `gorm:"size:32;not null;index:idx_tickets_campaign,priority:1"`
	MaintenancePlanID string `gorm:"size:32;not null"`

	CreateTime  time.Time  `gorm:"not null;index:idx_tickets_state_assignee,priority:3;index:idx_tickets_state,priority:2;index:idx_tickets_assignee,priority:2;index:idx_tickets_partner,priority:2;index:idx_tickets_customer,priority:2;index:idx_tickets_create,priority:1;index:idx_tickets_campaign,priority:2"`
	UpdateTime  time.Time  `gorm:"not null;index:idx_tickets_update,priority:1"`
	ResolveTime *time.Time ``
	CloseTime   *time.Time ``
	Version     int64      `gorm:"not null"`
}

// TicketEvent is one timeline entry. Rows are only ever inserted.
type TicketEvent struct {
	ID         string    `gorm:"primaryKey;size:32"`
	TicketID   string    `gorm:"size:32;not null;index:idx_ticket_events_ticket,priority:1"`
	Type       int32     `gorm:"not null"`
	Actor      string    `gorm:"size:80;not null"`
	FromState  int32     `gorm:"not null"`
	ToState    int32     `gorm:"not null"`
	Message    string    `gorm:"type:text;not null"`
	Internal   bool      `gorm:"not null"`
	Details    string    `gorm:"type:text;not null"`
	Notify     string    `gorm:"type:text;not null"`
	CreateTime time.Time `gorm:"not null;index:idx_ticket_events_ticket,priority:2"`
}

// Key returns the row's keyset position (create_time, id), which every
// list orders by.
func (m *Customer) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Product) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Partner) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Staff) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *SlaPolicy) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *Ticket) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *TicketEvent) Key() (time.Time, string) { return m.CreateTime, m.ID }

// TableName implements GORM's tabler; names are fixed here rather than
// left to GORM's pluralisation so the migrations are the single truth.
func (Customer) TableName() string { return "customers" }

// TableName implements GORM's tabler.
func (Product) TableName() string { return "products" }

// TableName implements GORM's tabler.
func (Partner) TableName() string { return "partners" }

// TableName implements GORM's tabler.
func (Staff) TableName() string { return "staff" }

// TableName implements GORM's tabler.
func (SlaPolicy) TableName() string { return "sla_policies" }

// TableName implements GORM's tabler.
func (Ticket) TableName() string { return "tickets" }

// TableName implements GORM's tabler.
func (TicketEvent) TableName() string { return "ticket_events" }

// ResourceModels lists every resource model, for schema checks.
func ResourceModels() []any {
	return []any{&Customer{}, &Product{}, &Partner{}, &Staff{}, &SlaPolicy{}, &Ticket{}, &TicketEvent{}, &ApiKey{}, &AuditRecord{},
		&Complaint{}, &ComplaintEvent{}, &AccountabilityRecord{}, &FollowUp{},
		&Course{}, &Enrollment{}, &Assessment{}, &QualificationChange{},
		&ReportFact{}, &ReportRollup{}, &ReportFault{}, &ReportWatermark{},
		&Event{}, &EventCursor{}, &Webhook{}, &WebhookDelivery{},
		&Campaign{}, &CampaignTarget{},
		&MaintenancePlan{}, &MaintenanceSchedule{}, &MaintenanceVisit{},
		&FeeSchedule{}, &FeeLine{}, &FeeCategory{}, &TicketQuote{}, &ChargeLine{}, &WarrantyClaim{}, &Settlement{}}
}

// ApiKey is an API key's record. Only a hash of the secret is kept, so a
// copy of the database holds no usable key.
type ApiKey struct {
	ID          string     `gorm:"primaryKey;size:32"`
	DisplayName string     `gorm:"size:200;not null"`
	SecretHash  []byte     `gorm:"not null"`
	KeyPrefix   string     `gorm:"size:32;not null"`
	StaffID     string     `gorm:"size:32;not null;index:idx_api_keys_staff"`
	PartnerID   string     `gorm:"size:32;not null;index:idx_api_keys_partner"`
	ServiceRole int32      `gorm:"not null"`
	CanDelegate bool       `gorm:"not null"`
	ExpireTime  *time.Time ``
	RevokeTime  *time.Time ``
	CreateTime  time.Time  `gorm:"not null;index:idx_api_keys_create,priority:1"`
}

// TableName implements GORM's tabler.
func (ApiKey) TableName() string { return "api_keys" }

// Key returns the row's keyset position.
func (m *ApiKey) Key() (time.Time, string) { return m.CreateTime, m.ID }

// AuditRecord is one entry of the append-only audit trail.
type AuditRecord struct {
	ID         string    `gorm:"primaryKey;size:32"`
	Principal  string    `gorm:"size:80;not null;index:idx_audit_records_principal,priority:1"`
	Via        string    `gorm:"size:80;not null"`
	Method     string    `gorm:"size:128;not null"`
	Resource   string    `gorm:"size:160;not null;index:idx_audit_records_resource,priority:1"`
	Changes    string    `gorm:"type:text;not null"`
	CreateTime time.Time `gorm:"not null;index:idx_audit_records_principal,priority:2;index:idx_audit_records_resource,priority:2;index:idx_audit_records_create,priority:1"`
	// State is a creation's new resource, a marshaled Any; Changes is
	// empty then. NULL for other changes.
	State []byte
}

// TableName implements GORM's tabler.
func (AuditRecord) TableName() string { return "audit_records" }

// Key returns the row's keyset position.
func (m *AuditRecord) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now: the update time, and a new version (so
// the etag changes).
func (m *Customer) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// Touch records a change at now.
func (m *Product) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// Touch records a change at now.
func (m *Partner) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// Touch records a change at now.
func (m *Staff) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// Touch records a change at now.
func (m *SlaPolicy) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version, which its etag derives from.
func (m *Customer) CurrentVersion() int64 { return m.Version }

// CurrentVersion returns the row's version.
func (m *Product) CurrentVersion() int64 { return m.Version }

// CurrentVersion returns the row's version.
func (m *Partner) CurrentVersion() int64 { return m.Version }

// CurrentVersion returns the row's version.
func (m *Staff) CurrentVersion() int64 { return m.Version }

// CurrentVersion returns the row's version.
func (m *SlaPolicy) CurrentVersion() int64 { return m.Version }
