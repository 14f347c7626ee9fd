package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	// Imported for its side effect of registering the client side of
	// health checking, which healthCheckConfig turns on.
	_ "google.golang.org/grpc/health"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Imported for its side effect of registering every file of the
	// aftersales.v1 package, which serviceConfig enumerates.
	_ "github.com/aftersales/aftersales/gen/aftersales/v1"
)

// apiPackage is the proto package whose services the client retries.
const apiPackage = "aftersales.v1"

// serviceConfig returns the gRPC service config JSON: round_robin load
// balancing with health checking, and retries of calls failing with
// UNAVAILABLE: up to 4 attempts, with backoff from 0.1s doubling up to 2s
// (gRPC randomizes each wait below that bound).
//
// round_robin connects to every address the target resolves to and
// spreads calls over them. gRPC keeps one HTTP/2 connection per address
// for hours, so with the default pick_first every call of a client would
// go to one replica however many there are; with round_robin a
// "dns:///aftersales-grpc.ns.svc:9090" target naming a Kubernetes
// headless Service (one A record per ready pod) uses them all. The
// resolver looks the name up again when a connection closes: a replica
// shutting down closes its connections, and the server closes every
// connection after --grpc-max-connection-age, so replicas added since are
// picked up. A target with one address (an L7 load balancer) behaves as
// before.
//
// healthCheckConfig makes the client watch grpc.health.v1.Health on each
// connection and take a replica out of the rotation while it says
// NOT_SERVING. A server reports that as soon as it starts shutting down,
// so calls stop going to a draining replica before its refusals
// (UNAVAILABLE, SHUTTING_DOWN) have to be retried. A server without the
// health service counts as healthy.
//
// UNAVAILABLE usually means the request never reached a server, but it
// can also mean the connection broke after the server acted, so a retry
// must not act twice. Retrying is safe for every method of the API: reads
// have no effect; every mutating request except Update carries a
// request_id, which fillRequestID sets before the first attempt, so the
// server recognizes the retry and returns the first result; and Update
// methods set given values, so repeating one leaves the resource as the
// first did (if the first attempt did apply, a retry that sent an etag
// gets ABORTED because the etag moved on). Other codes are answers that
// retrying would not change, so they are returned at once.
//
// The services are read from the proto registry, so a service added to the
// protos is retried without any change here.
func serviceConfig() (string, error) {
	var names []string
	protoregistry.GlobalFiles.RangeFilesByPackage(apiPackage, func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			names = append(names, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	if len(names) == 0 {
		// Would mean the generated package no longer registers its files
		// here; failing beats silently dropping retries.
		return "", errors.New("client: no " + apiPackage + " services registered")
	}
	slices.Sort(names)

	type name struct {
		Service string `json:"service"`
	}
	type retryPolicy struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	type methodConfig struct {
		Name        []name      `json:"name"`
		RetryPolicy retryPolicy `json:"retryPolicy"`
	}
	mc := methodConfig{RetryPolicy: retryPolicy{
		MaxAttempts:          4,
		InitialBackoff:       "0.1s",
		MaxBackoff:           "2s",
		BackoffMultiplier:    2,
		RetryableStatusCodes: []string{"UNAVAILABLE"},
	}}
	for _, n := range names {
		mc.Name = append(mc.Name, name{Service: n})
	}
	b, err := json.Marshal(map[string]any{
		"loadBalancingConfig": []map[string]any{{"round_robin": map[string]any{}}},
		"healthCheckConfig":   map[string]string{"serviceName": ""},
		"methodConfig":        []methodConfig{mc},
	})
	if err != nil {
		return "", fmt.Errorf("client: service config: %w", err)
	}
	return string(b), nil
}
