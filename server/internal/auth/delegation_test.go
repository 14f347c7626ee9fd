package auth_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/auth"
)

// TestDelegationOnlyForAgents: a delegating key may act for call-center
// agents only, so it can never borrow a manager's or admin's rights.
func TestDelegationOnlyForAgents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		_, key := f.issue(auth.KeySpec{DisplayName: "call center", ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true})
		for _, role := range []aftersalesv1.Staff_Role{aftersalesv1.Staff_ADMIN, aftersalesv1.Staff_MANAGER, aftersalesv1.Staff_TECHNICIAN, aftersalesv1.Staff_TRAINER} {
			target := f.staff(role, true)
			_, err := f.authn.Authenticate(withKey(key, auth.OnBehalfOfMetadataKey, "staff/"+target))
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, role.String())
		}
	})
}
