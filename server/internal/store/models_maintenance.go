package store

import "time"

// MaintenancePlan is a preventive maintenance schedule for one product
// model. ActiveModel is Model while the plan is active and nil otherwise:
// its unique index allows one active plan per model. SeedTime and SeedID
// are the maintenance loop's position in the model's products, in
// (update_time, id) order: every product before it has its schedule.
type MaintenancePlan struct {
	ID             string     `gorm:"primaryKey;size:32"`
	DisplayName    string     `gorm:"size:200;not null"`
	Description    string     `gorm:"type:text;not null"`
	Model          string     `gorm:"size:100;not null"`
	IntervalMonths int32      `gorm:"not null"`
	IntervalUsage  int64      `gorm:"not null;default:0"`
	UsageUnit      string     `gorm:"size:20;not null;default:''"`
	UsageLead      int64      `gorm:"not null;default:0"`
	LeadSeconds    int64      `gorm:"not null"`
	TicketType     int32      `gorm:"not null"`
	Priority       int32      `gorm:"not null"`
	ReminderOnly   bool       `gorm:"not null"`
	FreeOfCharge   bool       `gorm:"not null"`
	OwnerID        string     `gorm:"size:32;not null"`
	Active         bool       `gorm:"not null"`
	ActiveModel    *string    `gorm:"size:100;uniqueIndex:idx_maintenance_plans_active_model"`
	SeedTime       *time.Time ``
	SeedID         string     `gorm:"size:32;not null"`
	CreateTime     time.Time  `gorm:"not null;index:idx_maintenance_plans_create,priority:1"`
	UpdateTime     time.Time  `gorm:"not null"`
	Version        int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (MaintenancePlan) TableName() string { return "maintenance_plans" }

// Key returns the row's keyset position.
func (m *MaintenancePlan) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *MaintenancePlan) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *MaintenancePlan) CurrentVersion() int64 { return m.Version }

// MaintenanceSchedule is one product's next due date and, under a plan
// by usage, next due reading. Both are nil while a visit of it is open;
// a usage-only plan's row waiting for its reading has only NextDueUsage.
// The reading reaching it sets NextDueTime to then.
type MaintenanceSchedule struct {
	PlanID       string     `gorm:"primaryKey;size:32;index:idx_maintenance_schedule_due,priority:1"`
	ProductID    string     `gorm:"primaryKey;size:32;index:idx_maintenance_schedule_product"`
	NextDueTime  *time.Time `gorm:"index:idx_maintenance_schedule_due,priority:2"`
	NextDueUsage *int64     ``
}

// TableName implements GORM's tabler.
func (MaintenanceSchedule) TableName() string { return "maintenance_schedule" }

// MaintenanceVisit is one product's service for one due date. The unique
// index makes it exist at most once per plan, product and due date.
type MaintenanceVisit struct {
	ID           string     `gorm:"primaryKey;size:32"`
	PlanID       string     `gorm:"size:32;not null;uniqueIndex:idx_maintenance_visits_due,priority:1;index:idx_maintenance_visits_plan,priority:1"`
	ProductID    string     `gorm:"size:32;not null;uniqueIndex:idx_maintenance_visits_due,priority:2"`
	CustomerID   string     `gorm:"size:32;not null"`
	SerialNumber string     `gorm:"size:64;not null"`
	DueTime      time.Time  `gorm:"not null;uniqueIndex:idx_maintenance_visits_due,priority:3"`
	TicketID     string     `gorm:"size:32;not null;index:idx_maintenance_visits_ticket"`
	State        int32      `gorm:"not null"`
	NextDueTime  *time.Time ``
	DueUsage     int64      `gorm:"not null;default:0"`
	NextDueUsage *int64     ``
	CreateTime   time.Time  `gorm:"not null;index:idx_maintenance_visits_plan,priority:2"`
	EndTime      *time.Time ``
}

// TableName implements GORM's tabler.
func (MaintenanceVisit) TableName() string { return "maintenance_visits" }

// Key returns the row's keyset position.
func (m *MaintenanceVisit) Key() (time.Time, string) { return m.CreateTime, m.ID }
