package service

import (
	"time"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/complaintflow"
	"github.com/aftersales/aftersales/server/internal/followupflow"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/ticketflow"
)

// This file holds the metric definitions of report.proto as code: how a
// ticket, follow-up or complaint turns into a fact (the inputs of its
// contributions) and how a fact turns into counter contributions on
// days. report_rollup.go keeps the rollups equal to the sum of the
// contributions of the current facts.

// The counters of a rollup row, by index; rollupColumns names their
// columns in store.ReportRollup.
const (
	cOpened = iota
	cResolved
	cResponseCount
	cResponseSeconds
	cResolutionSeconds
	cSLAMet
	cFirstContactResolved
	cFirstResolved
	cReopened
	cSurveys
	cSatisfactionSum
	cSatisfied
	cNPSAnswers
	cPromoters
	cDetractors
	cComplaints
	cAckDecided
	cAckOnTime
	cComplaintResolutionDecided
	cComplaintResolvedOnTime
	cFollowUpsEnded
	cFollowUpsCompleted
	cCampaignOpened
	cCampaignResolved
	cResponseBuckets
	cResolutionBuckets = cResponseBuckets + numBuckets
	numCounters        = cResolutionBuckets + numBuckets
)

// bucketEdges are the upper edges of the duration histogram buckets
// (report.proto DurationStats); a last, open bucket follows.
var bucketEdges = []time.Duration{
	15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour,
	24 * time.Hour, 48 * time.Hour, 72 * time.Hour, 120 * time.Hour, 168 * time.Hour, 336 * time.Hour, 720 * time.Hour,
}

const numBuckets = 14

// bucketOf returns the histogram bucket of a duration in seconds.
func bucketOf(secs int64) int {
	for i, e := range bucketEdges {
		if secs <= int64(e/time.Second) {
			return i
		}
	}
	return len(bucketEdges)
}

// counters are the values of one rollup row.
type counters [numCounters]int64

func (c *counters) add(o *counters, sign int64) {
	for i := range c {
		c[i] += sign * o[i]
	}
}

func (c *counters) zero() bool { return *c == counters{} }

// dims are what a contribution is attributed to (report.proto
// MetricsRow): ids and names as the rollups store them.
type dims struct {
	Staff   string `json:"s,omitempty"`
	Partner string `json:"p,omitempty"`
	Model   string `json:"m,omitempty"`
	Channel string `json:"c,omitempty"`
	Type    string `json:"t,omitempty"`
}

// contribution adds counters to the rollups of one day and dims.
type contribution struct {
	day  int32
	dims dims
	c    counters
}

// dayOf is the UTC day of t, in days since 1970-01-01.
func dayOf(t time.Time) int32 { return int32(t.UTC().Unix() / 86400) }

// dayStart is the UTC midnight starting day d.
func dayStart(d int32) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// span is an event on a day that took Secs seconds.
type span struct {
	Day  int32 `json:"d"`
	Secs int64 `json:"s"`
}

// ticketFact is what a ticket contributes.
type ticketFact struct {
	D        dims   `json:"d"`
	Opened   int32  `json:"o"`
	Response *span  `json:"r,omitempty"`
	Resolved *span  `json:"v,omitempty"`
	SLAMet   bool   `json:"sla,omitempty"`
	FCR      bool   `json:"fcr,omitempty"`
	First    *int32 `json:"f,omitempty"`
	Reopened bool   `json:"x,omitempty"`
	// Campaign marks a ticket a campaign opened: it counts only in the
	// campaign counters (report.proto MetricsRow 16-17), so that a recall
	// of thousands of units does not distort the ticket figures and the
	// complaint ratio's denominator.
	Campaign bool `json:"cp,omitempty"`
}

func (f *ticketFact) contributions() []contribution {
	out := []contribution{{day: f.Opened, dims: f.D}}
	if f.Campaign {
		out[0].c[cCampaignOpened] = 1
		if r := f.Resolved; r != nil {
			c := contribution{day: r.Day, dims: f.D}
			c.c[cCampaignResolved] = 1
			out = append(out, c)
		}
		return out
	}
	out[0].c[cOpened] = 1
	if r := f.Response; r != nil {
		c := contribution{day: r.Day, dims: f.D}
		c.c[cResponseCount], c.c[cResponseSeconds] = 1, r.Secs
		c.c[cResponseBuckets+bucketOf(r.Secs)] = 1
		out = append(out, c)
	}
	if r := f.Resolved; r != nil {
		c := contribution{day: r.Day, dims: f.D}
		c.c[cResolved], c.c[cResolutionSeconds] = 1, r.Secs
		c.c[cResolutionBuckets+bucketOf(r.Secs)] = 1
		c.c[cSLAMet], c.c[cFirstContactResolved] = b2i(f.SLAMet), b2i(f.FCR)
		out = append(out, c)
	}
	if f.First != nil {
		c := contribution{day: *f.First, dims: f.D}
		c.c[cFirstResolved], c.c[cReopened] = 1, b2i(f.Reopened)
		out = append(out, c)
	}
	return out
}

// followUpFact is what a follow-up contributes: its completion to its
// assignee, its survey to the ticket's assignee.
type followUpFact struct {
	Ended     *int32 `json:"e,omitempty"`
	Completed bool   `json:"k,omitempty"`
	Performer dims   `json:"pd"`
	Survey    *int32 `json:"sv,omitempty"`
	Served    dims   `json:"sd"`
	Rating    int32  `json:"r,omitempty"`
	NPS       *int32 `json:"n,omitempty"`
}

func (f *followUpFact) contributions() []contribution {
	var out []contribution
	if f.Ended != nil {
		c := contribution{day: *f.Ended, dims: f.Performer}
		c.c[cFollowUpsEnded], c.c[cFollowUpsCompleted] = 1, b2i(f.Completed)
		out = append(out, c)
	}
	if f.Survey != nil {
		c := contribution{day: *f.Survey, dims: f.Served}
		c.c[cSurveys], c.c[cSatisfactionSum], c.c[cSatisfied] = 1, int64(f.Rating), b2i(f.Rating >= 4)
		if f.NPS != nil {
			c.c[cNPSAnswers], c.c[cPromoters], c.c[cDetractors] = 1, b2i(*f.NPS >= 9), b2i(*f.NPS <= 6)
		}
		out = append(out, c)
	}
	return out
}

// complaintFact is what a complaint contributes.
type complaintFact struct {
	D            dims   `json:"d"`
	Received     int32  `json:"o"`
	AckDue       *int32 `json:"a,omitempty"`
	AckOnTime    bool   `json:"ak,omitempty"`
	ResolveDue   *int32 `json:"r,omitempty"`
	ResolvedOnTm bool   `json:"rk,omitempty"`
}

func (f *complaintFact) contributions() []contribution {
	out := []contribution{{day: f.Received, dims: f.D}}
	out[0].c[cComplaints] = 1
	if f.AckDue != nil {
		c := contribution{day: *f.AckDue, dims: f.D}
		c.c[cAckDecided], c.c[cAckOnTime] = 1, b2i(f.AckOnTime)
		out = append(out, c)
	}
	if f.ResolveDue != nil {
		c := contribution{day: *f.ResolveDue, dims: f.D}
		c.c[cComplaintResolutionDecided], c.c[cComplaintResolvedOnTime] = 1, b2i(f.ResolvedOnTm)
		out = append(out, c)
	}
	return out
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func dayPtr(t time.Time) *int32 {
	d := dayOf(t)
	return &d
}

// ticketDims attributes a ticket's metrics: its current assignee,
// partner, product model, channel and type.
func ticketDims(t *store.Ticket, model string) dims {
	return dims{
		Staff: t.AssigneeID, Partner: t.PartnerID, Model: model,
		Channel: aftersalesv1.Ticket_Channel(t.Channel).String(), Type: aftersalesv1.Ticket_Type(t.Type).String(),
	}
}

// ticketHistory is what a ticket's timeline adds to the row: when it
// was first resolved and whether it was reopened.
type ticketHistory struct {
	firstResolved *time.Time
	reopens       int
}

// isResolved reports whether the ticket's resolution stands.
func isResolved(t *store.Ticket) bool {
	s := ticketflow.State(t.State)
	return t.ResolveTime != nil && (s == ticketflow.Resolved || s == ticketflow.Closed)
}

// factOfTicket applies the ticket definitions of report.proto.
func factOfTicket(t *store.Ticket, model string, h ticketHistory) *ticketFact {
	f := &ticketFact{D: ticketDims(t, model), Opened: dayOf(t.CreateTime), Campaign: t.CampaignID != ""}
	if t.FirstResponseTime != nil {
		f.Response = &span{Day: dayOf(*t.FirstResponseTime), Secs: seconds(t.FirstResponseTime.Sub(t.CreateTime))}
	}
	if isResolved(t) {
		f.Resolved = &span{Day: dayOf(*t.ResolveTime), Secs: max(0, seconds(t.ResolveTime.Sub(t.CreateTime))-t.PausedSeconds)}
		f.SLAMet = !t.ResponseBreached && !t.ResolveBreached
		f.FCR = t.FirstContactID != "" && t.AssigneeID == t.FirstContactID && h.reopens == 0
	}
	first := h.firstResolved
	if t.ResolveTime != nil && (first == nil || t.ResolveTime.Before(*first)) {
		first = t.ResolveTime
	}
	if first != nil {
		f.First = dayPtr(*first)
		f.Reopened = h.reopens > 0
	}
	return f
}

func seconds(d time.Duration) int64 { return max(0, int64(d/time.Second)) }

// factOfFollowUp applies the follow-up definitions; t is its ticket.
func factOfFollowUp(fu *store.FollowUp, t *store.Ticket, model string) *followUpFact {
	served := ticketDims(t, model)
	performer := served
	performer.Staff = fu.AssigneeID
	if id, ok := resname.ID(fu.PerformedBy, resname.Staff); ok && performer.Staff == "" {
		// Taken from the queue without an assignee: whoever performed it.
		performer.Staff = id
	}
	f := &followUpFact{Performer: performer, Served: served}
	switch followupflow.State(fu.State) {
	case followupflow.Completed, followupflow.Unreachable, followupflow.Declined:
		f.Ended = dayPtr(fu.DueTime)
		f.Completed = followupflow.State(fu.State) == followupflow.Completed
	}
	if f.Completed && fu.Satisfaction > 0 {
		end := fu.UpdateTime
		if fu.EndTime != nil {
			end = *fu.EndTime
		}
		f.Survey, f.Rating, f.NPS = dayPtr(end), fu.Satisfaction, fu.Nps
	}
	return f
}

// factOfComplaint applies the complaint definitions; t is its ticket, nil
// for a complaint without one.
func factOfComplaint(c *store.Complaint, t *store.Ticket, model string) *complaintFact {
	d := dims{Staff: c.ResponsibleStaffID, Model: model, Channel: aftersalesv1.Ticket_Channel(c.Channel).String()}
	if t != nil {
		d.Partner, d.Type = t.PartnerID, aftersalesv1.Ticket_Type(t.Type).String()
	}
	f := &complaintFact{D: d, Received: dayOf(c.CreateTime)}
	if c.AcknowledgeTime != nil || c.AcknowledgeOverdue {
		f.AckDue = dayPtr(c.AcknowledgeDue)
		f.AckOnTime = c.AcknowledgeTime != nil && !c.AcknowledgeOverdue
	}
	resolved := !complaintflow.IsOpen(complaintflow.State(c.State))
	if resolved || c.ResolveOverdue {
		f.ResolveDue = dayPtr(c.ResolveDue)
		f.ResolvedOnTm = resolved && !c.ResolveOverdue
	}
	return f
}
