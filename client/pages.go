package client

import (
	"context"
	"fmt"
	"iter"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// PageResponse is the response of a List method: one page of results and
// the token of the next page, empty on the last page.
type PageResponse interface {
	proto.Message
	GetNextPageToken() string
}

// Pages calls list repeatedly, yielding each response page, until a page
// has an empty next_page_token or the consumer stops. On an error it
// yields (nil, err) once and stops.
//
// req is copied, so the caller's request is not changed and the sequence
// can be ranged over again to start from the beginning; a nil req is a
// request with default values. setPageToken sets the page token on the
// copy, because the generated request types have no common setter.
func Pages[Req proto.Message, Resp PageResponse](
	ctx context.Context,
	req Req,
	list func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	setPageToken func(Req, string),
	opts ...grpc.CallOption,
) iter.Seq2[Resp, error] {
	return func(yield func(Resp, error) bool) {
		r := cloneRequest(req)
		var token string
		for {
			resp, err := list(ctx, r, opts...)
			if err != nil {
				var zero Resp
				yield(zero, err)
				return
			}
			if !yield(resp, nil) {
				return
			}
			next := resp.GetNextPageToken()
			if next == "" {
				return
			}
			if next == token {
				// A server bug would otherwise loop forever.
				var zero Resp
				yield(zero, fmt.Errorf("client: server returned page token %q twice", next))
				return
			}
			token = next
			setPageToken(r, token)
		}
	}
}

// All is Pages flattened to the items of each page, which items picks out
// of a response. On an error it yields (nil, err) once and stops; items
// yielded before the error are valid.
func All[Req proto.Message, Resp PageResponse, T any](
	ctx context.Context,
	req Req,
	list func(context.Context, Req, ...grpc.CallOption) (Resp, error),
	setPageToken func(Req, string),
	items func(Resp) []*T,
	opts ...grpc.CallOption,
) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for resp, err := range Pages(ctx, req, list, setPageToken, opts...) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, item := range items(resp) {
				if !yield(item, nil) {
					return
				}
			}
		}
	}
}

// cloneRequest returns a copy of req, or a new empty request when req is
// nil, so that setting the page token never touches the caller's message.
func cloneRequest[Req proto.Message](req Req) Req {
	m := req.ProtoReflect()
	if !m.IsValid() {
		return m.Type().New().Interface().(Req)
	}
	return proto.Clone(req).(Req)
}

// AllCustomers iterates over the customers matching req, across pages.
func (c *Client) AllCustomers(ctx context.Context, req *aftersalesv1.ListCustomersRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.Customer, error] {
	return All(ctx, req, c.Customers.ListCustomers, func(r *aftersalesv1.ListCustomersRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListCustomersResponse).GetCustomers, opts...)
}

// AllProducts iterates over the products matching req, across pages. Its
// parent is required; "customers/-" lists every customer's products.
func (c *Client) AllProducts(ctx context.Context, req *aftersalesv1.ListProductsRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.Product, error] {
	return All(ctx, req, c.Customers.ListProducts, func(r *aftersalesv1.ListProductsRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListProductsResponse).GetProducts, opts...)
}

// AllPartners iterates over the partner shops matching req, across pages.
func (c *Client) AllPartners(ctx context.Context, req *aftersalesv1.ListPartnersRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.Partner, error] {
	return All(ctx, req, c.Partners.ListPartners, func(r *aftersalesv1.ListPartnersRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListPartnersResponse).GetPartners, opts...)
}

// AllStaff iterates over the staff members matching req, across pages.
func (c *Client) AllStaff(ctx context.Context, req *aftersalesv1.ListStaffRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.Staff, error] {
	return All(ctx, req, c.Staff.ListStaff, func(r *aftersalesv1.ListStaffRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListStaffResponse).GetStaff, opts...)
}

// AllTickets iterates over the tickets matching req, across pages.
func (c *Client) AllTickets(ctx context.Context, req *aftersalesv1.ListTicketsRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.Ticket, error] {
	return All(ctx, req, c.Tickets.ListTickets, func(r *aftersalesv1.ListTicketsRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListTicketsResponse).GetTickets, opts...)
}

// AllTicketEvents iterates over a ticket's timeline, oldest first, across
// pages. Its parent, "tickets/{ticket}", is required.
func (c *Client) AllTicketEvents(ctx context.Context, req *aftersalesv1.ListTicketEventsRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.TicketEvent, error] {
	return All(ctx, req, c.Tickets.ListTicketEvents, func(r *aftersalesv1.ListTicketEventsRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListTicketEventsResponse).GetEvents, opts...)
}

// AllSlaPolicies iterates over the SLA policies, across pages.
func (c *Client) AllSlaPolicies(ctx context.Context, req *aftersalesv1.ListSlaPoliciesRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.SlaPolicy, error] {
	return All(ctx, req, c.Tickets.ListSlaPolicies, func(r *aftersalesv1.ListSlaPoliciesRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListSlaPoliciesResponse).GetSlaPolicies, opts...)
}

// AllApiKeys iterates over the API keys matching req, across pages.
func (c *Client) AllApiKeys(ctx context.Context, req *aftersalesv1.ListApiKeysRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.ApiKey, error] {
	return All(ctx, req, c.ApiKeys.ListApiKeys, func(r *aftersalesv1.ListApiKeysRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListApiKeysResponse).GetApiKeys, opts...)
}

// AllAuditRecords iterates over the audit records matching req, across
// pages.
func (c *Client) AllAuditRecords(ctx context.Context, req *aftersalesv1.ListAuditRecordsRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.AuditRecord, error] {
	return All(ctx, req, c.Audit.ListAuditRecords, func(r *aftersalesv1.ListAuditRecordsRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListAuditRecordsResponse).GetAuditRecords, opts...)
}

// AllWarrantyClaims iterates over a shop's warranty claims across pages.
func (c *Client) AllWarrantyClaims(ctx context.Context, req *aftersalesv1.ListWarrantyClaimsRequest, opts ...grpc.CallOption) iter.Seq2[*aftersalesv1.WarrantyClaim, error] {
	return All(ctx, req, c.Claims.ListWarrantyClaims, func(r *aftersalesv1.ListWarrantyClaimsRequest, t string) { r.PageToken = t }, (*aftersalesv1.ListWarrantyClaimsResponse).GetClaims, opts...)
}
