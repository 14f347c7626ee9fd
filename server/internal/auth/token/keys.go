package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	// go-jose/v4 parses the JWKS: one maintained module without
	// dependencies. MicahParks/keyfunc/v3 could load the file too
	// (NewJWKSetJSON), but it brings a JWKS HTTP client and a rate
	// limiter this package never uses, and with no kid in a token it
	// tries every key, where we want to pick the key and check its kind
	// ourselves.
	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
)

// minRSABits is the smallest RSA modulus accepted; NIST has disallowed
// shorter keys for signatures since 2013.
const minRSABits = 2048

// publicKey is one verification key.
type publicKey struct {
	key crypto.PublicKey
	// alg is the JWK's "alg" member, or "" when the key does not restrict
	// its algorithm (always so for PEM keys).
	alg string
}

// fits reports whether k may verify a token signed with alg.
func (k publicKey) fits(alg string) bool {
	return (k.alg == "" || k.alg == alg) && keyFitsAlg(k.key, alg)
}

// keySet holds the keys of a key file.
type keySet struct {
	// byKID maps kid to key for a JWKS file. It is nil for a PEM file.
	byKID map[string]publicKey
	// single is the key of a PEM file.
	single publicKey
}

// all returns every key in the set.
func (s *keySet) all() []publicKey {
	if s.byKID == nil {
		return []publicKey{s.single}
	}
	keys := make([]publicKey, 0, len(s.byKID))
	for _, k := range s.byKID {
		keys = append(keys, k)
	}
	return keys
}

// defaultKeyAlgorithms are the algorithms accepted with a key file when the
// configuration names none, narrowed to those the file's keys can verify.
var defaultKeyAlgorithms = []string{"RS256", "ES256"}

// algorithms returns the algorithms to accept with s: requested, or the
// defaults that fit. It refuses any requested algorithm that no key can
// verify, and so in particular every HS* algorithm: accepting HMAC with a
// public key would let anyone who has the public key sign tokens with it.
func (s *keySet) algorithms(requested []string) ([]string, error) {
	fitsSome := func(alg string) bool {
		return slices.ContainsFunc(s.all(), func(k publicKey) bool { return k.fits(alg) })
	}
	if len(requested) == 0 {
		var algs []string
		for _, alg := range defaultKeyAlgorithms {
			if fitsSome(alg) {
				algs = append(algs, alg)
			}
		}
		if len(algs) == 0 {
			return nil, fmt.Errorf("no key fits the default algorithms %s; set the algorithms to use",
				strings.Join(defaultKeyAlgorithms, ", "))
		}
		return algs, nil
	}
	for _, alg := range requested {
		if !fitsSome(alg) {
			return nil, fmt.Errorf("algorithm %q cannot be verified with any key in the file", alg)
		}
	}
	return slices.Clone(requested), nil
}

// keyFor is the jwt.Keyfunc of a key file: it picks the key by kid for a
// JWKS and checks that the key fits the token's algorithm, so that a key is
// never used with an algorithm of another family.
func (s *keySet) keyFor(t *jwt.Token) (any, error) {
	alg := t.Method.Alg()
	k := s.single
	if s.byKID != nil {
		// Choosing the key by kid, rather than trying each, is what a JWKS
		// is for, and an unknown kid is then a clear log line.
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("token has no kid")
		}
		var ok bool
		if k, ok = s.byKID[kid]; !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
	}
	if !k.fits(alg) {
		return nil, fmt.Errorf("key does not fit algorithm %s", alg)
	}
	return k.key, nil
}

// keyFitsAlg reports whether key can verify alg. ECDSA keys fit only the
// algorithm of their curve (RFC 7518 section 3.4).
func keyFitsAlg(key crypto.PublicKey, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		switch alg {
		case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
			return true
		}
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	}
	return false
}

// checkKey refuses keys of unsupported kinds and RSA keys too weak to
// trust.
func checkKey(key crypto.PublicKey) error {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("RSA key has %d bits, fewer than %d", k.N.BitLen(), minRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return fmt.Errorf("unsupported EC curve %s", k.Curve.Params().Name)
	default:
		return fmt.Errorf("unsupported key type %T; want an RSA or EC public key", key)
	}
}

// loadKeyFile reads a PEM or JWKS file, telling them apart by content so
// that operators need not configure the format.
func loadKeyFile(path string) (*keySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("token: read key file: %w", err)
	}
	var keys *keySet
	trimmed := bytes.TrimSpace(data)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		keys, err = parseJWKS(trimmed)
	case bytes.Contains(trimmed, []byte("-----BEGIN ")):
		keys, err = parsePEM(trimmed)
	default:
		err = errors.New("neither PEM nor JWKS JSON")
	}
	if err != nil {
		return nil, fmt.Errorf("token: key file %s: %w", path, err)
	}
	return keys, nil
}

// parsePEM reads exactly one public key or certificate. Several keys, for
// rotation, belong in a JWKS file, where kid tells them apart; refusing
// extra blocks keeps a second key from being silently ignored.
func parsePEM(data []byte) (*keySet, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("more than one PEM block; put several keys in a JWKS file")
	}
	var (
		key crypto.PublicKey
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		// The certificate only carries the key: its validity dates and
		// chain are not checked, because the operator chose this file.
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	default:
		if strings.Contains(block.Type, "PRIVATE KEY") {
			return nil, errors.New("holds a private key; configure the public key only")
		}
		return nil, fmt.Errorf("unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return &keySet{single: publicKey{key: key}}, nil
}

// parseJWKS reads a JWK Set of RSA and EC public keys, each with a distinct
// kid.
func parseJWKS(data []byte) (*keySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	byKID := make(map[string]publicKey, len(set.Keys))
	for i, jwk := range set.Keys {
		if jwk.Use != "" && jwk.Use != "sig" {
			continue // An encryption key never verifies a signature.
		}
		if jwk.KeyID == "" {
			return nil, fmt.Errorf("key %d has no kid", i)
		}
		if _, dup := byKID[jwk.KeyID]; dup {
			return nil, fmt.Errorf("kid %q appears twice", jwk.KeyID)
		}
		if _, symmetric := jwk.Key.([]byte); symmetric {
			// A shared secret in a key file would let HS* tokens in
			// beside the public keys; HMAC has its own setting.
			return nil, fmt.Errorf("key %q is symmetric; configure an HMAC secret instead", jwk.KeyID)
		}
		if !jwk.IsPublic() {
			return nil, fmt.Errorf("key %q holds private key material; publish public keys only", jwk.KeyID)
		}
		if err := checkKey(jwk.Key); err != nil {
			return nil, fmt.Errorf("key %q: %w", jwk.KeyID, err)
		}
		k := publicKey{key: jwk.Key, alg: jwk.Algorithm}
		if k.alg != "" && !k.fits(k.alg) {
			return nil, fmt.Errorf("key %q cannot verify its own alg %q", jwk.KeyID, k.alg)
		}
		byKID[jwk.KeyID] = k
	}
	if len(byKID) == 0 {
		return nil, errors.New("JWKS has no signing keys")
	}
	return &keySet{byKID: byKID}, nil
}
