package store

import "time"

// Campaign is a proactive service campaign (recall, notice, firmware
// update, inspection). Target is the JSON text of its TargetCriteria;
// CursorID is the id of the last product its launch reached.
type Campaign struct {
	ID           string     `gorm:"primaryKey;size:32"`
	DisplayName  string     `gorm:"size:200;not null"`
	Description  string     `gorm:"type:text;not null"`
	Type         int32      `gorm:"not null"`
	State        int32      `gorm:"not null;index:idx_campaigns_state,priority:1"`
	Target       string     `gorm:"type:text;not null"`
	FreeOfCharge bool       `gorm:"not null"`
	NoticeOnly   bool       `gorm:"not null"`
	OwnerID      string     `gorm:"size:32;not null;index:idx_campaigns_owner,priority:1"`
	Priority     int32      `gorm:"not null"`
	CursorID     string     `gorm:"size:32;not null"`
	CancelReason string     `gorm:"type:text;not null"`
	CreateTime   time.Time  `gorm:"not null;index:idx_campaigns_create,priority:1;index:idx_campaigns_state,priority:2;index:idx_campaigns_owner,priority:2"`
	UpdateTime   time.Time  `gorm:"not null"`
	LaunchTime   *time.Time ``
	LaunchedTime *time.Time ``
	EndTime      *time.Time ``
	Version      int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (Campaign) TableName() string { return "campaigns" }

// Key returns the row's keyset position.
func (m *Campaign) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *Campaign) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *Campaign) CurrentVersion() int64 { return m.Version }

// CampaignTarget is one product a campaign reached. (CampaignID,
// ProductID) is unique: a product is reached at most once per campaign.
type CampaignTarget struct {
	ID           string     `gorm:"primaryKey;size:32"`
	CampaignID   string     `gorm:"size:32;not null;uniqueIndex:uq_campaign_targets_product,priority:1;index:idx_campaign_targets_campaign,priority:1;index:idx_campaign_targets_state,priority:1;index:idx_campaign_targets_customer,priority:2"`
	ProductID    string     `gorm:"size:32;not null;uniqueIndex:uq_campaign_targets_product,priority:2"`
	CustomerID   string     `gorm:"size:32;not null;index:idx_campaign_targets_customer,priority:1"`
	Model        string     `gorm:"size:100;not null"`
	SerialNumber string     `gorm:"size:64;not null"`
	TicketID     string     `gorm:"size:32;not null;index:idx_campaign_targets_ticket"`
	State        int32      `gorm:"not null;index:idx_campaign_targets_state,priority:2"`
	Note         string     `gorm:"type:text;not null"`
	CreateTime   time.Time  `gorm:"not null;index:idx_campaign_targets_campaign,priority:2;index:idx_campaign_targets_state,priority:3"`
	UpdateTime   time.Time  `gorm:"not null"`
	EndTime      *time.Time ``
	Version      int64      `gorm:"not null"`
}

// TableName implements GORM's tabler.
func (CampaignTarget) TableName() string { return "campaign_targets" }

// Key returns the row's keyset position.
func (m *CampaignTarget) Key() (time.Time, string) { return m.CreateTime, m.ID }

// Touch records a change at now.
func (m *CampaignTarget) Touch(now time.Time) { m.UpdateTime, m.Version = now, m.Version+1 }

// CurrentVersion returns the row's version.
func (m *CampaignTarget) CurrentVersion() int64 { return m.Version }
