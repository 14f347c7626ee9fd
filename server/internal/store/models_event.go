package store

import "time"

// Event is one change in the outbox: written in the transaction of the
// change it records, and given its feed position (Seq) by the sequencer
// once committed (see SequenceEvents). The scope columns copy who may see
// it from the resource at the time of the change.
type Event struct {
	ID             int64     `gorm:"primaryKey;autoIncrement"`
	Seq            *int64    `gorm:"uniqueIndex:uq_events_seq"`
	Type           string    `gorm:"size:64;not null"`
	Resource       string    `gorm:"size:200;not null"`
	ResourceType   string    `gorm:"size:32;not null"`
	CustomerID     string    `gorm:"size:32;not null;index:idx_events_customer"`
	PartnerID      string    `gorm:"size:32;not null;index:idx_events_partner"`
	AssigneeID     string    `gorm:"size:32;not null"`
	FirstContactID string    `gorm:"size:32;not null"`
	Internal       bool      `gorm:"not null"`
	Principal      string    `gorm:"size:80;not null"`
	Data           []byte    `gorm:"not null"`
	CreateTime     time.Time `gorm:"not null"`
}

// EventCursor is a named position in the feed.
type EventCursor struct {
	Name     string `gorm:"primaryKey;size:32"`
	Position int64  `gorm:"not null"`
}

// Webhook is a webhook subscription and its delivery position.
type Webhook struct {
	ID              string     `gorm:"primaryKey;size:32;index:idx_webhooks_create,priority:2;index:idx_webhooks_partner,priority:3"`
	DisplayName     string     `gorm:"size:200;not null"`
	URL             string     `gorm:"column:url;size:2048;not null"`
	EventTypes      string     `gorm:"size:2000;not null"`
	Secret          string     `gorm:"size:100;not null"`
	PartnerID       string     `gorm:"size:32;not null;index:idx_webhooks_partner,priority:1"`
	Enabled         bool       `gorm:"not null"`
	DisabledReason  string     `gorm:"size:500;not null"`
	DeliveredSeq    int64      `gorm:"not null"`
	Attempts        int32      `gorm:"not null"`
	FailingSince    *time.Time ``
	NextAttemptTime *time.Time ``
	CreateTime      time.Time  `gorm:"not null;index:idx_webhooks_create,priority:1;index:idx_webhooks_partner,priority:2"`
	UpdateTime      time.Time  `gorm:"not null"`
	Version         int64      `gorm:"not null"`
}

// WebhookDelivery is one attempt to deliver an event to a webhook.
type WebhookDelivery struct {
	ID         string    `gorm:"primaryKey;size:32;index:idx_webhook_deliveries_webhook,priority:3"`
	WebhookID  string    `gorm:"size:32;not null;index:idx_webhook_deliveries_webhook,priority:1"`
	EventSeq   int64     `gorm:"not null"`
	EventType  string    `gorm:"size:64;not null"`
	Attempt    int32     `gorm:"not null"`
	StatusCode int32     `gorm:"not null"`
	Success    bool      `gorm:"not null"`
	Error      string    `gorm:"size:500;not null"`
	LatencyUs  int64     `gorm:"not null"`
	Redelivery bool      `gorm:"not null"`
	CreateTime time.Time `gorm:"not null;index:idx_webhook_deliveries_webhook,priority:2"`
}

// TableName implements GORM's tabler.
func (Event) TableName() string { return "events" }

// TableName implements GORM's tabler.
func (EventCursor) TableName() string { return "event_cursors" }

// TableName implements GORM's tabler.
func (Webhook) TableName() string { return "webhooks" }

// TableName implements GORM's tabler.
func (WebhookDelivery) TableName() string { return "webhook_deliveries" }

// Key returns the row's keyset position.
func (m *Webhook) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Key returns the row's keyset position.
func (m *WebhookDelivery) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *Webhook) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the version the etag derives from.
func (m *Webhook) CurrentVersion() int64 { return m.Version }
