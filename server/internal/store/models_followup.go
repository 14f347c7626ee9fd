package store

import "time"

// FollowUp is a follow-up visit or survey of a ticket. Attempts are kept
// as JSON text: they are read with the follow-up and never filtered on.
type FollowUp struct {
	ID            string     `gorm:"primaryKey;size:32;index:idx_follow_ups_update,priority:2"`
	TicketID      string     `gorm:"size:32;not null;index:idx_follow_ups_ticket"`
	CustomerID    string     `gorm:"size:32;not null;index:idx_follow_ups_customer,priority:1"`
	Origin        int32      `gorm:"not null"`
	Method        int32      `gorm:"not null"`
	State         int32      `gorm:"not null;index:idx_follow_ups_state_due,priority:1;index:idx_follow_ups_state,priority:1;index:idx_follow_ups_state_assignee,priority:1"`
	AssigneeID    string     `gorm:"size:32;not null;index:idx_follow_ups_assignee,priority:1;index:idx_follow_ups_state_assignee,priority:2"`
	ScheduledTime time.Time  `gorm:"not null"`
	DueTime       time.Time  `gorm:"not null;index:idx_follow_ups_state_due,priority:2"`
	Note          string     `gorm:"type:text;not null"`
	Attempts      string     `gorm:"type:text;not null"`
	AttemptCount  int32      `gorm:"not null"`
	Satisfaction  int32      `gorm:"not null"`
	Nps           *int32     ``
	IssueResolved *bool      ``
	SurveyComment string     `gorm:"type:text;not null"`
	SubmitTime    *time.Time ``
	PerformedBy   string     `gorm:"size:80;not null"`
	ComplaintID   string     `gorm:"size:32;not null"`
	EndTime       *time.Time ``
	CreateTime    time.Time  `gorm:"not null;index:idx_follow_ups_customer,priority:2;index:idx_follow_ups_state,priority:2;index:idx_follow_ups_assignee,priority:2;index:idx_follow_ups_create,priority:1"`
	UpdateTime    time.Time  `gorm:"not null;index:idx_follow_ups_update,priority:1"`
	Version       int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (FollowUp) TableName() string { return "follow_ups" }

// Key returns the row's keyset position.
func (m *FollowUp) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *FollowUp) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *FollowUp) CurrentVersion() int64 { return m.Version }
