package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"gorm.io/gorm/clause"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// OnBehalfOfMetadataKey names the agent a delegating service key acts
// for. The gateway forwards the HTTP header X-Aftersales-On-Behalf-Of.
const OnBehalfOfMetadataKey = "x-aftersales-on-behalf-of"

// TokenVerifier checks a customer token and returns its subject.
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (subject string, err error)
}

// Authenticator turns a request's credentials into a principal.
type Authenticator struct {
	db       *store.DB
	tokens   TokenVerifier // nil when customer tokens are not configured
	log      *slog.Logger
	throttle *Throttle // nil: failures are neither counted nor throttled
	keys     *keyCache // nil when keys are read on every call
}

// Option configures an Authenticator.
type Option func(*Authenticator)

// WithThrottle counts failed authentications per client address with t
// and refuses credentials from addresses that failed too often.
func WithThrottle(t *Throttle) Option {
	return func(a *Authenticator) { a.throttle = t }
}

// NewAuthenticator returns an Authenticator reading keys from db and
// verifying customer tokens with tokens (may be nil).
func NewAuthenticator(db *store.DB, tokens TokenVerifier, log *slog.Logger, opts ...Option) *Authenticator {
	a := &Authenticator{db: db, tokens: tokens, log: log}
	for _, opt := range opts {
		opt(a)
	}
	return a
}

// CacheKeys makes the Authenticator keep the API keys it reads for ttl
// (see keyCache): a revocation, deactivation or role change made through
// another replica then takes effect here within ttl. 0 reads every call's
// key from the database.
func (a *Authenticator) CacheKeys(ttl time.Duration) {
	a.keys = nil
	if ttl > 0 {
		a.keys = newKeyCache(ttl)
	}
}

// ForgetKeys drops the cached keys. Call it when a change to API keys,
// staff or partners commits, so it takes effect on this replica at once.
func (a *Authenticator) ForgetKeys() {
	if a.keys != nil {
		a.keys.forget()
	}
}

// errInvalid is the one answer to every credential problem: saying which
// part was wrong would help an attacker more than a client.
var errInvalid = apierr.New(codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, "missing or invalid credentials")

// errDenied is the answer for a caller whose role may not call a method.
func errDenied(method string) error {
	return apierr.Newf(codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "the caller may not call %s", method)
}

// Authorize authenticates the call's credentials and checks the policy
// table. Public methods pass without credentials.
func (a *Authenticator) Authorize(ctx context.Context, method string) (principal.Principal, error) {
	if Public(method) {
		// Credentials are optional here, but when sent they are checked
		// and name the caller (for its own rate limit and the log); the
		// health checks and reflection ignore them.
		if !publicMethods[method] || !sentCredentials(ctx) {
			return principal.Principal{}, nil
		}
		return a.Authenticate(ctx)
	}
	p, err := a.Authenticate(ctx)
	if err != nil {
		return principal.Principal{}, err
	}
	if !Allowed(method, p.Role) {
		return p, errDenied(method)
	}
	return p, nil
}

// Authenticate identifies the caller: by "authorization: Bearer
// <credential>", an API key ("ask_…") or a customer token (a JWT); or by
// a verified partner client certificate, alone or with that partner's key
// (see cert.go). With a throttle, credentials from an address that failed
// too often may be refused unchecked (see throttle.go).
func (a *Authenticator) Authenticate(ctx context.Context) (principal.Principal, error) {
	try, err := a.throttle.begin(ctx)
	if err != nil {
		return principal.Principal{}, err
	}
	p, err := a.authenticate(ctx)
	if err == nil {
		try.succeeded()
		return p, nil
	}
	if s, ok := apierrStatus(err); ok {
		// INVALID_CREDENTIALS for a malformed header, say; a delegation
		// the key may not make is not a failed authentication.
		if status.Code(s) == codes.Unauthenticated {
			try.failed(ctx)
		}
		return principal.Principal{}, s
	}
	if errors.Is(err, store.ErrUnavailable) {
		return principal.Principal{}, apierr.New(codes.Unavailable, aftersalesv1.ErrorReason_STORAGE_UNAVAILABLE, "the database is unavailable; retry later")
	}
	// The detail is for the operator, never the caller.
	attrs := []any{slog.String("detail", err.Error())}
	if try.addr.IsValid() {
		attrs = append(attrs, slog.String("client_addr", try.addr.String()))
	}
	a.log.InfoContext(ctx, "authentication failed", attrs...)
	try.failed(ctx)
	return principal.Principal{}, errInvalid
}

// authenticate does Authenticate's work; Authenticate turns its errors
// into what the caller sees.
func (a *Authenticator) authenticate(ctx context.Context) (principal.Principal, error) {
	cert := verifiedClientCert(ctx)
	if cert == nil {
		return a.fromHeader(ctx)
	}
	// A certificate that names no active partner is refused even with a
	// good key: the client chose to present it, and ignoring it would
	// hide a revoked shop or a misissued certificate.
	byCert, err := a.fromCertificate(ctx, cert)
	if err != nil {
		return principal.Principal{}, err
	}
	if len(metadata.ValueFromIncomingContext(ctx, "authorization")) == 0 {
		return byCert, nil
	}
	// A credential that fails on its own gets the answer it would get
	// without the certificate.
	byHeader, err := a.fromHeader(ctx)
	if err != nil {
		return principal.Principal{}, err
	}
	if err := sameIdentity(byCert, byHeader); err != nil {
		return principal.Principal{}, err
	}
	return byHeader, nil
}

// fromHeader reads "authorization: Bearer <credential>".
func (a *Authenticator) fromHeader(ctx context.Context) (principal.Principal, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(values) != 1 {
		return principal.Principal{}, errInvalid
	}
	scheme, cred, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || cred == "" {
		return principal.Principal{}, errInvalid
	}
	if strings.HasPrefix(cred, KeyPrefix) {
		return a.fromKey(ctx, cred)
	}
	return a.fromToken(ctx, cred)
}

func apierrStatus(err error) (error, bool) {
	if apierr.Reason(err) != aftersalesv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
		return err, true
	}
	return nil, false
}

// fromKey checks an API key against its stored hash and resolves the
// identity it is bound to.
func (a *Authenticator) fromKey(ctx context.Context, key string) (principal.Principal, error) {
	id, secret, ok := ParseKey(key)
	if !ok {
		return principal.Principal{}, errors.New("malformed API key")
	}
	row, err := a.lookupKey(ctx, id)
	if err != nil {
		return principal.Principal{}, fmt.Errorf("API key %s: %w", id, err)
	}
	if subtle.ConstantTimeCompare(row.SecretHash, hashSecret(secret)) != 1 {
		return principal.Principal{}, fmt.Errorf("API key %s: wrong secret", id)
	}
	now := a.db.Now()
	if row.RevokeTime != nil {
		return principal.Principal{}, fmt.Errorf("API key %s: revoked", id)
	}
	if row.ExpireTime != nil && !now.Before(*row.ExpireTime) {
		return principal.Principal{}, fmt.Errorf("API key %s: expired", id)
	}
	keyName := resname.Format("apiKeys", row.ID)

	var p principal.Principal
	switch {
	case row.StaffID != "":
		if row.StaffRole == nil {
			return principal.Principal{}, fmt.Errorf("API key %s: staff %s: %w", id, row.StaffID, store.ErrNotFound)
		}
		if !*row.StaffActive {
			return principal.Principal{}, fmt.Errorf("API key %s: staff %s: inactive", id, row.StaffID)
		}
		p = principal.Principal{Kind: principal.Staff, Name: resname.Format(resname.Staff, row.StaffID), Role: RoleOf(aftersalesv1.Staff_Role(*row.StaffRole))}
	case row.PartnerID != "":
		if row.PartnerActive == nil {
			return principal.Principal{}, fmt.Errorf("API key %s: partner %s: %w", id, row.PartnerID, store.ErrNotFound)
		}
		if !*row.PartnerActive {
			return principal.Principal{}, fmt.Errorf("API key %s: partner inactive: partners/%s", id, row.PartnerID)
		}
		p = principal.Principal{Kind: principal.Partner, Name: resname.Format(resname.Partners, row.PartnerID), Role: principal.RolePartner}
	default:
		p = principal.Principal{Kind: principal.Service, Name: keyName, Role: RoleOf(aftersalesv1.Staff_Role(row.ServiceRole))}
	}

	// Call-center software acting for the agent on the call.
	onBehalf := metadata.ValueFromIncomingContext(ctx, OnBehalfOfMetadataKey)
	if len(onBehalf) == 0 {
		return p, nil
	}
	if !row.CanDelegate || len(onBehalf) != 1 {
		return principal.Principal{}, apierr.Newf(codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "this key may not act on behalf of others")
	}
	staffID, ok := resname.ID(onBehalf[0], resname.Staff)
	if !ok {
		return principal.Principal{}, apierr.InvalidField(OnBehalfOfMetadataKey, "must be a staff resource name, staff/{id}")
	}
	agent, err := a.staff(ctx, staffID)
	if err != nil {
		return principal.Principal{}, apierr.InvalidField(OnBehalfOfMetadataKey, onBehalf[0]+" is not an active staff member")
	}
	// Delegation is for call-center software acting for the agent on the
	// call; acting for a manager or admin would let any delegating key
	// borrow their rights.
	if agent.Role != principal.RoleAgent {
		return principal.Principal{}, apierr.Newf(codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "a key may act only on behalf of call-center agents")
	}
	agent.Via = keyName
	return agent, nil
}

// boundKey is an API key with the state of the staff member or partner it
// is bound to (nil when there is none).
type boundKey struct {
	store.ApiKey
	StaffRole     *int32
	StaffActive   *bool
	PartnerActive *bool
}

// lookupKey reads the key with id and the state of its identity.
func (a *Authenticator) lookupKey(ctx context.Context, id string) (*boundKey, error) {
	if a.keys == nil {
		return a.readKey(ctx, id)
	}
	return a.keys.load(ctx, id, a.db.Now(), a.readKey)
}

// readKey reads the key with id and the state of its identity from the
// database.
func (a *Authenticator) readKey(ctx context.Context, id string) (*boundKey, error) {
	// One round trip for the key and its identity: this runs before every
	// call, and was two primary-key lookups. (Built rather than Raw, so
	// the SQL is logged with placeholders, never values.)
	var row boundKey
	res := a.db.Gorm(ctx).Table("api_keys k").
		Select("k.*, s.role AS staff_role, s.active AS staff_active, p.active AS partner_active").
		Joins("LEFT JOIN staff s ON s.id = k.staff_id").
		Joins("LEFT JOIN partners p ON p.id = k.partner_id").
		Where("k.id = ?", id).Scan(&row)
	if err := store.Translate(res.Error); err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		return nil, store.ErrNotFound
	}
	return &row, nil
}

// staff resolves an active staff member to a principal with their role.
func (a *Authenticator) staff(ctx context.Context, id string) (principal.Principal, error) {
	var st store.Staff
	if err := store.Translate(a.db.Gorm(ctx).Where("id = ?", id).Take(&st).Error); err != nil {
		return principal.Principal{}, fmt.Errorf("staff %s: %w", id, err)
	}
	if !st.Active {
		return principal.Principal{}, fmt.Errorf("staff %s: inactive", id)
	}
	return principal.Principal{Kind: principal.Staff, Name: resname.Format(resname.Staff, id), Role: RoleOf(aftersalesv1.Staff_Role(st.Role))}, nil
}

// partner resolves an active partner shop to a principal.
func (a *Authenticator) partner(ctx context.Context, id string) (principal.Principal, error) {
	var row store.Partner
	if err := store.Translate(a.db.Gorm(ctx).Where("id = ?", id).Take(&row).Error); err != nil {
		return principal.Principal{}, fmt.Errorf("partner %s: %w", id, err)
	}
	if !row.Active {
		return principal.Principal{}, fmt.Errorf("partner inactive: partners/%s", id)
	}
	return principal.Principal{Kind: principal.Partner, Name: resname.Format(resname.Partners, id), Role: principal.RolePartner}, nil
}

// fromToken verifies a customer token and finds its customer: the one
// whose external_id is the token's subject.
func (a *Authenticator) fromToken(ctx context.Context, raw string) (principal.Principal, error) {
	if a.tokens == nil {
		return principal.Principal{}, errors.New("customer tokens are not configured")
	}
	sub, err := a.tokens.Verify(ctx, raw)
	if err != nil {
		return principal.Principal{}, err
	}
	var c store.Customer
	if err := store.Translate(a.db.Gorm(ctx).Where("external_id = ?", sub).Take(&c).Error); err != nil {
		return principal.Principal{}, fmt.Errorf("token subject %q: %w", sub, err)
	}
	return principal.Principal{Kind: principal.Customer, Name: resname.Format(resname.Customers, c.ID), Role: principal.RoleCustomer}, nil
}

// RoleOf maps a staff role to the principal role it acts with.
func RoleOf(r aftersalesv1.Staff_Role) principal.Role {
	switch r {
	case aftersalesv1.Staff_ADMIN:
		return principal.RoleAdmin
	case aftersalesv1.Staff_MANAGER:
		return principal.RoleManager
	case aftersalesv1.Staff_AGENT:
		return principal.RoleAgent
	case aftersalesv1.Staff_TECHNICIAN:
		return principal.RoleTechnician
	case aftersalesv1.Staff_TRAINER:
		return principal.RoleTrainer
	}
	return principal.RoleNone
}

func lockingClause() clause.Locking {
	return clause.Locking{Strength: clause.LockingStrengthUpdate}
}

// sentCredentials reports whether the call carries an authorization
// header.
func sentCredentials(ctx context.Context) bool {
	md, _ := metadata.FromIncomingContext(ctx)
	return len(md.Get("authorization")) > 0
}
