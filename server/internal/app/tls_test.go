package app_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/config"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: name},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	cert, _ := signCert(t, tmpl, key, nil, nil)
	return &testCA{cert: cert, key: key}
}

// issue signs tmpl, with a fresh key, and returns it as a TLS certificate.
func (ca *testCA) issue(t *testing.T, tmpl *x509.Certificate) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	_, der := signCert(t, tmpl, key, ca.cert, ca.key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pool returns a pool trusting ca.
func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// signCert signs tmpl for key's public key with parent and parentKey, or
// self-signs it when parent is nil.
func signCert(t *testing.T, tmpl *x509.Certificate, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, []byte) {
	t.Helper()
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert, der
}

// serverCert returns a server certificate template naming names: IP
// addresses or DNS names.
func serverCert(names ...string) *x509.Certificate {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "aftersales"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	return tmpl
}

// partnerCert returns a client certificate template with the URI SAN
// that names partner (a resource name, "partners/{id}").
func partnerCert(t *testing.T, partner string) *x509.Certificate {
	t.Helper()
	id, ok := resname.ID(partner, resname.Partners)
	require.True(t, ok, partner)
	u, err := url.Parse(auth.PartnerURI(id))
	require.NoError(t, err)
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: "workstation of " + partner},
		URIs:        []*url.URL{u},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
}

// writePEM writes cert and its key to dir as server.pem and server.key
// and returns their paths.
func writePEM(t *testing.T, dir string, cert tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600))
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	return certFile, keyFile
}

// writeCA writes ca's certificate to dir and returns the path.
func writeCA(t *testing.T, dir string, ca *testCA) string {
	t.Helper()
	path := filepath.Join(dir, "partners-ca.pem")
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600))
	return path
}

// tlsConn returns a gRPC connection to addr that trusts roots and, when
// client is not nil, presents it.
func tlsConn(t *testing.T, addr string, roots *x509.CertPool, client *tls.Certificate) *grpc.ClientConn {
	t.Helper()
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// httpsGet sends GET url with credential (if not empty) trusting roots,
// and returns the status code and body.
func httpsGet(t *testing.T, roots *x509.CertPool, url, credential string) (int, string) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if credential != "" {
		req.Header.Set("Authorization", bearer(credential))
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestMutualTLS serves over TLS with partner client certificates: a
// verified certificate authenticates its partner, scoped like the
// partner's key; certificates that name no active partner or come from
// another CA are refused; keys work with and without TLS client
// certificates; and the JSON gateway works over HTTPS.
func TestMutualTLS(t *testing.T) {
	serverCA, partnerCA, foreignCA := newTestCA(t, "server CA"), newTestCA(t, "partner CA"), newTestCA(t, "foreign CA")
	dir := t.TempDir()
	certFile, keyFile := writePEM(t, dir, serverCA.issue(t, serverCert("localhost", "127.0.0.1", "::1")))
	caFile := writeCA(t, dir, partnerCA)
	ta := start(t, func(c *config.Config) {
		c.TLSCert, c.TLSKey, c.TLSClientCA = certFile, keyFile, caFile
	})
	roots := serverCA.pool()
	addr := ta.GRPCAddr()
	https := "https://" + ta.HTTPAddr()

	// Set up as the admin, over TLS without a client certificate: a shop
	// with one of two tickets dispatched to it, and a shop that closed.
	admin := tlsConn(t, addr, roots, nil)
	ctx := ta.admin()
	partners := aftersalesv1.NewPartnerServiceClient(admin)
	shop, err := partners.CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Fixit"}})
	require.NoError(t, err)
	// A shop is dispatched work only with a qualified technician.
	_, err = aftersalesv1.NewStaffServiceClient(admin).CreateStaff(ctx, &aftersalesv1.CreateStaffRequest{
		Staff: &aftersalesv1.Staff{DisplayName: "Wang Wei", Role: aftersalesv1.Staff_TECHNICIAN, Partner: shop.GetName()},
	})
	require.NoError(t, err)
	closed, err := partners.CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Gone"}})
	require.NoError(t, err)
	_, err = partners.UpdatePartner(ctx, &aftersalesv1.UpdatePartnerRequest{
		Partner:    &aftersalesv1.Partner{Name: closed.GetName(), Active: false},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"active"}},
	})
	require.NoError(t, err)
	customer, err := aftersalesv1.NewCustomerServiceClient(admin).CreateCustomer(ctx, &aftersalesv1.CreateCustomerRequest{
		Customer: &aftersalesv1.Customer{DisplayName: "Chen Wei"},
	})
	require.NoError(t, err)
	tickets := aftersalesv1.NewTicketServiceClient(admin)
	var opened []*aftersalesv1.Ticket
	for _, title := range []string{"Drum does not spin", "Door does not lock"} {
		tk, err := tickets.CreateTicket(ctx, &aftersalesv1.CreateTicketRequest{Ticket: &aftersalesv1.Ticket{
			Customer: customer.GetName(), Type: aftersalesv1.Ticket_REPAIR, Channel: aftersalesv1.Ticket_PHONE, Title: title,
		}})
		require.NoError(t, err)
		opened = append(opened, tk)
	}
	dispatched, err := tickets.AssignTicket(ctx, &aftersalesv1.AssignTicketRequest{Name: opened[0].GetName(), Partner: shop.GetName()})
	require.NoError(t, err)
	keys := aftersalesv1.NewApiKeyServiceClient(admin)
	shopKey, err := keys.CreateApiKey(ctx, &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{Partner: shop.GetName()}})
	require.NoError(t, err)
	other, err := partners.CreatePartner(ctx, &aftersalesv1.CreatePartnerRequest{Partner: &aftersalesv1.Partner{DisplayName: "Other"}})
	require.NoError(t, err)
	otherKey, err := keys.CreateApiKey(ctx, &aftersalesv1.CreateApiKeyRequest{ApiKey: &aftersalesv1.ApiKey{Partner: other.GetName()}})
	require.NoError(t, err)

	shopCert := partnerCA.issue(t, partnerCert(t, shop.GetName()))
	listTickets := func(conn *grpc.ClientConn, ctx context.Context) ([]string, error) {
		resp, err := aftersalesv1.NewTicketServiceClient(conn).ListTickets(ctx, &aftersalesv1.ListTicketsRequest{})
		var names []string
		for _, tk := range resp.GetTickets() {
			names = append(names, tk.GetName())
		}
		return names, err
	}

	t.Run("certificate alone", func(t *testing.T) {
		conn := tlsConn(t, addr, roots, &shopCert)
		names, err := listTickets(conn, context.Background())
		require.NoError(t, err)
		require.Equal(t, []string{dispatched.GetName()}, names, "the shop sees its own work only")
		_, err = aftersalesv1.NewTicketServiceClient(conn).GetTicket(context.Background(), &aftersalesv1.GetTicketRequest{Name: opened[1].GetName()})
		require.Equal(t, codes.NotFound, status.Code(err), "another ticket is out of scope")
		_, err = aftersalesv1.NewApiKeyServiceClient(conn).ListApiKeys(context.Background(), &aftersalesv1.ListApiKeysRequest{})
		require.Equal(t, codes.PermissionDenied, status.Code(err), "with a partner's rights")
	})

	t.Run("certificate and the same partner's key", func(t *testing.T) {
		names, err := listTickets(tlsConn(t, addr, roots, &shopCert), as(shopKey.GetSecret()))
		require.NoError(t, err)
		require.Equal(t, []string{dispatched.GetName()}, names)
	})

	t.Run("certificate and another's key", func(t *testing.T) {
		conn := tlsConn(t, addr, roots, &shopCert)
		for _, key := range []string{otherKey.GetSecret(), ta.BootstrapKey()} {
			_, err := listTickets(conn, as(key))
			require.Equal(t, codes.Unauthenticated, status.Code(err))
			require.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err))
			require.Equal(t, "missing or invalid credentials", status.Convert(err).Message())
		}
	})

	t.Run("certificate of no active partner", func(t *testing.T) {
		for name, partner := range map[string]string{"unknown": "partners/nobody", "inactive": closed.GetName()} {
			cert := partnerCA.issue(t, partnerCert(t, partner))
			_, err := listTickets(tlsConn(t, addr, roots, &cert), context.Background())
			require.Equal(t, codes.Unauthenticated, status.Code(err), name)
			require.Equal(t, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, apierr.Reason(err), name)
		}
	})

	t.Run("certificate from another CA", func(t *testing.T) {
		cert := foreignCA.issue(t, partnerCert(t, shop.GetName()))
		// Go clients offer a certificate only if the server lists its
		// issuer among the CAs it accepts, so this one is not sent and
		// the call has no credentials.
		_, err := listTickets(tlsConn(t, addr, roots, &cert), context.Background())
		require.Equal(t, codes.Unauthenticated, status.Code(err), err)

		// A client that sends it anyway fails the handshake, so no call
		// reaches the server. Under TLS 1.3 the server checks the
		// client's certificate after the client has finished its side,
		// so the error comes with the first call rather than the dial.
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			RootCAs:              roots,
			MinVersion:           tls.VersionTLS12,
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		})))
		require.NoError(t, err)
		defer conn.Close()
		// Whether the client reads the server's alert or only sees the
		// connection close first is a race, so only the code is certain.
		_, err = listTickets(conn, as(shopKey.GetSecret()))
		require.Equal(t, codes.Unavailable, status.Code(err), err)

		// So does a client that trusts another server CA, and one speaking
		// plaintext.
		_, err = listTickets(tlsConn(t, addr, foreignCA.pool(), nil), as(shopKey.GetSecret()))
		require.Equal(t, codes.Unavailable, status.Code(err), err)
		plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		require.NoError(t, err)
		defer plain.Close()
		_, err = listTickets(plain, as(shopKey.GetSecret()))
		require.Equal(t, codes.Unavailable, status.Code(err), err)
	})

	t.Run("key without a certificate", func(t *testing.T) {
		names, err := listTickets(tlsConn(t, addr, roots, nil), as(shopKey.GetSecret()))
		require.NoError(t, err)
		require.Equal(t, []string{dispatched.GetName()}, names)
	})

	t.Run("JSON over HTTPS", func(t *testing.T) {
		code, body := httpsGet(t, roots, https+"/v1/tickets", shopKey.GetSecret())
		require.Equal(t, http.StatusOK, code, body)
		var resp struct {
			Tickets []struct {
				Name string `json:"name"`
			} `json:"tickets"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &resp))
		require.Len(t, resp.Tickets, 1)
		require.Equal(t, dispatched.GetName(), resp.Tickets[0].Name)

		code, body = httpsGet(t, roots, https+"/v1/tickets", "")
		require.Equal(t, http.StatusUnauthorized, code, body)
		code, body = httpsGet(t, roots, https+"/healthz", "")
		require.Equal(t, http.StatusOK, code, body)
	})

	t.Run("health needs no credentials", func(t *testing.T) {
		unknown := partnerCA.issue(t, partnerCert(t, "partners/nobody"))
		for _, client := range []*tls.Certificate{nil, &unknown} {
			resp, err := healthpb.NewHealthClient(tlsConn(t, addr, roots, client)).Check(context.Background(), &healthpb.HealthCheckRequest{})
			require.NoError(t, err)
			require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus())
		}
	})
}

// TestTLSGatewayServerName checks that the gateway reaches the gRPC server
// over TLS whatever names the server certificate holds, verifying it
// against the certificate itself rather than a CA.
func TestTLSGatewayServerName(t *testing.T) {
	ca := newTestCA(t, "server CA")
	for _, names := range [][]string{
		{"127.0.0.1"},
		{"api.example.test"},
		{"*.example.test"},
	} {
		t.Run(names[0], func(t *testing.T) {
			certFile, keyFile := writePEM(t, t.TempDir(), ca.issue(t, serverCert(names...)))
			ta := start(t, func(c *config.Config) { c.TLSCert, c.TLSKey = certFile, keyFile })
			// Clients verify the name they dial, which these
			// certificates need not hold; the gateway is what is tested.
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool(), ServerName: serverName(names[0])}}
			defer tr.CloseIdleConnections()
			req, err := http.NewRequest(http.MethodGet, "https://"+ta.HTTPAddr()+"/v1/staff", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", bearer(ta.BootstrapKey()))
			resp, err := (&http.Client{Transport: tr}).Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		})
	}
}

// serverName is a name a client may verify a certificate for name by.
func serverName(name string) string {
	if name[0] == '*' {
		return "x" + name[1:]
	}
	return name
}

func TestTLSConfigErrors(t *testing.T) {
	ca := newTestCA(t, "server CA")
	dir := t.TempDir()
	certFile, keyFile := writePEM(t, dir, ca.issue(t, serverCert("localhost")))
	noSANDir := t.TempDir()
	noSANCert, noSANKey := writePEM(t, noSANDir, ca.issue(t, serverCert()))
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a certificate"), 0o600))

	for _, tt := range []struct {
		name                string
		cert, key, clientCA string
		wantErr             string
	}{
		{"missing certificate", filepath.Join(dir, "nope.pem"), keyFile, "", "load --tls-cert and --tls-key"},
		{"key of another certificate", certFile, noSANKey, "", "load --tls-cert and --tls-key"},
		{"no subject alternative name", noSANCert, noSANKey, "", "no DNS or IP subject alternative name"},
		{"missing client CA", certFile, keyFile, filepath.Join(dir, "nope.pem"), "read --tls-client-ca"},
		{"client CA without certificates", certFile, keyFile, notPEM, "holds no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.DataDir = t.TempDir()
			cfg.TLSCert, cfg.TLSKey, cfg.TLSClientCA = tt.cert, tt.key, tt.clientCA
			require.NoError(t, cfg.Validate())
			_, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
			require.ErrorContains(t, err, tt.wantErr)
			entries, err := os.ReadDir(cfg.DataDir)
			require.NoError(t, err)
			require.Empty(t, entries, "no database was created")
		})
	}
}
