package campaignflow_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	cf "github.com/aftersales/aftersales/server/internal/campaignflow"
)

func TestNext(t *testing.T) {
	for _, tc := range []struct {
		from   cf.State
		action cf.Action
		want   cf.State
		ok     bool
	}{
		{cf.Draft, cf.Launch, cf.Launching, true},
		{cf.Paused, cf.Launch, cf.Launching, true},
		{cf.Launching, cf.Launch, cf.Launching, false},
		{cf.Active, cf.Launch, cf.Active, false},
		{cf.Launching, cf.Pause, cf.Paused, true},
		{cf.Draft, cf.Pause, cf.Draft, false},
		{cf.Active, cf.Cancel, cf.Cancelled, true},
		{cf.Draft, cf.Cancel, cf.Cancelled, true},
		{cf.Completed, cf.Cancel, cf.Completed, false},
		{cf.Cancelled, cf.Cancel, cf.Cancelled, false},
		{cf.Launching, cf.Launched, cf.Active, true},
		{cf.Paused, cf.Launched, cf.Paused, false},
		{cf.Active, cf.Complete, cf.Completed, true},
		{cf.Launching, cf.Complete, cf.Launching, false},
		{cf.Active, cf.Update, cf.Active, true},
		{cf.Completed, cf.Update, cf.Completed, false},
		{cf.Draft, cf.EditDraft, cf.Draft, true},
		{cf.Launching, cf.EditDraft, cf.Launching, false},
	} {
		got, err := cf.Next(tc.from, tc.action)
		require.Equal(t, tc.want, got, "%s %s", tc.from, tc.action)
		if tc.ok {
			require.NoError(t, err, "%s %s", tc.from, tc.action)
		} else {
			var te *cf.TransitionError
			require.ErrorAs(t, err, &te, "%s %s", tc.from, tc.action)
			require.Contains(t, err.Error(), tc.from.String())
		}
	}
}

func TestFlags(t *testing.T) {
	free, notice, why := cf.Flags(aftersalesv1.Campaign_RECALL, false, false)
	require.True(t, free)
	require.False(t, notice)
	require.Empty(t, why)
	_, _, why = cf.Flags(aftersalesv1.Campaign_RECALL, true, true)
	require.NotEmpty(t, why)
	_, notice, _ = cf.Flags(aftersalesv1.Campaign_SAFETY_NOTICE, false, false)
	require.True(t, notice)
	_, _, why = cf.Flags(aftersalesv1.Campaign_INSPECTION, false, true)
	require.NotEmpty(t, why)
	free, notice, why = cf.Flags(aftersalesv1.Campaign_FIRMWARE_UPDATE, false, true)
	require.False(t, free)
	require.True(t, notice)
	require.Empty(t, why)
}

func TestTicketType(t *testing.T) {
	require.Equal(t, aftersalesv1.Ticket_RECALL, cf.TicketType(aftersalesv1.Campaign_RECALL))
	require.Equal(t, aftersalesv1.Ticket_INSPECTION, cf.TicketType(aftersalesv1.Campaign_INSPECTION))
	require.Equal(t, aftersalesv1.Ticket_MAINTENANCE, cf.TicketType(aftersalesv1.Campaign_FIRMWARE_UPDATE))
}

func TestAfterTicket(t *testing.T) {
	for _, tc := range []struct {
		from    cf.TargetState
		ticket  aftersalesv1.Ticket_State
		want    cf.TargetState
		changed bool
	}{
		{cf.TicketOpened, aftersalesv1.Ticket_RESOLVED, cf.Done, true},
		{cf.TicketOpened, aftersalesv1.Ticket_CLOSED, cf.Done, true},
		{cf.TicketOpened, aftersalesv1.Ticket_CANCELLED, cf.Withdrawn, true},
		{cf.TicketOpened, aftersalesv1.Ticket_ASSIGNED, cf.TicketOpened, false},
		{cf.Done, aftersalesv1.Ticket_REOPENED, cf.TicketOpened, true},
		{cf.Done, aftersalesv1.Ticket_CLOSED, cf.Done, false},
		{cf.Declined, aftersalesv1.Ticket_RESOLVED, cf.Declined, false},
		{cf.Unreachable, aftersalesv1.Ticket_CANCELLED, cf.Unreachable, false},
	} {
		got, changed := cf.AfterTicket(tc.from, tc.ticket)
		require.Equal(t, tc.want, got, "%s after ticket %s", tc.from, tc.ticket)
		require.Equal(t, tc.changed, changed, "%s after ticket %s", tc.from, tc.ticket)
	}
}

func TestAfterOutreach(t *testing.T) {
	ack, dec, unr := aftersalesv1.RecordCampaignOutreachRequest_ACKNOWLEDGED, aftersalesv1.RecordCampaignOutreachRequest_DECLINED, aftersalesv1.RecordCampaignOutreachRequest_UNREACHABLE
	for _, tc := range []struct {
		from    cf.TargetState
		outcome aftersalesv1.RecordCampaignOutreachRequest_Outcome
		want    cf.TargetState
		ok      bool
	}{
		{cf.Notified, ack, cf.Done, true},
		{cf.TicketOpened, ack, cf.TicketOpened, false},
		{cf.Notified, dec, cf.Declined, true},
		{cf.TicketOpened, dec, cf.Declined, true},
		{cf.TicketOpened, unr, cf.Unreachable, true},
		{cf.Done, dec, cf.Done, false},
		{cf.Withdrawn, unr, cf.Withdrawn, false},
	} {
		got, err := cf.AfterOutreach(tc.from, tc.outcome)
		require.Equal(t, tc.want, got)
		require.Equal(t, tc.ok, err == nil, "%s %s: %v", tc.from, tc.outcome, err)
	}
}
