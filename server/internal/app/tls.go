package app

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aftersales/aftersales/server/internal/config"
)

// tlsConfigs are the TLS settings of the process's three endpoints.
type tlsConfigs struct {
	// grpc is the gRPC server's. With a client CA configured it asks for
	// a client certificate and verifies one if given; package auth maps a
	// verified one to a partner.
	grpc *tls.Config
	// http is the HTTP server's. It asks for no client certificate: the
	// gateway could not pass one on to the gRPC server (see selfTLS).
	http *tls.Config
	// self is the gateway's, as a client of the gRPC server.
	self *tls.Config
}

// loadTLS reads the certificate, key and client CAs that cfg names. When
// cfg does not configure TLS, every field is nil: plaintext.
func loadTLS(cfg config.Config) (tlsConfigs, error) {
	if !cfg.TLS() {
		return tlsConfigs{}, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return tlsConfigs{}, fmt.Errorf("load --tls-cert and --tls-key: %w", err)
	}
	self, err := selfTLS(cert)
	if err != nil {
		return tlsConfigs{}, fmt.Errorf("--tls-cert: %w", err)
	}
	server := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	c := tlsConfigs{grpc: server.Clone(), http: server, self: self}
	if cfg.TLSClientCA != "" {
		pem, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return tlsConfigs{}, fmt.Errorf("read --tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return tlsConfigs{}, fmt.Errorf("--tls-client-ca %s holds no PEM certificate", cfg.TLSClientCA)
		}
		c.grpc.ClientCAs = pool
		// Not RequireAndVerifyClientCert: staff, customers and partners
		// without a certificate keep using keys and tokens on the same
		// port. A certificate that is sent must verify, or the handshake
		// fails.
		c.grpc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return c, nil
}

// selfTLS returns the client configuration with which the gateway dials
// the gRPC server: it trusts exactly the server's own certificate, and no
// CA, so it works with a self-signed certificate and with one from a
// public CA alike, and nothing but this process can answer.
//
// Go verifies the host name even against a pinned certificate, and the
// gateway dials an IP address that the certificate need not name. So it
// verifies against a name the certificate does hold: its first DNS
// subject alternative name, else its first IP one. The certificate must
// therefore have one; a certificate naming its host only in the subject
// common name is refused by Go clients anyway.
func selfTLS(cert tls.Certificate) (*tls.Config, error) {
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	var name string
	switch {
	case len(leaf.DNSNames) > 0:
		name = leaf.DNSNames[0]
		// A wildcard name matches any one label in its place.
		if rest, ok := strings.CutPrefix(name, "*."); ok {
			name = "gateway." + rest
		}
	case len(leaf.IPAddresses) > 0:
		name = leaf.IPAddresses[0].String()
	default:
		return nil, errors.New("the certificate has no DNS or IP subject alternative name for the JSON gateway to verify it by")
	}
	// A certificate that is not a CA cannot sign others, so as the only
	// root it admits itself alone.
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return &tls.Config{
		RootCAs:    roots,
		ServerName: name,
		MinVersion: tls.VersionTLS12,
	}, nil
}
