package service_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestGetCaller: every caller learns who its credentials act as and with
// which role, over gRPC and JSON; no credentials is UNAUTHENTICATED.
func TestGetCaller(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			for _, tc := range []struct {
				who  string
				role aftersalesv1.Caller_Role
			}{
				{f.manager.GetName(), aftersalesv1.Caller_MANAGER},
				{f.agent.GetName(), aftersalesv1.Caller_AGENT},
				{f.technician.GetName(), aftersalesv1.Caller_TECHNICIAN},
				{f.partnerTech.GetName(), aftersalesv1.Caller_TECHNICIAN},
				{f.partner.GetName(), aftersalesv1.Caller_PARTNER},
				{f.customer.GetName(), aftersalesv1.Caller_CUSTOMER},
			} {
				c, err := aftersalesv1.NewApiKeyServiceClient(e.conn).GetCaller(as(tc.who), &aftersalesv1.GetCallerRequest{})
				require.NoError(t, err, tc.who)
				require.Equal(t, tc.who, c.GetPrincipal())
				require.Equal(t, tc.role, c.GetRole(), tc.who)
				require.Empty(t, c.GetVia())
			}
			// The methods each role may call: what the console shows.
			methods := func(who string) []string {
				c, err := aftersalesv1.NewApiKeyServiceClient(e.conn).GetCaller(as(who), &aftersalesv1.GetCallerRequest{})
				require.NoError(t, err)
				require.True(t, slices.IsSorted(c.GetMethods()), who)
				return c.GetMethods()
			}
			tech := methods(f.technician.GetName())
			require.Subset(t, tech, []string{aftersalesv1.TicketService_AcceptTicket_FullMethodName, aftersalesv1.TicketService_ResolveTicket_FullMethodName, aftersalesv1.ApiKeyService_GetCaller_FullMethodName})
			require.NotContains(t, tech, aftersalesv1.TicketService_CloseTicket_FullMethodName)
			require.NotContains(t, tech, aftersalesv1.ReportService_GetCostMetrics_FullMethodName)
			require.Subset(t, methods(f.manager.GetName()), []string{aftersalesv1.TicketService_CloseTicket_FullMethodName, aftersalesv1.ReportService_GetCostMetrics_FullMethodName})
			shop := methods(f.partner.GetName())
			require.Subset(t, shop, []string{aftersalesv1.TicketService_AssignTicket_FullMethodName, aftersalesv1.ReportService_GetFaultStatistics_FullMethodName})
			require.NotContains(t, shop, aftersalesv1.ReportService_GetCostMetrics_FullMethodName)
			// A method missing from the list is refused.
			_, err := e.tickets.CloseTicket(as(f.technician.GetName()), &aftersalesv1.CloseTicketRequest{Name: "tickets/none"})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)

			c, err := aftersalesv1.NewApiKeyServiceClient(e.conn).GetCaller(e.admin(), &aftersalesv1.GetCallerRequest{})
			require.NoError(t, err)
			require.Equal(t, aftersalesv1.Caller_ADMIN, c.GetRole())
			require.Contains(t, c.GetMethods(), aftersalesv1.PartnerService_CreatePartner_FullMethodName, "admins may call what no other role may")
			require.Greater(t, len(c.GetMethods()), len(methods(f.manager.GetName())))
			require.Regexp(t, `^apiKeys/`, c.GetPrincipal(), "the bootstrap key is a service account")

			r := e.do(http.MethodGet, "/v1/caller", f.partner.GetName(), nil)
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, f.partner.GetName(), r.body["principal"])
			require.Equal(t, "PARTNER", r.body["role"])
			require.Contains(t, r.body["methods"], aftersalesv1.TicketService_AssignTicket_FullMethodName)

			_, err = aftersalesv1.NewApiKeyServiceClient(e.conn).GetCaller(as(""), &aftersalesv1.GetCallerRequest{})
			require.Equal(t, codes.Unauthenticated.String(), status.Code(err).String(), "%v", err)
			r = e.do(http.MethodGet, "/v1/caller", "", nil)
			require.Equal(t, http.StatusUnauthorized, r.status, string(r.raw))
		})
	}
}
