package store

import "time"

// The report tables (see server/internal/service/report_rollup.go): the
// rollup loop keeps them in step with tickets, complaints and follow-ups.

// ReportFact is what the rollups last counted for one source row (Kind
// "ticket", "follow_up" or "complaint"): the inputs of its contributions,
// as JSON. Replacing a fact subtracts the old contributions and adds the
// new ones, which makes late changes exact and re-processing idempotent.
type ReportFact struct {
	Kind string `gorm:"primaryKey;size:16"`
	ID   string `gorm:"primaryKey;size:32"`
	Data string `gorm:"type:text;not null"`
}

// ReportRollup holds the counters of one UTC day (days since 1970-01-01)
// for one group value of one grouping, within one scope: "" for
// everything, or a partner id for that shop's share. The counters are
// summed over a window; their columns are listed in the service's
// rollupColumns in this order.
type ReportRollup struct {
	Scope                      string `gorm:"primaryKey;size:32"`
	GroupKind                  int32  `gorm:"primaryKey;autoIncrement:false"`
	Day                        int32  `gorm:"primaryKey;autoIncrement:false"`
	GroupValue                 string `gorm:"primaryKey;size:100"`
	TicketsOpened              int64  `gorm:"not null;default:0"`
	TicketsResolved            int64  `gorm:"not null;default:0"`
	ResponseCount              int64  `gorm:"not null;default:0"`
	ResponseSeconds            int64  `gorm:"not null;default:0"`
	ResolutionSeconds          int64  `gorm:"not null;default:0"`
	SlaMet                     int64  `gorm:"not null;default:0"`
	FirstContactResolved       int64  `gorm:"not null;default:0"`
	FirstResolved              int64  `gorm:"not null;default:0"`
	Reopened                   int64  `gorm:"not null;default:0"`
	Surveys                    int64  `gorm:"not null;default:0"`
	SatisfactionSum            int64  `gorm:"not null;default:0"`
	Satisfied                  int64  `gorm:"not null;default:0"`
	NpsAnswers                 int64  `gorm:"not null;default:0"`
	Promoters                  int64  `gorm:"not null;default:0"`
	Detractors                 int64  `gorm:"not null;default:0"`
	Complaints                 int64  `gorm:"not null;default:0"`
	AckDecided                 int64  `gorm:"not null;default:0"`
	AckOnTime                  int64  `gorm:"not null;default:0"`
	ComplaintResolutionDecided int64  `gorm:"not null;default:0"`
	ComplaintResolvedOnTime    int64  `gorm:"not null;default:0"`
	FollowUpsEnded             int64  `gorm:"not null;default:0"`
	FollowUpsCompleted         int64  `gorm:"not null;default:0"`
	CampaignTicketsOpened      int64  `gorm:"not null;default:0"`
	CampaignTicketsResolved    int64  `gorm:"not null;default:0"`
	ResponseB00                int64  `gorm:"not null;default:0"`
	ResponseB01                int64  `gorm:"not null;default:0"`
	ResponseB02                int64  `gorm:"not null;default:0"`
	ResponseB03                int64  `gorm:"not null;default:0"`
	ResponseB04                int64  `gorm:"not null;default:0"`
	ResponseB05                int64  `gorm:"not null;default:0"`
	ResponseB06                int64  `gorm:"not null;default:0"`
	ResponseB07                int64  `gorm:"not null;default:0"`
	ResponseB08                int64  `gorm:"not null;default:0"`
	ResponseB09                int64  `gorm:"not null;default:0"`
	ResponseB10                int64  `gorm:"not null;default:0"`
	ResponseB11                int64  `gorm:"not null;default:0"`
	ResponseB12                int64  `gorm:"not null;default:0"`
	ResponseB13                int64  `gorm:"not null;default:0"`
	ResolutionB00              int64  `gorm:"not null;default:0"`
	ResolutionB01              int64  `gorm:"not null;default:0"`
	ResolutionB02              int64  `gorm:"not null;default:0"`
	ResolutionB03              int64  `gorm:"not null;default:0"`
	ResolutionB04              int64  `gorm:"not null;default:0"`
	ResolutionB05              int64  `gorm:"not null;default:0"`
	ResolutionB06              int64  `gorm:"not null;default:0"`
	ResolutionB07              int64  `gorm:"not null;default:0"`
	ResolutionB08              int64  `gorm:"not null;default:0"`
	ResolutionB09              int64  `gorm:"not null;default:0"`
	ResolutionB10              int64  `gorm:"not null;default:0"`
	ResolutionB11              int64  `gorm:"not null;default:0"`
	ResolutionB12              int64  `gorm:"not null;default:0"`
	ResolutionB13              int64  `gorm:"not null;default:0"`
}

// ReportFault is one resolved fault (a ticket now RESOLVED or CLOSED with
// a fault code), with the unit it affected, on the UTC day of its
// resolution.
type ReportFault struct {
	TicketID      string `gorm:"primaryKey;size:32"`
	PartnerID     string `gorm:"size:32;not null;index:idx_report_faults_partner_day,priority:1"`
	Day           int32  `gorm:"not null;index:idx_report_faults_day,priority:1;index:idx_report_faults_partner_day,priority:2"`
	ProductModel  string `gorm:"size:100;not null;index:idx_report_faults_day,priority:2"`
	FaultCategory string `gorm:"size:40;not null"`
	FaultCode     string `gorm:"size:40;not null"`
	SerialNumber  string `gorm:"size:64;not null"`
	PurchaseMonth string `gorm:"size:7;not null"`
}

// ReportWatermark is how far the rollup loop has read one source table,
// in its (update_time, id) order.
type ReportWatermark struct {
	Source     string    `gorm:"primaryKey;size:32"`
	UpdateTime time.Time `gorm:"not null"`
	LastID     string    `gorm:"size:32;not null"`
}

// TableName implements GORM's tabler.
func (ReportFact) TableName() string { return "report_facts" }

// TableName implements GORM's tabler.
func (ReportRollup) TableName() string { return "report_rollups" }

// TableName implements GORM's tabler.
func (ReportFault) TableName() string { return "report_faults" }

// TableName implements GORM's tabler.
func (ReportWatermark) TableName() string { return "report_watermarks" }
