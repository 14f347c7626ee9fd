package auth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// certFor returns a client certificate with the URI SANs uris. The
// Authenticator reads only what the TLS handshake verified, so the tests
// put certificates into the peer directly; TestMutualTLS in package app
// checks the handshake itself.
func certFor(t *testing.T, uris ...string) *x509.Certificate {
	t.Helper()
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "shop workstation"}}
	for _, s := range uris {
		u, err := url.Parse(s)
		require.NoError(t, err)
		cert.URIs = append(cert.URIs, u)
	}
	return cert
}

// withCert returns ctx as the server sees a call over a connection whose
// client certificate verified.
func withCert(ctx context.Context, cert *x509.Certificate) context.Context {
	return peer.NewContext(ctx, &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{
		PeerCertificates: []*x509.Certificate{cert},
		VerifiedChains:   [][]*x509.Certificate{{cert}},
	}}})
}

func TestPartnerURI(t *testing.T) {
	require.Equal(t, "aftersales:partners/p1", auth.PartnerURI("p1"))
}

func TestClientCertificate(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		shop := f.partner(true)
		want := principal.Principal{Kind: principal.Partner, Name: "partners/" + shop, Role: principal.RolePartner}
		cert := certFor(t, auth.PartnerURI(shop))

		p, err := f.authn.Authenticate(withCert(context.Background(), cert))
		require.NoError(t, err, "a certificate alone")
		require.Equal(t, want, p)

		_, shopKey := f.issue(auth.KeySpec{PartnerID: shop})
		p, err = f.authn.Authenticate(withCert(withKey(shopKey), cert))
		require.NoError(t, err, "a certificate with the same partner's key")
		require.Equal(t, want, p)

		p, err = f.authn.Authenticate(withCert(context.Background(), certFor(t, "spiffe://example.test/shop", auth.PartnerURI(shop))))
		require.NoError(t, err, "other URI SANs are ignored")
		require.Equal(t, want, p)

		// The policy table applies as to a partner's key.
		p, err = f.authn.Authorize(withCert(context.Background(), cert), aftersalesv1.TicketService_ListTickets_FullMethodName)
		require.NoError(t, err)
		require.Equal(t, want, p)
		_, err = f.authn.Authorize(withCert(context.Background(), cert), aftersalesv1.ApiKeyService_CreateApiKey_FullMethodName)
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
	})
}

func TestClientCertificateRejected(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		shop := f.partner(true)
		cert := certFor(t, auth.PartnerURI(shop))
		other := f.partner(true)
		_, otherKey := f.issue(auth.KeySpec{PartnerID: other})
		_, staffKey := f.issue(auth.KeySpec{StaffID: f.staff(aftersalesv1.Staff_MANAGER, true)})
		_, adminKey := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_ADMIN})
		inactive := f.partner(false)
		_, inactiveKey := f.issue(auth.KeySpec{PartnerID: inactive})
		_, shopKey := f.issue(auth.KeySpec{PartnerID: shop})

		cases := []struct {
			name string
			ctx  context.Context
			// logged is what the operator's log says (never the caller).
			logged string
		}{
			{"another partner's key", withCert(withKey(otherKey), cert), "sent with a credential of partners/" + other},
			{"a staff key", withCert(withKey(staffKey), cert), "sent with a credential of staff/"},
			{"an admin key", withCert(withKey(adminKey), cert), "sent with a credential of apiKeys/"},
			{"an unknown partner", withCert(context.Background(), certFor(t, auth.PartnerURI(ids.New()))), "not found"},
			{"an inactive partner", withCert(context.Background(), certFor(t, auth.PartnerURI(inactive))), "partner inactive"},
			{"an inactive partner with its key", withCert(withKey(inactiveKey), certFor(t, auth.PartnerURI(inactive))), "partner inactive"},
			{"no partner URI", withCert(withKey(shopKey), certFor(t)), "want one aftersales:partners/{id} URI SAN"},
			{"two partner URIs", withCert(context.Background(), certFor(t, auth.PartnerURI(shop), auth.PartnerURI(other))), "want one"},
			{"a staff URI", withCert(context.Background(), certFor(t, "aftersales:staff/"+shop)), "is not aftersales:partners/{id}"},
			{"a hierarchical URI", withCert(context.Background(), certFor(t, "aftersales://partners/"+shop)), "is not aftersales:partners/{id}"},
			{"a query", withCert(context.Background(), certFor(t, auth.PartnerURI(shop)+"?x=1")), "is not aftersales:partners/{id}"},
			{"a nested name", withCert(context.Background(), certFor(t, auth.PartnerURI(shop)+"/staff/x")), "is not aftersales:partners/{id}"},
			{"a wrong key secret", withCert(withKey(otherSecret(t, shopKey)), cert), "wrong secret"},
		}
		for _, c := range cases {
			p, err := f.authn.Authenticate(c.ctx)
			requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, c.name)
			require.Equal(t, "missing or invalid credentials", status.Convert(err).Message(), "%s: the same answer as every rejection", c.name)
			require.Equal(t, principal.Principal{}, p, c.name)
			require.Contains(t, f.logs.String(), c.logged, "%s: the operator learns why", c.name)
		}
	})
}

// TestUnverifiedCertificateIgnored: only a verified chain counts. The
// server's VerifyClientCertIfGiven fails the handshake of a certificate
// that does not verify, so an unverified one can only come from another
// TLS configuration; it must not stand for anyone.
func TestUnverifiedCertificateIgnored(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		shop := f.partner(true)
		unverified := func(ctx context.Context) context.Context {
			return peer.NewContext(ctx, &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{
				PeerCertificates: []*x509.Certificate{certFor(t, auth.PartnerURI(shop))},
			}}})
		}
		_, err := f.authn.Authenticate(unverified(context.Background()))
		requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS)

		// Keys work as without a certificate, whoever's they are.
		row, key := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
		p, err := f.authn.Authenticate(unverified(withKey(key)))
		require.NoError(t, err)
		require.Equal(t, "apiKeys/"+row.ID, p.Name)

		// So do they over TLS without a client certificate.
		p, err = f.authn.Authenticate(peer.NewContext(withKey(key), &peer.Peer{AuthInfo: credentials.TLSInfo{}}))
		require.NoError(t, err)
		require.Equal(t, "apiKeys/"+row.ID, p.Name)
	})
}

// TestClientCertificateWithDelegation: a delegating key acts for an agent,
// not for the certificate's partner.
func TestClientCertificateWithDelegation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		shop := f.partner(true)
		agent := f.staff(aftersalesv1.Staff_AGENT, true)
		_, key := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true})
		ctx := withCert(metadata.NewIncomingContext(context.Background(), metadata.Pairs(
			"authorization", "Bearer "+key, auth.OnBehalfOfMetadataKey, "staff/"+agent,
		)), certFor(t, auth.PartnerURI(shop)))
		_, err := f.authn.Authenticate(ctx)
		requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS)
	})
}
