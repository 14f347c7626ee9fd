package token_test

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/aftersales/aftersales/server/internal/auth/token"
)

func mintConfig() token.MintConfig {
	return token.MintConfig{
		Issuer:   testIssuer,
		Audience: testAudience,
		Secret:   testSecret,
		Subject:  testSubject,
		TTL:      15 * time.Minute,
		Now:      fixedNow,
	}
}

func TestMintVerifies(t *testing.T) {
	raw, err := token.Mint(mintConfig())
	require.NoError(t, err)

	sub, err := hmacVerifier(t).Verify(t.Context(), raw)
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)

	// The token carries exactly what the issue asks for, signed HS256.
	parsed, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	require.NoError(t, err)
	require.Equal(t, "HS256", parsed.Method.Alg())
	c := parsed.Claims.(jwt.MapClaims)
	require.Equal(t, testIssuer, c["iss"])
	require.Equal(t, testAudience, c["aud"])
	require.Equal(t, testSubject, c["sub"])
	require.InDelta(t, float64(testNow.Unix()), c["iat"], 0)
	require.InDelta(t, float64(testNow.Add(15*time.Minute).Unix()), c["exp"], 0)
}

func TestMintExpires(t *testing.T) {
	raw, err := token.Mint(mintConfig())
	require.NoError(t, err)

	later := token.Config{
		Issuer: testIssuer, Audience: testAudience, HMACSecret: testSecret,
		Now: func() time.Time { return testNow.Add(16 * time.Minute) },
	}
	v, err := token.New(later)
	require.NoError(t, err)
	_, err = v.Verify(t.Context(), raw)
	require.ErrorIs(t, err, token.ErrInvalidToken)
	require.ErrorIs(t, err, jwt.ErrTokenExpired)
}

func TestMintDefaultTTL(t *testing.T) {
	cfg := mintConfig()
	cfg.TTL = 0
	raw, err := token.Mint(cfg)
	require.NoError(t, err)
	parsed, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims{})
	require.NoError(t, err)
	exp, err := parsed.Claims.GetExpirationTime()
	require.NoError(t, err)
	require.Equal(t, testNow.Add(time.Hour), exp.UTC())
}

func TestMintCustomSubjectClaim(t *testing.T) {
	cfg := mintConfig()
	cfg.SubjectClaim = "customer_id"
	raw, err := token.Mint(cfg)
	require.NoError(t, err)

	v := newVerifier(t, token.Config{HMACSecret: testSecret, SubjectClaim: "customer_id"})
	sub, err := v.Verify(t.Context(), raw)
	require.NoError(t, err)
	require.Equal(t, testSubject, sub)
}

// A minted token is HMAC-signed, so a server verifying with a key file
// refuses it: Mint is for HMAC configurations only.
func TestMintRefusedByKeyFileVerifier(t *testing.T) {
	raw, err := token.Mint(mintConfig())
	require.NoError(t, err)
	v, _ := rsaPEMVerifier(t)
	_, err = v.Verify(t.Context(), raw)
	require.ErrorIs(t, err, token.ErrInvalidToken)
}

func TestMintConfig(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*token.MintConfig)
		wantErr string
	}{
		{"missing issuer", func(c *token.MintConfig) { c.Issuer = "" }, "issuer"},
		{"missing audience", func(c *token.MintConfig) { c.Audience = "" }, "audience"},
		{"missing subject", func(c *token.MintConfig) { c.Subject = "" }, "subject"},
		{"long subject", func(c *token.MintConfig) { c.Subject = string(make([]byte, 129)) }, "more than 128"},
		{"short secret", func(c *token.MintConfig) { c.Secret = testSecret[:16] }, "16 bytes"},
		{"negative TTL", func(c *token.MintConfig) { c.TTL = -time.Minute }, "TTL"},
		{"registered subject claim", func(c *token.MintConfig) { c.SubjectClaim = "exp" }, "registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mintConfig()
			tt.change(&cfg)
			raw, err := token.Mint(cfg)
			require.ErrorContains(t, err, tt.wantErr)
			require.Empty(t, raw)
		})
	}
}
