package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/aftersales/aftersales/server/internal/config"
)

// TestGRPCMaxConnectionAge: the server asks a client to reconnect once
// its connection is --grpc-max-connection-age old (GOAWAY), which is
// when a client balancing over DNS looks the name up again; the client's
// connection goes idle, and its next call connects anew and succeeds.
func TestGRPCMaxConnectionAge(t *testing.T) {
	ta := start(t, func(c *config.Config) { c.GRPCMaxConnectionAge = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t))

	// Event-driven: the context bounds the wait, not an expected time.
	for state := ta.conn.GetState(); state != connectivity.Idle; state = ta.conn.GetState() {
		require.True(t, ta.conn.WaitForStateChange(ctx, state), "still %s: no GOAWAY", state)
	}
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, ta.health(t), "a new connection serves")
}
