// Package token verifies the JWTs that customers present, and mints
// development tokens for trying the mobile flow locally.
//
// A Verifier checks a token's signature against either a shared HMAC secret
// or the public keys in a local PEM or JWKS file, and requires the issuer,
// the audience and an expiry. It returns the customer id held in the subject
// claim.
//
// Every rejection wraps ErrInvalidToken. The wrapped error's message says
// why the token was refused, for the server log; callers must not pass it to
// the client, which gets one generic "invalid credentials" answer so that an
// attacker learns nothing about which part of a forged token was wrong.
package token

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	// golang-jwt/jwt/v5 is the maintained successor of the most widely
	// used Go JWT library and has no dependencies of its own. It refuses
	// "alg: none" unless handed a deliberately ugly constant, and lets us
	// pin the accepted algorithms, which is what stops key confusion.
	"github.com/golang-jwt/jwt/v5"
)

// ErrInvalidToken is wrapped by every error Verify returns. Callers test for
// it with errors.Is and answer UNAUTHENTICATED with a generic message; the
// full error text is for server logs only.
var ErrInvalidToken = errors.New("invalid token")

const (
	defaultSubjectClaim = "sub"
	defaultLeeway       = 30 * time.Second

	// maxLeeway bounds the clock-skew allowance: a larger one would quietly
	// extend every token's life, which is more likely a typo than a need.
	maxLeeway = 5 * time.Minute

	// maxSubjectLen matches the longest id a principal name may hold, so a
	// verified subject always fits a customer resource name.
	maxSubjectLen = 128

	// maxTokenLen bounds the work an unauthenticated caller can make us do
	// decoding base64 and JSON before the signature is checked. Real
	// customer tokens are well under 2 KiB.
	maxTokenLen = 8 << 10
)

// Config configures a Verifier. Exactly one of HMACSecret and KeyFile must
// be set.
type Config struct {
	// Issuer is the required value of the iss claim.
	Issuer string
	// Audience is the value the aud claim must contain.
	Audience string

	// HMACSecret verifies HS256/HS384/HS512 tokens. It must be at least as
	// long as the hash output of every allowed algorithm (32 bytes for
	// HS256), as RFC 7518 section 3.2 requires.
	HMACSecret []byte
	// KeyFile is the path of a PEM file (one RSA or EC public key, or a
	// certificate) or of a JWKS JSON file; which one is told by the file's
	// content. Tokens verified against a JWKS must name their key with kid.
	KeyFile string

	// Algorithms lists the accepted "alg" values. The default is HS256 with
	// HMACSecret, and with KeyFile those of RS256 and ES256 that the file's
	// keys can verify. Every listed algorithm must fit the configured key
	// kind: HS* is never accepted with a key file.
	Algorithms []string

	// SubjectClaim names the claim that holds the customer id; the default
	// is "sub".
	SubjectClaim string
	// Leeway is the allowed clock skew for exp, nbf and iat; zero means the
	// default of 30 seconds, and it may not exceed 5 minutes.
	Leeway time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Verifier verifies customer tokens. It is safe for concurrent use.
type Verifier struct {
	parser       *jwt.Parser
	keyfunc      jwt.Keyfunc
	subjectClaim string
}

// New checks cfg and loads its keys. Keys are read once: a rotated key file
// takes effect when a new Verifier is built.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("token: issuer is required")
	}
	if cfg.Audience == "" {
		return nil, errors.New("token: audience is required")
	}
	if cfg.Leeway < 0 || cfg.Leeway > maxLeeway {
		return nil, fmt.Errorf("token: leeway %v is outside [0, %v]", cfg.Leeway, maxLeeway)
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = defaultLeeway
	}
	subjectClaim := cfg.SubjectClaim
	if subjectClaim == "" {
		subjectClaim = defaultSubjectClaim
	}

	var (
		algs    []string
		keyfunc jwt.Keyfunc
		err     error
	)
	switch {
	case len(cfg.HMACSecret) > 0 && cfg.KeyFile != "":
		return nil, errors.New("token: set either an HMAC secret or a key file, not both")
	case len(cfg.HMACSecret) > 0:
		algs, err = hmacAlgorithms(cfg.HMACSecret, cfg.Algorithms)
		if err != nil {
			return nil, err
		}
		// Copy the secret so a caller reusing its slice cannot change the
		// key under a running server.
		secret := bytes.Clone(cfg.HMACSecret)
		keyfunc = func(*jwt.Token) (any, error) { return secret, nil }
	case cfg.KeyFile != "":
		keys, err := loadKeyFile(cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		algs, err = keys.algorithms(cfg.Algorithms)
		if err != nil {
			return nil, fmt.Errorf("token: key file %s: %w", cfg.KeyFile, err)
		}
		keyfunc = keys.keyFor
	default:
		return nil, errors.New("token: an HMAC secret or a key file is required")
	}

	opts := []jwt.ParserOption{
		// Pinning the algorithms is what defeats alg:none and key
		// confusion; the keyfunc checks the key kind again per token.
		jwt.WithValidMethods(algs),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithAudience(cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	return &Verifier{
		parser:       jwt.NewParser(opts...),
		keyfunc:      keyfunc,
		subjectClaim: subjectClaim,
	}, nil
}

// Verify checks raw, a compact JWT without any "Bearer " prefix, and returns
// the customer id from the subject claim. Every error wraps ErrInvalidToken
// and carries the detailed reason for the server log.
//
// ctx is unused today, since verification is local and never blocks; it is
// accepted so that a remote key source can honour cancellation later
// without changing callers.
func (v *Verifier) Verify(ctx context.Context, raw string) (string, error) {
	if raw == "" {
		return "", invalidf("empty token")
	}
	if len(raw) > maxTokenLen {
		return "", invalidf("token is %d bytes, more than %d", len(raw), maxTokenLen)
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(raw, claims, v.keyfunc); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	subject, ok := claims[v.subjectClaim].(string)
	if !ok || subject == "" {
		return "", invalidf("claim %q is missing, empty or not a string", v.subjectClaim)
	}
	if len(subject) > maxSubjectLen {
		return "", invalidf("claim %q is %d bytes, more than %d", v.subjectClaim, len(subject), maxSubjectLen)
	}
	return subject, nil
}

// invalidf returns an error that wraps ErrInvalidToken with a detail.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// hmacMinSecretLen is, per HMAC algorithm, the shortest secret RFC 7518
// section 3.2 allows: the size of the hash output.
var hmacMinSecretLen = map[string]int{
	"HS256": 32,
	"HS384": 48,
	"HS512": 64,
}

// hmacAlgorithms returns the algorithms an HMAC verifier accepts: requested,
// or HS256 by default. It refuses anything that is not HMAC, since a shared
// secret can only check HMAC signatures, and secrets too short for an
// algorithm.
func hmacAlgorithms(secret []byte, requested []string) ([]string, error) {
	algs := requested
	if len(algs) == 0 {
		algs = []string{"HS256"}
	}
	for _, alg := range algs {
		minLen, ok := hmacMinSecretLen[alg]
		if !ok {
			return nil, fmt.Errorf("token: algorithm %q cannot be used with an HMAC secret; allowed: HS256, HS384, HS512", alg)
		}
		if len(secret) < minLen {
			return nil, fmt.Errorf("token: HMAC secret is %d bytes, %s needs at least %d", len(secret), alg, minLen)
		}
	}
	return slices.Clone(algs), nil
}

// checkSubject reports whether subject is fit to be returned by Verify, so
// that Mint never produces a token Verify would refuse for its subject.
func checkSubject(subject string) error {
	switch {
	case subject == "":
		return errors.New("token: subject is required")
	case len(subject) > maxSubjectLen:
		return fmt.Errorf("token: subject is %d bytes, more than %d", len(subject), maxSubjectLen)
	}
	return nil
}
