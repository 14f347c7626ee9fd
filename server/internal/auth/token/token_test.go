package token_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/auth/token"
)

const (
	testIssuer   = "https://id.example.test"
	testAudience = "aftersales-mobile"
	testSubject  = "cust-42"
)

// testNow is the fixed clock of every verifier in these tests, so expiry
// cases do not depend on when the tests run.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

var testSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

// Keys are generated once: RSA generation is the slow part of the suite.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSA(2048) })
	ecKey  = sync.OnceValue(func() *ecdsa.PrivateKey { return mustEC(elliptic.P256()) })
)

func mustRSA(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func mustEC(c elliptic.Curve) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

// claims returns valid claims; tests change or delete entries.
func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": testSubject,
		"iat": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(10 * time.Minute).Unix(),
	}
}

// sign signs c with method and key, setting kid when it is not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// writeFile writes data to a file in a fresh temporary directory.
func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}

func publicKeyPEM(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func jwksJSON(t testing.TB, keys ...jose.JSONWebKey) []byte {
	t.Helper()
	data, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	require.NoError(t, err)
	return data
}

func newVerifier(t testing.TB, cfg token.Config) *token.Verifier {
	t.Helper()
	cfg.Issuer, cfg.Audience, cfg.Now = testIssuer, testAudience, fixedNow
	v, err := token.New(cfg)
	require.NoError(t, err)
	return v
}

func hmacVerifier(t testing.TB) *token.Verifier {
	return newVerifier(t, token.Config{HMACSecret: testSecret})
}

func rsaPEMVerifier(t testing.TB) (*token.Verifier, []byte) {
	pemBytes := publicKeyPEM(t, &rsaKey().PublicKey)
	return newVerifier(t, token.Config{KeyFile: writeFile(t, "rsa.pem", pemBytes)}), pemBytes
}

func ecJWKSVerifier(t testing.TB) *token.Verifier {
	data := jwksJSON(t,
		jose.JSONWebKey{Key: &ecKey().PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		jose.JSONWebKey{Key: &rsaKey().PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
	)
	return newVerifier(t, token.Config{KeyFile: writeFile(t, "jwks.json", data)})
}

func TestVerifyHMAC(t *testing.T) {
	v := hmacVerifier(t)
	sub, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", claims()))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyRS256PEM(t *testing.T) {
	v, _ := rsaPEMVerifier(t)
	sub, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey(), "", claims()))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyRS256Certificate(t *testing.T) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "issuer"},
		NotBefore:    testNow.Add(-time.Hour),
		NotAfter:     testNow.Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &rsaKey().PublicKey, rsaKey())
	require.NoError(t, err)
	path := writeFile(t, "cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	v := newVerifier(t, token.Config{KeyFile: path})

	sub, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey(), "", claims()))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyES256JWKS(t *testing.T) {
	v := ecJWKSVerifier(t)
	sub, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodES256, ecKey(), "ec-1", claims()))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)

	// The second key of the set works too, under its own kid.
	sub, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, rsaKey(), "rsa-1", claims()))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyWithinLeeway(t *testing.T) {
	c := claims()
	c["exp"] = testNow.Add(-10 * time.Second).Unix() // default leeway is 30s
	sub, err := hmacVerifier(t).Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", c))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyAudienceList(t *testing.T) {
	c := claims()
	c["aud"] = []string{"other", testAudience}
	sub, err := hmacVerifier(t).Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", c))
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

func TestVerifyCustomSubjectClaim(t *testing.T) {
	v := newVerifier(t, token.Config{HMACSecret: testSecret, SubjectClaim: "customer_id"})

	c := claims()
	c["customer_id"] = "c-7"
	sub, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", c))
	require.NoError(t, err)
	require.Equal(t, "c-7", sub)

	// sub alone is not enough once another claim is configured.
	_, err = v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", claims()))
	require.ErrorIs(t, err, token.ErrInvalidToken)
	require.ErrorContains(t, err, `"customer_id"`)
}

// noneToken builds an unsigned token by hand, since golang-jwt only signs
// with "none" given its unsafe constant, and an attacker needs no library.
func noneToken(t testing.TB, c jwt.MapClaims) string {
	t.Helper()
	payload, err := json.Marshal(c)
	require.NoError(t, err)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

// tamper flips a character in the middle of the signature, where every
// bit is significant, unlike the last base64 character.
func tamper(raw string) string {
	i := strings.LastIndexByte(raw, '.') + (len(raw)-strings.LastIndexByte(raw, '.'))/2
	b := []byte(raw)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestVerifyRejects(t *testing.T) {
	hmacV := hmacVerifier(t)
	rsaV, rsaPEM := rsaPEMVerifier(t)
	jwksV := ecJWKSVerifier(t)

	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := claims()
		change(c)
		return c
	}
	hs := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, testSecret, "", c) }
	valid := hs(claims())

	// Swap the payload of a valid token for another: the signature no
	// longer covers it.
	forgedPayload := func() string {
		parts := strings.Split(valid, ".")
		other := strings.Split(hs(with(func(c jwt.MapClaims) { c["sub"] = "someone-else" })), ".")
		return parts[0] + "." + other[1] + "." + parts[2]
	}()

	tests := []struct {
		name   string
		v      *token.Verifier
		raw    string
		detail string // part of the logged reason
	}{
		{"expired", hmacV, hs(with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-time.Minute).Unix() })), "expired"},
		{"not yet valid", hmacV, hs(with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(5 * time.Minute).Unix() })), "not valid yet"},
		{"issued in the future", hmacV, hs(with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(5 * time.Minute).Unix() })), "before issued"},
		{"missing exp", hmacV, hs(with(func(c jwt.MapClaims) { delete(c, "exp") })), "exp"},
		{"wrong issuer", hmacV, hs(with(func(c jwt.MapClaims) { c["iss"] = "https://evil.test" })), "issuer"},
		{"missing issuer", hmacV, hs(with(func(c jwt.MapClaims) { delete(c, "iss") })), "iss"},
		{"wrong audience", hmacV, hs(with(func(c jwt.MapClaims) { c["aud"] = "other-app" })), "audience"},
		{"missing audience", hmacV, hs(with(func(c jwt.MapClaims) { delete(c, "aud") })), "aud"},
		{"empty subject", hmacV, hs(with(func(c jwt.MapClaims) { c["sub"] = "" })), `"sub"`},
		{"missing subject", hmacV, hs(with(func(c jwt.MapClaims) { delete(c, "sub") })), `"sub"`},
		{"numeric subject", hmacV, hs(with(func(c jwt.MapClaims) { c["sub"] = 42 })), `"sub"`},
		{"long subject", hmacV, hs(with(func(c jwt.MapClaims) { c["sub"] = strings.Repeat("x", 129) })), "more than 128"},
		{"alg none against HMAC", hmacV, noneToken(t, claims()), "none"},
		{"alg none against RSA", rsaV, noneToken(t, claims()), "none"},
		{"alg none against JWKS", jwksV, noneToken(t, claims()), "none"},
		// The classic key confusion: the attacker signs HS256 with the
		// public key's bytes, hoping the server uses them as an HMAC key.
		{"key confusion", rsaV, sign(t, jwt.SigningMethodHS256, rsaPEM, "", claims()), "HS256"},
		{"unexpected algorithm", hmacV, sign(t, jwt.SigningMethodHS512, bytes.Repeat(testSecret, 2), "", claims()), "HS512"},
		{"wrong HMAC secret", hmacV, sign(t, jwt.SigningMethodHS256, []byte("ffffffffffffffffffffffffffffffff"), "", claims()), "signature"},
		{"wrong RSA key", rsaV, sign(t, jwt.SigningMethodRS256, mustRSA(2048), "", claims()), "signature"},
		{"unknown kid", jwksV, sign(t, jwt.SigningMethodES256, ecKey(), "ec-2", claims()), "unknown kid"},
		{"missing kid", jwksV, sign(t, jwt.SigningMethodES256, ecKey(), "", claims()), "no kid"},
		{"kid of another key type", jwksV, sign(t, jwt.SigningMethodES256, ecKey(), "rsa-1", claims()), "does not fit"},
		{"tampered signature", hmacV, tamper(valid), "signature"},
		{"tampered RSA signature", rsaV, tamper(sign(t, jwt.SigningMethodRS256, rsaKey(), "", claims())), "signature"},
		{"tampered ES256 signature", jwksV, tamper(sign(t, jwt.SigningMethodES256, ecKey(), "ec-1", claims())), "signature"},
		{"forged payload", hmacV, forgedPayload, "signature"},
		{"empty", hmacV, "", "empty"},
		{"garbage", hmacV, "not a token", "malformed"},
		{"three dots", hmacV, "a.b.c", "malformed"},
		{"only dots", hmacV, "..", "malformed"},
		{"bearer prefix", hmacV, "Bearer " + valid, "malformed"},
		{"huge", hmacV, strings.Repeat("a", 9000), "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := tt.v.Verify(context.Background(), tt.raw)
			require.ErrorIs(t, err, token.ErrInvalidToken)
			require.ErrorContains(t, err, tt.detail)
			require.Empty(t, sub)
		})
	}
}

// The wrapped error keeps golang-jwt's sentinels, so logs and metrics can
// tell causes apart while the client sees none of it.
func TestVerifyErrorKeepsCause(t *testing.T) {
	c := claims()
	c["exp"] = testNow.Add(-time.Hour).Unix()
	_, err := hmacVerifier(t).Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", c))
	require.ErrorIs(t, err, token.ErrInvalidToken)
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
}

func TestVerifyConfiguredLeeway(t *testing.T) {
	v := newVerifier(t, token.Config{HMACSecret: testSecret, Leeway: time.Second})
	c := claims()
	c["exp"] = testNow.Add(-10 * time.Second).Unix()
	_, err := v.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, testSecret, "", c))
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
}

func BenchmarkVerifyHMAC(b *testing.B) {
	v := hmacVerifier(b)
	raw := sign(b, jwt.SigningMethodHS256, testSecret, "", claims())
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS256(b *testing.B) {
	v, _ := rsaPEMVerifier(b)
	raw := sign(b, jwt.SigningMethodRS256, rsaKey(), "", claims())
	ctx := context.Background()
	for b.Loop() {
		if _, err := v.Verify(ctx, raw); err != nil {
			b.Fatal(err)
		}
	}
}
