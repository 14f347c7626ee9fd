package service

import (
	"context"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// maintenanceLease is the lease of the maintenance loop.
const maintenanceLease = "maintenance-visits"

// maintenanceServer implements MaintenanceService.
type maintenanceServer struct {
	aftersalesv1.UnimplementedMaintenanceServiceServer
	*base
}

// openDueVisits opens the visits that have come due.
func (s *maintenanceServer) openDueVisits(ctx context.Context) (int, error) { return 0, nil }
