package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// defaultMintTTL is how long a minted token lives unless told otherwise:
// long enough for a session of trying the app, short enough that a leaked
// development token soon dies.
const defaultMintTTL = time.Hour

// MintConfig describes a development token. Its fields mirror the Config of
// the server that will verify the token.
type MintConfig struct {
	// Issuer and Audience must equal the verifying server's.
	Issuer   string
	Audience string
	// Secret is the verifying server's HMAC secret, at least 32 bytes.
	Secret []byte
	// Subject is the customer id the token stands for.
	Subject string
	// SubjectClaim is the server's subject claim; the default is "sub".
	// The subject is always put in "sub" as well.
	SubjectClaim string
	// TTL is the token's lifetime; zero means one hour.
	TTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Mint returns an HS256 token for cfg, with iss, aud, sub, iat and exp, for
// trying the customer (mobile) flow against a local server.
//
// It only helps with a server configured with an HMAC secret: a server that
// verifies with a key file refuses HS256 by design, and production issuers
// sign with their own private keys, which this package never holds.
func Mint(cfg MintConfig) (string, error) {
	if cfg.Issuer == "" {
		return "", errors.New("token: issuer is required")
	}
	if cfg.Audience == "" {
		return "", errors.New("token: audience is required")
	}
	if err := checkSubject(cfg.Subject); err != nil {
		return "", err
	}
	// Hold minted tokens to the verifier's rule, so a secret the server
	// would refuse fails here with a clear message.
	if minLen := hmacMinSecretLen["HS256"]; len(cfg.Secret) < minLen {
		return "", fmt.Errorf("token: HMAC secret is %d bytes, HS256 needs at least %d", len(cfg.Secret), minLen)
	}
	if cfg.TTL < 0 {
		return "", fmt.Errorf("token: negative TTL %v", cfg.TTL)
	}
	ttl := cfg.TTL
	if ttl == 0 {
		ttl = defaultMintTTL
	}
	now := time.Now()
	if cfg.Now != nil {
		now = cfg.Now()
	}

	claims := jwt.MapClaims{
		"iss": cfg.Issuer,
		"aud": cfg.Audience,
		"sub": cfg.Subject,
		"iat": jwt.NewNumericDate(now),
		"exp": jwt.NewNumericDate(now.Add(ttl)),
	}
	if c := cfg.SubjectClaim; c != "" && c != "sub" {
		if _, taken := claims[c]; taken {
			return "", fmt.Errorf("token: subject claim %q is a registered claim", c)
		}
		claims[c] = cfg.Subject
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cfg.Secret)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return signed, nil
}
