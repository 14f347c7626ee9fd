package app

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestGatewaySocket: the gateway's socket, abstract (Linux) or a file
// (elsewhere), carries calls through dialSelf, and the file's directory
// goes when the listener closes.
func TestGatewaySocket(t *testing.T) {
	for _, abstract := range []bool{true, false} {
		t.Run(map[bool]string{true: "abstract", false: "file"}[abstract], func(t *testing.T) {
			lis, err := listenGatewayOn(abstract)
			if abstract && err != nil {
				t.Skipf("no abstract Unix sockets here: %v", err)
			}
			require.NoError(t, err)
			s := grpc.NewServer()
			healthpb.RegisterHealthServer(s, health.NewServer())
			go func() { _ = s.Serve(lis) }()
			defer s.Stop()

			conn, err := dialSelf(lis.Addr(), nil)
			require.NoError(t, err)
			defer conn.Close()
			res, err := healthpb.NewHealthClient(conn).Check(t.Context(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			require.Equal(t, healthpb.HealthCheckResponse_SERVING, res.GetStatus())

			name := lis.Addr().String()
			if abstract {
				require.Equal(t, byte('@'), name[0], "an abstract address: %s", name)
				return
			}
			require.FileExists(t, name)
			s.Stop() // closes the listener
			_, err = os.Stat(filepath.Dir(name))
			require.ErrorIs(t, err, os.ErrNotExist, "the socket's directory is removed")
		})
	}
}
