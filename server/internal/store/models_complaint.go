package store

import "time"

// Complaint is a customer complaint and its handling (ISO 10002 shape).
// The resolution is flattened into columns like a ticket's.
type Complaint struct {
	ID                   string     `gorm:"primaryKey;size:32;index:idx_complaints_update,priority:2;index:idx_complaints_state_ack,priority:3;index:idx_complaints_state_resolve,priority:3"`
	CustomerID           string     `gorm:"size:32;not null;index:idx_complaints_customer,priority:1"`
	TicketID             string     `gorm:"size:32;not null;index:idx_complaints_ticket"`
	ProductID            string     `gorm:"size:32;not null;index:idx_complaints_product"`
	FollowUpID           string     `gorm:"size:32;not null"`
	Channel              int32      `gorm:"not null"`
	Category             int32      `gorm:"not null"`
	Severity             int32      `gorm:"not null"`
	Title                string     `gorm:"size:200;not null"`
	Description          string     `gorm:"type:text;not null"`
	DesiredRemedy        int32      `gorm:"not null"`
	State                int32      `gorm:"not null;index:idx_complaints_state,priority:1;index:idx_complaints_state_ack,priority:1;index:idx_complaints_state_resolve,priority:1"`
	ReceivedByID         string     `gorm:"size:32;not null"`
	HandlerID            string     `gorm:"size:32;not null;index:idx_complaints_handler,priority:1"`
	ResponsibleStaffID   string     `gorm:"size:32;not null;index:idx_complaints_responsible"`
	ResponsibleManagerID string     `gorm:"size:32;not null"`
	EscalationLevel      int32      `gorm:"not null"`
	EscalatedToID        string     `gorm:"size:32;not null;index:idx_complaints_escalated_to"`
	AcknowledgeDue       time.Time  `gorm:"not null;index:idx_complaints_state_ack,priority:2"`
	ResolveDue           time.Time  `gorm:"not null;index:idx_complaints_state_resolve,priority:2"`
	AcknowledgeOverdue   bool       `gorm:"not null"`
	ResolveOverdue       bool       `gorm:"not null"`
	NextCheckTime        *time.Time `gorm:"index:idx_complaints_next_check"`
	AcknowledgeTime      *time.Time ``
	Outcome              int32      `gorm:"not null"`
	GrantedRemedy        int32      `gorm:"not null"`
	ResolutionSummary    string     `gorm:"type:text;not null"`
	CompensationCurrency string     `gorm:"size:3;not null"`
	CompensationMinor    int64      `gorm:"not null"`
	ResolveTime          *time.Time ``
	ComplainantAccepted  bool       `gorm:"not null"`
	CloseTime            *time.Time ``
	CreateTime           time.Time  `gorm:"not null;index:idx_complaints_customer,priority:2;index:idx_complaints_state,priority:2;index:idx_complaints_handler,priority:2;index:idx_complaints_create,priority:1"`
	UpdateTime           time.Time  `gorm:"not null;index:idx_complaints_update,priority:1"`
	Version              int64      `gorm:"not null"`
}

// ComplaintEvent is one entry of a complaint's timeline. Rows are only
// ever inserted.
type ComplaintEvent struct {
	ID          string    `gorm:"primaryKey;size:32"`
	ComplaintID string    `gorm:"size:32;not null;index:idx_complaint_events_complaint,priority:1"`
	Type        int32     `gorm:"not null"`
	Actor       string    `gorm:"size:80;not null"`
	FromState   int32     `gorm:"not null"`
	ToState     int32     `gorm:"not null"`
	Message     string    `gorm:"type:text;not null"`
	Internal    bool      `gorm:"not null"`
	Details     string    `gorm:"type:text;not null"`
	Notify      string    `gorm:"type:text;not null"`
	CreateTime  time.Time `gorm:"not null;index:idx_complaint_events_complaint,priority:2"`
}

// AccountabilityRecord records that a staff member answers for an upheld
// complaint. Rows are only ever inserted.
type AccountabilityRecord struct {
	ID                 string    `gorm:"primaryKey;size:32"`
	StaffID            string    `gorm:"size:32;not null;index:idx_accountability_staff,priority:1"`
	Kind               int32     `gorm:"not null"`
	ComplaintID        string    `gorm:"size:32;not null;index:idx_accountability_complaint"`
	Category           int32     `gorm:"not null"`
	Severity           int32     `gorm:"not null"`
	ResponsibleStaffID string    `gorm:"size:32;not null"`
	Summary            string    `gorm:"type:text;not null"`
	CreateTime         time.Time `gorm:"not null;index:idx_accountability_staff,priority:2;index:idx_accountability_create,priority:1"`
}

// TableName implements GORM's tabler.
func (Complaint) TableName() string { return "complaints" }

// TableName implements GORM's tabler.
func (ComplaintEvent) TableName() string { return "complaint_events" }

// TableName implements GORM's tabler.
func (AccountabilityRecord) TableName() string { return "accountability_records" }

// Key returns the row's keyset position.
func (m *Complaint) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *ComplaintEvent) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *AccountabilityRecord) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *Complaint) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *Complaint) CurrentVersion() int64 { return m.Version }
