package auth

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
)

// Partner client certificates (mutual TLS).
//
// A client certificate that the gRPC server verified against the partner
// CAs (--tls-client-ca) authenticates a partner shop when it carries the
// URI subject alternative name "aftersales:partners/{id}" and that
// partner exists and is active. A URI SAN rather than the subject common
// name: SANs are where X.509 puts identities today, a certificate may hold
// other names (a SPIFFE id, say) next to it without ambiguity, and CAs and
// tools (openssl, cfssl, step, cert-manager) set URI SANs directly.
//
// The certificate may come alone or with an API key; a key must then be
// the same partner's, so a stolen key cannot be used from another shop's
// machine, nor a shop's certificate to borrow someone else's rights.

// PartnerURIScheme is the scheme of the URI SAN naming a partner.
const PartnerURIScheme = "aftersales"

// PartnerURI returns the URI SAN with which a client certificate stands
// for partner id: "aftersales:partners/{id}".
func PartnerURI(id string) string {
	return PartnerURIScheme + ":" + resname.Format(resname.Partners, id)
}

// verifiedClientCert returns the client certificate the TLS handshake of
// the call's connection verified, or nil: a plaintext connection, TLS
// without a client certificate, or the JSON gateway's own connection,
// which never has one. Unverified certificates do not count; with
// tls.VerifyClientCertIfGiven a certificate that fails verification fails
// the handshake.
func verifiedClientCert(ctx context.Context) *x509.Certificate {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return info.State.VerifiedChains[0][0]
}

// certPartnerID returns the partner a client certificate names. Exactly
// one URI SAN of PartnerURIScheme must name it; two could name different
// partners, and which one would win is not a question to answer silently.
func certPartnerID(cert *x509.Certificate) (string, error) {
	var names []string
	for _, u := range cert.URIs {
		if u.Scheme == PartnerURIScheme {
			names = append(names, u.String())
		}
	}
	if len(names) != 1 {
		return "", fmt.Errorf("client certificate %q: want one %s:partners/{id} URI SAN, got %q", cert.Subject, PartnerURIScheme, names)
	}
	// Comparing with the formatted URI also refuses a query, a fragment or
	// "aftersales://…".
	name, _ := strings.CutPrefix(names[0], PartnerURIScheme+":")
	id, ok := resname.ID(name, resname.Partners)
	if !ok || PartnerURI(id) != names[0] {
		return "", fmt.Errorf("client certificate %q: URI SAN %q is not %s:partners/{id}", cert.Subject, names[0], PartnerURIScheme)
	}
	return id, nil
}

// fromCertificate resolves a verified client certificate to its partner.
func (a *Authenticator) fromCertificate(ctx context.Context, cert *x509.Certificate) (principal.Principal, error) {
	id, err := certPartnerID(cert)
	if err != nil {
		return principal.Principal{}, err
	}
	p, err := a.partner(ctx, id)
	if err != nil {
		return principal.Principal{}, fmt.Errorf("client certificate %q: %w", cert.Subject, err)
	}
	return p, nil
}

// sameIdentity checks that the credential in the authorization header
// stands for the partner the client certificate does.
func sameIdentity(fromCert, fromHeader principal.Principal) error {
	if fromHeader.Kind != principal.Partner || fromHeader.Name != fromCert.Name || fromHeader.Via != "" {
		return errors.New("client certificate of " + fromCert.String() + " sent with a credential of " + fromHeader.String())
	}
	return nil
}
