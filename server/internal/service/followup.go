package service

import (
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

type followUpServer struct {
	aftersalesv1.UnimplementedFollowUpServiceServer
	*base
}
