package service

import (
	"context"
	"errors"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

type complaintServer struct {
	aftersalesv1.UnimplementedComplaintServiceServer
	*base
}

// complaintSeed is what another part of the platform (a follow-up whose
// survey shows an unhappy customer) gives to open a complaint.
type complaintSeed struct {
	CustomerID, TicketID, ProductID, FollowUpID string
	Channel                                     aftersalesv1.Ticket_Channel
	Category                                    aftersalesv1.Complaint_Category
	Severity                                    aftersalesv1.Complaint_Severity
	Title, Description                          string
}

// openComplaint records a new complaint from seed inside tx, with its
// deadlines and timeline, and returns its resource name.
func (b *base) openComplaint(ctx context.Context, tx *gorm.DB, seed complaintSeed) (string, error) {
	return "", errors.New("complaints are not implemented yet")
}
