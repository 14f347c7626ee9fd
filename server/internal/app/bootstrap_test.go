package app_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/config"
)

// TestBootstrapKeyExpires: the admin key of a first start works until
// --bootstrap-key-ttl has passed, and the notice printed with it says
// until when and what to do instead.
func TestBootstrapKeyExpires(t *testing.T) {
	clock := &manualClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	ta := start(t, func(c *config.Config) {
		c.BootstrapKeyTTL = 2 * time.Hour
		c.RateLimit = 0
	}, app.WithNow(clock.Now))

	notice := ta.BootstrapNotice()
	require.Contains(t, notice, "\n  "+ta.BootstrapKey()+"\n", "the key, on a line of its own")
	require.Contains(t, notice, "It expires at 2030-01-02T05:04:05Z, after 2h0m0s (--bootstrap-key-ttl).")
	require.Contains(t, notice, "create a proper admin key")
	require.Contains(t, notice, `"aftersales keys create --role ADMIN"`)

	// The key the notice shows works, over gRPC and JSON.
	staff := aftersalesv1.NewStaffServiceClient(ta.conn)
	_, err := staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.NoError(t, err)
	clock.Advance(2*time.Hour - time.Second)
	code, body := ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusOK, code, body)

	// It lists with its expiry like any key.
	keys, err := aftersalesv1.NewApiKeyServiceClient(ta.conn).ListApiKeys(ta.admin(), &aftersalesv1.ListApiKeysRequest{})
	require.NoError(t, err)
	require.Len(t, keys.GetApiKeys(), 1)
	require.Equal(t, time.Date(2030, 1, 2, 5, 4, 5, 0, time.UTC), keys.GetApiKeys()[0].GetExpireTime().AsTime())

	clock.Advance(time.Second)
	_, err = staff.ListStaff(ta.admin(), &aftersalesv1.ListStaffRequest{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), err)
	require.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err))
	code, body = ta.request(t, http.MethodGet, "/v1/staff", "", http.Header{"Authorization": {bearer(ta.BootstrapKey())}})
	require.Equal(t, http.StatusUnauthorized, code, body)
}

// TestNoBootstrapNotice: a database with keys gets no key and no notice.
func TestNoBootstrapNotice(t *testing.T) {
	dir := t.TempDir()
	first := start(t, func(c *config.Config) { c.DataDir = dir })
	require.NotEmpty(t, first.BootstrapNotice())
	first.stop()
	require.NoError(t, first.wait(t, 15*time.Second))

	second := start(t, func(c *config.Config) { c.DataDir = dir })
	require.Empty(t, second.BootstrapKey())
	require.Empty(t, second.BootstrapNotice())
}
