// Package changefeed holds the rules of the change feed that do not
// touch storage or transport: what kind of resource a name is, what an
// event of a change is called, and which subscriptions an event type
// matches.
package changefeed

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// collections maps a collection segment of a resource name to its
// resource type. Timeline entries are named after their parent
// (tickets/{t}/events/{e} is a ticket_event).
var collections = map[string]string{
	"customers":             "customer",
	"products":              "product",
	"partners":              "partner",
	"staff":                 "staff",
	"slaPolicies":           "sla_policy",
	"tickets":               "ticket",
	"complaints":            "complaint",
	"followUps":             "followup",
	"courses":               "course",
	"enrollments":           "enrollment",
	"assessments":           "assessment",
	"accountabilityRecords": "accountability_record",
	"apiKeys":               "api_key",
	"webhooks":              "webhook",
	"campaigns":             "campaign",
	"targets":               "campaign_target",
	"maintenancePlans":      "maintenance_plan",
	// A plan's visits are its maintenance: maintenance.created (a visit
	// opened its ticket), maintenance.reminded, maintenance.state_changed.
	"visits": "maintenance",
	// A shop's warranty claims and its monthly settlement statements.
	"claims":      "warranty_claim",
	"settlements": "settlement",
	// The price list.
	"feeSchedules": "fee_schedule",
}

// ResourceType returns the type of the resource called name: the
// singular of its last collection, "ticket_event" and "complaint_event"
// for timeline entries, and the last segment of a singleton
// ("staff/{s}/qualification" is a qualification).
func ResourceType(name string) string {
	segs := strings.Split(name, "/")
	if len(segs)%2 == 1 {
		return segs[len(segs)-1]
	}
	coll := segs[len(segs)-2]
	if coll == "events" && len(segs) >= 4 {
		return collections[segs[len(segs)-4]] + "_event"
	}
	if t, ok := collections[coll]; ok {
		return t
	}
	return strings.ToLower(coll)
}

// Verbs of a change, by what it changed. The first that applies names
// the event: an assignment that also moves the state (NEW → ASSIGNED) is
// an assignment.
const (
	Created      = "created"
	Deleted      = "deleted"
	Escalated    = "escalated"
	Assigned     = "assigned"
	StateChanged = "state_changed"
	Updated      = "updated"
	Commented    = "commented"
	Due          = "due"
	Disabled     = "disabled"
)

// assignFields are the fields (JSON names) naming who works a resource.
var assignFields = []string{"assignee", "partner", "handler"}

// Type names the event of a change to a resource of resourceType:
// "{type}.{verb}". created and deleted say whether the change made or
// removed it; changed lists the JSON names of the fields that changed.
// A new timeline entry is a comment on its parent ("ticket.commented"),
// and a change of a staff member's qualification state is
// "qualification.changed", the event call centres watch to know who may
// be put on duty.
func Type(resourceType string, created, deleted bool, changed []string) string {
	if parent, ok := strings.CutSuffix(resourceType, "_event"); ok && created {
		return parent + "." + Commented
	}
	verb := Updated
	switch {
	case created:
		verb = Created
	case deleted:
		verb = Deleted
	case resourceType == "staff" && slices.Contains(changed, "qualificationState"):
		return "qualification.changed"
	case slices.Contains(changed, "escalationLevel"):
		verb = Escalated
	case slices.ContainsFunc(changed, func(f string) bool { return slices.Contains(assignFields, f) }):
		verb = Assigned
	case slices.Contains(changed, "state"):
		verb = StateChanged
	}
	return resourceType + "." + verb
}

// pattern is an event type or a wildcard over one resource type.
var pattern = regexp.MustCompile(`^[a-z][a-z_]*\.([a-z][a-z_]*|\*)$`)

// CheckPattern reports whether p is a valid event type pattern:
// "ticket.assigned" or "ticket.*".
func CheckPattern(p string) error {
	if !pattern.MatchString(p) {
		return fmt.Errorf("%q is not an event type: use {resource_type}.{verb} such as ticket.assigned, or ticket.* for every ticket event", p)
	}
	return nil
}

// Match reports whether typ is one of patterns, where "ticket.*" stands
// for every ticket event. No patterns match every type.
func Match(patterns []string, typ string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if p == typ {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(typ, prefix) {
			return true
		}
	}
	return false
}
