package token_test

import (
	"bytes"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/auth/token"
)

func TestNewConfig(t *testing.T) {
	rsaPEM := writeFile(t, "rsa.pem", publicKeyPEM(t, &rsaKey().PublicKey))
	ecPEM := writeFile(t, "ec.pem", publicKeyPEM(t, &ecKey().PublicKey))
	p384PEM := writeFile(t, "p384.pem", publicKeyPEM(t, &mustEC(elliptic.P384()).PublicKey))
	pkcs1PEM := writeFile(t, "pkcs1.pem", pem.EncodeToMemory(&pem.Block{
		Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey().PublicKey),
	}))
	weakPEM := writeFile(t, "weak.pem", publicKeyPEM(t, &mustRSA(1024).PublicKey))
	privDER, err := x509.MarshalPKCS8PrivateKey(rsaKey())
	require.NoError(t, err)
	privatePEM := writeFile(t, "private.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	twoPEM := writeFile(t, "two.pem", append(publicKeyPEM(t, &rsaKey().PublicKey), publicKeyPEM(t, &ecKey().PublicKey)...))

	ecJWK := jose.JSONWebKey{Key: &ecKey().PublicKey, KeyID: "ec-1", Use: "sig"}
	jwks := writeFile(t, "jwks.json", jwksJSON(t, ecJWK))
	jwksOct := writeFile(t, "oct.json", jwksJSON(t, ecJWK, jose.JSONWebKey{Key: testSecret, KeyID: "oct-1"}))
	jwksPrivate := writeFile(t, "private.json", jwksJSON(t, jose.JSONWebKey{Key: ecKey(), KeyID: "ec-1"}))
	jwksNoKID := writeFile(t, "nokid.json", jwksJSON(t, jose.JSONWebKey{Key: &ecKey().PublicKey}))
	jwksDup := writeFile(t, "dup.json", jwksJSON(t, ecJWK, ecJWK))
	jwksEmpty := writeFile(t, "empty.json", []byte(`{"keys":[]}`))
	jwksEncOnly := writeFile(t, "enc.json", jwksJSON(t, jose.JSONWebKey{Key: &ecKey().PublicKey, KeyID: "e", Use: "enc"}))
	jwksBadAlg := writeFile(t, "badalg.json", jwksJSON(t, jose.JSONWebKey{Key: &ecKey().PublicKey, KeyID: "e", Algorithm: "RS256"}))
	garbage := writeFile(t, "garbage", []byte("hello"))

	tests := []struct {
		name    string
		cfg     token.Config
		wantErr string // "" means New must succeed
	}{
		{"HMAC defaults", token.Config{HMACSecret: testSecret}, ""},
		{"HMAC HS512 with long secret", token.Config{HMACSecret: bytes.Repeat(testSecret, 2), Algorithms: []string{"HS256", "HS512"}}, ""},
		{"RSA PEM defaults", token.Config{KeyFile: rsaPEM}, ""},
		{"RSA PKCS1 PEM", token.Config{KeyFile: pkcs1PEM, Algorithms: []string{"RS256", "PS256"}}, ""},
		{"EC PEM defaults", token.Config{KeyFile: ecPEM}, ""},
		{"P-384 PEM with ES384", token.Config{KeyFile: p384PEM, Algorithms: []string{"ES384"}}, ""},
		{"JWKS defaults", token.Config{KeyFile: jwks}, ""},
		{"leeway and claim", token.Config{HMACSecret: testSecret, Leeway: time.Minute, SubjectClaim: "customer_id"}, ""},

		{"missing issuer", token.Config{Audience: testAudience, HMACSecret: testSecret}, "issuer"},
		{"missing audience", token.Config{Issuer: testIssuer, HMACSecret: testSecret}, "audience"},
		{"no key", token.Config{}, "required"},
		{"both keys", token.Config{HMACSecret: testSecret, KeyFile: rsaPEM}, "not both"},
		{"short secret", token.Config{HMACSecret: testSecret[:31]}, "31 bytes"},
		{"secret too short for HS384", token.Config{HMACSecret: testSecret, Algorithms: []string{"HS384"}}, "HS384"},
		{"RS256 with HMAC secret", token.Config{HMACSecret: testSecret, Algorithms: []string{"RS256"}}, "RS256"},
		{"none with HMAC secret", token.Config{HMACSecret: testSecret, Algorithms: []string{"none"}}, "none"},
		{"HS256 with RSA key file", token.Config{KeyFile: rsaPEM, Algorithms: []string{"RS256", "HS256"}}, "HS256"},
		{"HS256 with JWKS", token.Config{KeyFile: jwks, Algorithms: []string{"HS256"}}, "HS256"},
		{"none with key file", token.Config{KeyFile: rsaPEM, Algorithms: []string{"none"}}, "none"},
		{"ES256 with RSA key", token.Config{KeyFile: rsaPEM, Algorithms: []string{"ES256"}}, "ES256"},
		{"ES256 with P-384 key", token.Config{KeyFile: p384PEM, Algorithms: []string{"ES256"}}, "ES256"},
		{"no default fits P-384", token.Config{KeyFile: p384PEM}, "default algorithms"},
		{"unknown algorithm", token.Config{KeyFile: rsaPEM, Algorithms: []string{"RS1"}}, "RS1"},
		{"weak RSA key", token.Config{KeyFile: weakPEM}, "1024 bits"},
		{"private key PEM", token.Config{KeyFile: privatePEM}, "private key"},
		{"two PEM blocks", token.Config{KeyFile: twoPEM}, "more than one PEM block"},
		{"missing file", token.Config{KeyFile: filepath.Join(t.TempDir(), "absent.pem")}, "read key file"},
		{"garbage file", token.Config{KeyFile: garbage}, "neither PEM nor JWKS"},
		{"symmetric key in JWKS", token.Config{KeyFile: jwksOct}, "symmetric"},
		{"private key in JWKS", token.Config{KeyFile: jwksPrivate}, "private key material"},
		{"JWKS key without kid", token.Config{KeyFile: jwksNoKID}, "no kid"},
		{"JWKS duplicate kid", token.Config{KeyFile: jwksDup}, "twice"},
		{"empty JWKS", token.Config{KeyFile: jwksEmpty}, "no signing keys"},
		{"JWKS of encryption keys", token.Config{KeyFile: jwksEncOnly}, "no signing keys"},
		{"JWK alg not fitting key", token.Config{KeyFile: jwksBadAlg}, "cannot verify its own alg"},
		{"negative leeway", token.Config{HMACSecret: testSecret, Leeway: -time.Second}, "leeway"},
		{"huge leeway", token.Config{HMACSecret: testSecret, Leeway: time.Hour}, "leeway"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			// Fill issuer and audience unless the case is about them.
			if cfg.Issuer == "" && cfg.Audience == "" {
				cfg.Issuer, cfg.Audience = testIssuer, testAudience
			}
			v, err := token.New(cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
			require.Nil(t, v)
		})
	}
}

// New copies the secret, so a caller reusing its slice cannot change the
// key of a running verifier.
func TestNewCopiesSecret(t *testing.T) {
	secret := bytes.Clone(testSecret)
	v := newVerifier(t, token.Config{HMACSecret: secret})
	raw, err := token.Mint(token.MintConfig{Issuer: testIssuer, Audience: testAudience, Secret: testSecret, Subject: testSubject, Now: fixedNow})
	require.NoError(t, err)
	clear(secret)

	sub, err := v.Verify(t.Context(), raw)
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}
