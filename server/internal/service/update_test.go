package service_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestJSONUpdateMasks: JSON clients may name mask paths by their JSON
// names, and a PATCH body carrying the etag needs no explicit mask.
func TestJSONUpdateMasks(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			e := start(t, dialect)
			f := e.seed()
			agent := f.agent.GetName()
			path := "/v1/" + f.customer.GetName()

			r := e.do(http.MethodPatch, path+"?updateMask=displayName", agent, map[string]any{"displayName": "Chen Wei (Shanghai)", "phone": "+8613900000000"})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "Chen Wei (Shanghai)", r.body["displayName"])
			require.Equal(t, f.customer.GetPhone(), r.body["phone"], "only the masked field changes")

			// No mask: the gateway derives one from the body, etag included.
			r = e.do(http.MethodPatch, path, agent, map[string]any{"displayName": "Chen Wei", "etag": r.body["etag"]})
			require.Equal(t, http.StatusOK, r.status, string(r.raw))
			require.Equal(t, "Chen Wei", r.body["displayName"])

			// A body of only the etag names nothing to change.
			r = e.do(http.MethodPatch, path, agent, map[string]any{"etag": r.body["etag"]})
			requireHTTP(t, r, http.StatusBadRequest, codes.InvalidArgument, aftersalesv1.ErrorReason_INVALID_UPDATE_MASK)
		})
	}
}
