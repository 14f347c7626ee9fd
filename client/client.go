// Package client is the Go client of the aftersales API, for partner repair
// shops and other integrators.
//
// New returns a Client holding one gRPC connection and a typed client per
// service. On top of plain generated stubs it:
//
//   - fills the request_id of every mutating request left empty, before the
//     first attempt, so that a retried call is recognized by the server;
//   - retries calls that fail with UNAVAILABLE, with exponential backoff;
//   - balances calls round-robin over every address the target resolves
//     to, skipping servers that report NOT_SERVING (see serviceConfig);
//   - sends the caller's identity (WithBearerToken, WithOnBehalfOf);
//   - walks List methods page by page as Go iterators (AllTickets, Pages,
//     All).
//
// Errors are gRPC status errors; read their reason and field violations
// with the pkg/apierr package.
package client

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// Client is a connection to the aftersales API with a typed client per
// service. It is safe for concurrent use; create one and share it.
type Client struct {
	// Customers manages customers and their products, and checks warranty.
	Customers aftersalesv1.CustomerServiceClient
	// Partners manages partner repair shops.
	Partners aftersalesv1.PartnerServiceClient
	// Staff manages staff members.
	Staff aftersalesv1.StaffServiceClient
	// Tickets runs service tickets and SLA policies.
	Tickets aftersalesv1.TicketServiceClient
	// ApiKeys issues and revokes API keys (admins only).
	ApiKeys aftersalesv1.ApiKeyServiceClient
	// Audit reads the audit trail (admins and managers).
	Audit aftersalesv1.AuditServiceClient
	// Complaints records complaints and sees them through.
	Complaints aftersalesv1.ComplaintServiceClient
	// FollowUps runs follow-up visits and satisfaction surveys.
	FollowUps aftersalesv1.FollowUpServiceClient
	// Training runs courses, enrolments and assessments.
	Training aftersalesv1.TrainingServiceClient
	// Reports answers service-quality figures: metrics, scorecards and
	// fault statistics.
	Reports aftersalesv1.ReportServiceClient
	// Fees reads the price list that paid work is quoted from and warranty
	// work is reimbursed by (QuoteTicket is on Tickets).
	Fees aftersalesv1.FeeServiceClient
	// Claims reads a shop's warranty claims and monthly settlement
	// statements (and lets company reviewers decide them).
	Claims aftersalesv1.WarrantyClaimServiceClient

	conn *grpc.ClientConn
}

// New returns a Client for target, a gRPC target such as
// "aftersales.example.com:443" or "dns:///aftersales.internal:9090".
//
// New does not connect: the connection is made on the first call and
// re-made as needed, so a server that is down at start-up is not an error
// here. ctx is accepted for future options that need set-up work (such as
// exchanging credentials) and is not used today.
//
// By default the connection uses TLS with the system's root certificates.
// Use WithInsecure only for a local server.
func New(ctx context.Context, target string, opts ...Option) (*Client, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	dialOpts, err := o.dialOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	// Adding a service: one field above and one line here. Retries and
	// request_id filling need no change (see serviceConfig).
	return &Client{
		Customers:  aftersalesv1.NewCustomerServiceClient(conn),
		Partners:   aftersalesv1.NewPartnerServiceClient(conn),
		Staff:      aftersalesv1.NewStaffServiceClient(conn),
		Tickets:    aftersalesv1.NewTicketServiceClient(conn),
		ApiKeys:    aftersalesv1.NewApiKeyServiceClient(conn),
		Audit:      aftersalesv1.NewAuditServiceClient(conn),
		Complaints: aftersalesv1.NewComplaintServiceClient(conn),
		FollowUps:  aftersalesv1.NewFollowUpServiceClient(conn),
		Training:   aftersalesv1.NewTrainingServiceClient(conn),
		Reports:    aftersalesv1.NewReportServiceClient(conn),
		Fees:       aftersalesv1.NewFeeServiceClient(conn),
		Claims:     aftersalesv1.NewWarrantyClaimServiceClient(conn),
		conn:       conn,
	}, nil
}

// Conn returns the underlying connection, for services this package does
// not wrap yet (aftersalesv1.NewXxxServiceClient(c.Conn())) or for health
// checks. Calls made through it get the same interceptors and retries.
func (c *Client) Conn() grpc.ClientConnInterface {
	return c.conn
}

// Close closes the connection. Calls in flight fail with CANCELED.
func (c *Client) Close() error {
	return c.conn.Close()
}
