package service

import (
	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
)

type trainingServer struct {
	aftersalesv1.UnimplementedTrainingServiceServer
	*base
}
