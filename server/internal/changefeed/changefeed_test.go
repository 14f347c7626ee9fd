package changefeed_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/changefeed"
)

func TestResourceType(t *testing.T) {
	for name, want := range map[string]string{
		"tickets/a":                       "ticket",
		"tickets/a/events/b":              "ticket_event",
		"complaints/a/events/b":           "complaint_event",
		"customers/a/products/b":          "product",
		"staff/a":                         "staff",
		"staff/a/qualification":           "qualification",
		"staff/a/enrollments/b":           "enrollment",
		"staff/a/accountabilityRecords/b": "accountability_record",
		"followUps/a":                     "followup",
		"slaPolicies/a":                   "sla_policy",
		"apiKeys/a":                       "api_key",
		"webhooks/a":                      "webhook",
		"widgets/a":                       "widgets",
		"maintenancePlans/a":              "maintenance_plan",
		"maintenancePlans/a/visits/b":     "maintenance",
	} {
		require.Equal(t, want, changefeed.ResourceType(name), name)
	}
}

func TestType(t *testing.T) {
	for _, c := range []struct {
		name             string
		rt               string
		created, deleted bool
		changed          []string
		want             string
	}{
		{"creation", "ticket", true, false, nil, "ticket.created"},
		{"deletion", "webhook", false, true, nil, "webhook.deleted"},
		{"comment", "ticket_event", true, false, nil, "ticket.commented"},
		{"assignment moves the state too", "ticket", false, false, []string{"assignee", "state"}, "ticket.assigned"},
		{"dispatch to a shop", "ticket", false, false, []string{"partner"}, "ticket.assigned"},
		{"escalation beats the rest", "ticket", false, false, []string{"escalationLevel", "state", "assignee"}, "ticket.escalated"},
		{"state", "ticket", false, false, []string{"state", "resolveTime"}, "ticket.state_changed"},
		{"plain update", "ticket", false, false, []string{"title"}, "ticket.updated"},
		{"complaint handler", "complaint", false, false, []string{"handler", "state"}, "complaint.assigned"},
		{"complaint escalation", "complaint", false, false, []string{"escalationLevel", "escalatedTo"}, "complaint.escalated"},
		{"qualification", "staff", false, false, []string{"qualificationState"}, "qualification.changed"},
		{"staff rename", "staff", false, false, []string{"displayName"}, "staff.updated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, changefeed.Type(c.rt, c.created, c.deleted, c.changed))
		})
	}
}

func TestPatterns(t *testing.T) {
	for _, ok := range []string{"ticket.assigned", "ticket.*", "qualification.changed", "followup.due", "sla_policy.updated"} {
		require.NoError(t, changefeed.CheckPattern(ok), ok)
	}
	for _, bad := range []string{"", "ticket", "*", "*.created", "Ticket.created", "ticket.", "ticket.a.b", "ticket.as signed", "ticket.assigned "} {
		require.Error(t, changefeed.CheckPattern(bad), bad)
	}
	require.True(t, changefeed.Match(nil, "ticket.created"))
	require.True(t, changefeed.Match([]string{"complaint.*", "ticket.assigned"}, "ticket.assigned"))
	require.True(t, changefeed.Match([]string{"ticket.*"}, "ticket.state_changed"))
	require.False(t, changefeed.Match([]string{"ticket.*"}, "ticket_event.created"))
	require.False(t, changefeed.Match([]string{"ticket.assigned"}, "ticket.created"))
}
