package store

import "time"

// Amounts are integer counts of the currency's minor unit (pkg/money),
// with the currency next to them: never floats.

// FeeSchedule is one version of the price list. Published schedules
// (State PUBLISHED, EffectiveTime set) never change; the one in effect at
// a time is the published one with the latest EffectiveTime not after it,
// found through idx_fee_schedules_effective.
type FeeSchedule struct {
	ID            string     `gorm:"primaryKey;size:32"`
	DisplayName   string     `gorm:"size:200;not null"`
	Currency      string     `gorm:"size:3;not null"`
	State         int32      `gorm:"not null;index:idx_fee_schedules_effective,priority:1"`
	EffectiveTime *time.Time `gorm:"index:idx_fee_schedules_effective,priority:2"`
	PublishTime   *time.Time ``
	CreateTime    time.Time  `gorm:"not null;index:idx_fee_schedules_create,priority:1"`
	UpdateTime    time.Time  `gorm:"not null"`
	Version       int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (FeeSchedule) TableName() string { return "fee_schedules" }

// Key returns the row's keyset position.
func (f *FeeSchedule) Key() (time.Time, string) { return f.CreateTime, f.ID }

// Touch records a change at now.
func (f *FeeSchedule) Touch(now time.Time) { f.UpdateTime, f.Version = now, f.Version+1 }

// CurrentVersion returns the row's version.
func (f *FeeSchedule) CurrentVersion() int64 { return f.Version }

// FeeLine is one price of a schedule; Code is unique in it (a part's code
// is its part number). Position keeps the order the lines were given in.
type FeeLine struct {
	ScheduleID      string `gorm:"primaryKey;size:32;index:idx_fee_lines_kind,priority:1"`
	Code            string `gorm:"primaryKey;size:64"`
	Position        int32  `gorm:"not null"`
	Kind            int32  `gorm:"not null;index:idx_fee_lines_kind,priority:2"`
	Description     string `gorm:"size:200;not null"`
	UnitPriceMinor  int64  `gorm:"not null"`
	TicketType      int32  `gorm:"not null"`
	ProductCategory string `gorm:"size:40;not null"`
	Region          string `gorm:"size:100;not null"`
}

// TableName implements GORM's tabler.
func (FeeLine) TableName() string { return "fee_lines" }

// FeeCategory puts a product model in a category of a schedule; the key
// makes a model belong to one category at most.
type FeeCategory struct {
	ScheduleID string `gorm:"primaryKey;size:32"`
	Model      string `gorm:"primaryKey;size:100"`
	Category   string `gorm:"size:40;not null"`
	Position   int32  `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (FeeCategory) TableName() string { return "fee_categories" }

// TicketQuote is a ticket's current quote revision (aftersales.v1.Quote);
// earlier revisions live on in the ticket's timeline. ApprovalReasons is
// newline-separated. The customer's decision applies to Revision only.
type TicketQuote struct {
	TicketID        string     `gorm:"primaryKey;size:32"`
	Revision        int32      `gorm:"not null"`
	State           int32      `gorm:"not null"`
	ScheduleID      string     `gorm:"size:32;not null"`
	Currency        string     `gorm:"size:3;not null"`
	SubtotalMinor   int64      `gorm:"not null"`
	DiscountMinor   int64      `gorm:"not null"`
	TotalMinor      int64      `gorm:"not null"`
	Note            string     `gorm:"type:text;not null"`
	QuotedBy        string     `gorm:"size:100;not null"`
	ApprovalReasons string     `gorm:"type:text;not null"`
	ApprovedBy      string     `gorm:"size:100;not null"`
	QuoteTime       time.Time  `gorm:"not null"`
	DecideTime      *time.Time ``
}

// TableName implements GORM's tabler.
func (TicketQuote) TableName() string { return "ticket_quotes" }

// ChargeLine is one line of a quote (OwnerID a ticket id) or of a
// warranty claim (OwnerID a claim id): the two never share ids.
type ChargeLine struct {
	OwnerID        string `gorm:"primaryKey;size:32"`
	Position       int32  `gorm:"primaryKey"`
	Code           string `gorm:"size:64;not null"`
	Kind           int32  `gorm:"not null"`
	Description    string `gorm:"size:200;not null"`
	Quantity       int64  `gorm:"not null"`
	UnitPriceMinor int64  `gorm:"not null"`
	AmountMinor    int64  `gorm:"not null"`
	DiscountMinor  int64  `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (ChargeLine) TableName() string { return "charge_lines" }

// WarrantyClaim is the cost of one ticket's warranty work: a partner
// shop's claim (PartnerID set), or the same pricing of company
// technicians' work (PartnerID "", created APPROVED, never settled), so
// that cost figures read one table. TicketID is unique: one claim per
// ticket, re-priced when the ticket is resolved again. ApprovedMinor is
// what the company pays once approved. SettlementMonth ("YYYY-MM") is set
// when an issued statement paid it.
type WarrantyClaim struct {
	ID              string     `gorm:"primaryKey;size:32;index:idx_warranty_claims_partner_create,priority:3"`
	PartnerID       string     `gorm:"size:32;not null;index:idx_warranty_claims_partner_create,priority:1;index:idx_warranty_claims_payable,priority:1;index:idx_warranty_claims_settlement,priority:1"`
	TicketID        string     `gorm:"size:32;not null;uniqueIndex:idx_warranty_claims_ticket"`
	State           int32      `gorm:"not null;index:idx_warranty_claims_payable,priority:2"`
	TicketType      int32      `gorm:"not null"`
	ProductModel    string     `gorm:"size:100;not null"`
	FaultCategory   string     `gorm:"size:40;not null"`
	FaultCode       string     `gorm:"size:40;not null"`
	ScheduleID      string     `gorm:"size:32;not null"`
	Currency        string     `gorm:"size:3;not null"`
	ClaimedMinor    int64      `gorm:"not null"`
	ApprovedMinor   int64      `gorm:"not null"`
	ReviewReason    string     `gorm:"type:text;not null"`
	ReviewerID      string     `gorm:"size:32;not null"`
	ResolveTime     time.Time  `gorm:"not null;index:idx_warranty_claims_resolve,priority:1"`
	ReviewTime      *time.Time ``
	PayableTime     *time.Time `gorm:"index:idx_warranty_claims_payable,priority:3"`
	SettlementMonth string     `gorm:"size:7;not null;index:idx_warranty_claims_settlement,priority:2"`
	CreateTime      time.Time  `gorm:"not null;index:idx_warranty_claims_partner_create,priority:2"`
	UpdateTime      time.Time  `gorm:"not null"`
	Version         int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (WarrantyClaim) TableName() string { return "warranty_claims" }

// Key returns the row's keyset position.
func (c *WarrantyClaim) Key() (time.Time, string) { return c.CreateTime, c.ID }

// Touch records a change at now.
func (c *WarrantyClaim) Touch(now time.Time) { c.UpdateTime, c.Version = now, c.Version+1 }

// CurrentVersion returns the row's version.
func (c *WarrantyClaim) CurrentVersion() int64 { return c.Version }

// Settlement is an issued settlement statement: a partner's month, closed.
// The claims it paid carry its month; Totals is "CUR:minor" per currency,
// space-separated, as issued.
type Settlement struct {
	PartnerID  string    `gorm:"primaryKey;size:32"`
	Month      string    `gorm:"primaryKey;size:7"`
	ClaimCount int64     `gorm:"not null"`
	Totals     string    `gorm:"type:text;not null"`
	IssueTime  time.Time `gorm:"not null"`
	IssuedBy   string    `gorm:"size:100;not null"`
}

// TableName implements GORM's tabler.
func (Settlement) TableName() string { return "settlements" }
