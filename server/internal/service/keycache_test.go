package service_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// TestKeyCacheAcrossReplicas: replicas reuse the API keys they read for
// --api-key-cache-ttl (2 s by default). A revocation or a deactivation
// takes effect at once on the replica it is made through and within that
// bound on the others.
func TestKeyCacheAcrossReplicas(t *testing.T) {
	const ttl = 2 * time.Second
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			urls := storetest.ReplicaURLs(t, dialect, 2) // on Galera, two nodes
			a := startURL(t, urls[0])
			f := a.seed()
			b := startURL(t, urls[1])
			tk := a.newTicket(f, f.inWarranty)
			get := func(e *env, actor string) error {
				_, err := e.tickets.GetTicket(as(actor), &aftersalesv1.GetTicketRequest{Name: tk.GetName()})
				return err
			}
			refused := func(err error) bool { return status.Code(err) == codes.Unauthenticated }

			// Both replicas have read the agent's key.
			require.NoError(t, get(a, f.agent.GetName()))
			require.NoError(t, get(b, f.agent.GetName()))

			// Deactivated through a: refused there at once.
			_, err := a.staff.UpdateStaff(a.admin(), &aftersalesv1.UpdateStaffRequest{
				Staff: &aftersalesv1.Staff{Name: f.agent.GetName(), Active: false}, UpdateMask: mask("active"),
			})
			require.NoError(t, err)
			require.True(t, refused(get(a, f.agent.GetName())), "the replica that made the change")
			// b still answers from the key it read, within the bound ...
			b.clock.Advance(ttl - time.Millisecond)
			require.NoError(t, get(b, f.agent.GetName()), "within --api-key-cache-ttl of b's read")
			// ... and not past it.
			b.clock.Advance(time.Millisecond)
			require.True(t, refused(get(b, f.agent.GetName())), "past --api-key-cache-ttl")

			// A revoked key, the same way.
			keys := aftersalesv1.NewApiKeyServiceClient(a.conn)
			created, err := keys.CreateApiKey(a.admin(), &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{Staff: f.manager.GetName()}})
			require.NoError(t, err)
			credentials.Store("manager's second key", created.GetSecret())
			require.NoError(t, get(a, "manager's second key"))
			require.NoError(t, get(b, "manager's second key"))
			_, err = keys.RevokeApiKey(a.admin(), &aftersalesv1.RevokeApiKeyRequest{Name: created.GetApiKey().GetName()})
			require.NoError(t, err)
			require.True(t, refused(get(a, "manager's second key")))
			require.NoError(t, get(b, "manager's second key"), "within the bound")
			b.clock.Advance(ttl)
			require.True(t, refused(get(b, "manager's second key")))

			// A wrong secret for a cached key is refused like any other.
			require.NoError(t, get(b, f.manager.GetName()))
			credentials.Store("forged", bearer(f.manager.GetName())[:len(bearer(f.manager.GetName()))-2]+"xx")
			require.True(t, refused(get(b, "forged")))
		})
	}
}
