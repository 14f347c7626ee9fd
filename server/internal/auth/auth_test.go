package auth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/server/internal/app"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/auth/token"
	"github.com/aftersales/aftersales/server/internal/config"
	"github.com/aftersales/aftersales/server/internal/ids"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
	"github.com/aftersales/aftersales/server/internal/store/storetest"
)

// syncBuffer is a log destination the test reads while the code writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a fresh database of one dialect and an Authenticator on it.
type fixture struct {
	t     *testing.T
	db    *store.DB
	authn *auth.Authenticator
	logs  *syncBuffer
}

func newFixture(t *testing.T, dialect string, tokens auth.TokenVerifier) *fixture {
	t.Helper()
	f := &fixture{t: t, db: storetest.Open(t, dialect), logs: &syncBuffer{}}
	f.authn = auth.NewAuthenticator(f.db, tokens, slog.New(slog.NewTextHandler(f.logs, nil)))
	return f
}

// forEachDialect runs fn on a fresh fixture of every dialect under test.
func forEachDialect(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, newFixture(t, dialect, nil))
		})
	}
}

// issue issues a key for spec and returns its record and the full key.
func (f *fixture) issue(spec auth.KeySpec) (*store.ApiKey, string) {
	f.t.Helper()
	var (
		row *store.ApiKey
		key string
	)
	err := f.db.InTx(context.Background(), func(tx *gorm.DB) error {
		var err error
		row, key, err = auth.IssueKey(tx, f.db.Now(), spec)
		return err
	})
	require.NoError(f.t, err)
	return row, key
}

// staff creates a staff member and returns their id.
func (f *fixture) staff(role aftersalesv1.Staff_Role, active bool) string {
	f.t.Helper()
	now := f.db.Now()
	row := &store.Staff{ID: ids.New(), DisplayName: "Ada", Role: int32(role), Active: active, CreateTime: now, UpdateTime: now, Version: 1}
	require.NoError(f.t, f.db.Gorm(context.Background()).Create(row).Error)
	return row.ID
}

// partner creates a partner shop and returns its id.
func (f *fixture) partner(active bool) string {
	f.t.Helper()
	now := f.db.Now()
	row := &store.Partner{ID: ids.New(), DisplayName: "Fixit", Active: active, CreateTime: now, UpdateTime: now, Version: 1}
	require.NoError(f.t, f.db.Gorm(context.Background()).Create(row).Error)
	return row.ID
}

// set updates one column of the row with id in model's table.
func (f *fixture) set(model any, id, column string, value any) {
	f.t.Helper()
	res := f.db.Gorm(context.Background()).Model(model).Where("id = ?", id).Update(column, value)
	require.NoError(f.t, res.Error)
	require.EqualValues(f.t, 1, res.RowsAffected)
}

// incoming returns a server-side context whose request metadata holds
// the key/value pairs kv.
func incoming(kv ...string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(kv...))
}

// withKey is incoming with "authorization: Bearer key" added.
func withKey(key string, kv ...string) context.Context {
	return incoming(append([]string{"authorization", "Bearer " + key}, kv...)...)
}

// requireCode checks err's code and reason.
func requireCode(t *testing.T, err error, code codes.Code, reason aftersalesv1.ErrorReason, msgAndArgs ...any) {
	t.Helper()
	require.Error(t, err, msgAndArgs...)
	require.Equal(t, code, status.Code(err), msgAndArgs...)
	require.Equal(t, reason, apierr.Reason(err), msgAndArgs...)
}

// otherSecret returns key with its secret replaced by another of the
// same shape.
func otherSecret(t *testing.T, key string) string {
	id, secret, ok := auth.ParseKey(key)
	require.True(t, ok)
	other := []byte(secret)
	if other[0] == 'A' {
		other[0] = 'B'
	} else {
		other[0] = 'A'
	}
	return auth.KeyPrefix + id + "_" + string(other)
}

func TestRejectedCredentialsLookAlike(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		_, good := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
		_, err := f.authn.Authenticate(withKey(good))
		require.NoError(t, err, "the control key works")

		revokedRow, revoked := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
		f.set(&store.ApiKey{}, revokedRow.ID, "revoke_time", f.db.Now())
		past := f.db.Now().Add(-time.Second)
		_, expired := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT, ExpireTime: &past})
		inactivePartner := f.partner(false)
		_, partnerGone := f.issue(auth.KeySpec{PartnerID: inactivePartner})
		unknownID, secret, _ := auth.ParseKey(good)
		unknownID = ids.New()

		cases := []struct {
			name string
			ctx  context.Context
			// logged is what the operator's log says (never the caller).
			logged string
		}{
			{"revoked", withKey(revoked), "revoked"},
			{"expired", withKey(expired), "expired"},
			{"wrong secret", withKey(otherSecret(t, good)), "wrong secret"},
			{"unknown id", withKey(auth.KeyPrefix + unknownID + "_" + secret), "not found"},
			{"malformed: short", withKey("ask_abc"), "malformed"},
			{"malformed: no secret", withKey(strings.TrimSuffix(good, secret)), "malformed"},
			{"malformed: extra byte", withKey(good + "x"), "malformed"},
			{"inactive partner", withKey(partnerGone), "partner inactive"},
			{"no credentials", context.Background(), ""},
			{"no bearer", incoming("authorization", good), ""},
			{"basic", incoming("authorization", "Basic "+good), ""},
			{"empty bearer", incoming("authorization", "Bearer "), ""},
			{"two credentials", incoming("authorization", "Bearer "+good, "authorization", "Bearer "+good), ""},
			{"token without a verifier", withKey("eyJhbGciOiJIUzI1NiJ9.e30.sig"), "not configured"},
		}
		var first *status.Status
		for _, c := range cases {
			p, err := f.authn.Authenticate(c.ctx)
			requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, c.name)
			require.Equal(t, principal.Principal{}, p, c.name)
			st := status.Convert(err)
			if first == nil {
				first = st
			}
			require.True(t, proto.Equal(first.Proto(), st.Proto()),
				"%s: every rejection is the same answer; got %v, want %v", c.name, st.Proto(), first.Proto())
			if c.logged != "" {
				require.Contains(t, f.logs.String(), c.logged, "%s: the operator learns why", c.name)
			}
		}
		require.Equal(t, "missing or invalid credentials", first.Message())
	})
}

func TestStaffKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		id := f.staff(aftersalesv1.Staff_MANAGER, true)
		_, key := f.issue(auth.KeySpec{StaffID: id})

		p, err := f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, principal.Principal{Kind: principal.Staff, Name: "staff/" + id, Role: principal.RoleManager}, p)

		// A role change applies to the next call: the key carries no role.
		f.set(&store.Staff{}, id, "role", int32(aftersalesv1.Staff_AGENT))
		p, err = f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, principal.RoleAgent, p.Role)

		f.set(&store.Staff{}, id, "active", false)
		_, err = f.authn.Authenticate(withKey(key))
		requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, "an inactive staff member's key")
	})
}

func TestPartnerKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		id := f.partner(true)
		_, key := f.issue(auth.KeySpec{PartnerID: id})
		p, err := f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, principal.Principal{Kind: principal.Partner, Name: "partners/" + id, Role: principal.RolePartner}, p)
	})
}

func TestServiceKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		row, key := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_TECHNICIAN})
		want := principal.Principal{Kind: principal.Service, Name: "apiKeys/" + row.ID, Role: principal.RoleTechnician}

		p, err := f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, want, p)

		// The scheme is case-insensitive (RFC 7235).
		p, err = f.authn.Authenticate(incoming("authorization", "bearer "+key))
		require.NoError(t, err)
		require.Equal(t, want, p)

		// Authorize checks the policy table with the key's role.
		p, err = f.authn.Authorize(withKey(key), aftersalesv1.StaffService_GetStaff_FullMethodName)
		require.NoError(t, err)
		require.Equal(t, want, p)
		p, err = f.authn.Authorize(withKey(key), aftersalesv1.ApiKeyService_CreateApiKey_FullMethodName)
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		require.Equal(t, want, p, "a denied caller is still named, for the log")
		_, err = f.authn.Authorize(context.Background(), aftersalesv1.StaffService_GetStaff_FullMethodName)
		requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS)

		// Health checks need no credentials.
		p, err = f.authn.Authorize(context.Background(), "/grpc.health.v1.Health/Check")
		require.NoError(t, err)
		require.Equal(t, principal.Principal{}, p)
	})
}

func TestAdminKeyMayCallEveryRule(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		_, key := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_ADMIN})
		for _, method := range aftersalesMethods(t) {
			p, err := f.authn.Authorize(withKey(key), method)
			require.NoError(t, err, method)
			require.Equal(t, principal.RoleAdmin, p.Role)
		}
		_, err := f.authn.Authorize(withKey(key), "/aftersales.v1.NoSuchService/Do")
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "a method without a rule is denied to admins too")
	})
}

func TestDelegation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		agent := f.staff(aftersalesv1.Staff_AGENT, true)
		delegating, key := f.issue(auth.KeySpec{DisplayName: "call center", ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true})

		p, err := f.authn.Authenticate(withKey(key, auth.OnBehalfOfMetadataKey, "staff/"+agent))
		require.NoError(t, err)
		require.Equal(t, principal.Principal{
			Kind: principal.Staff, Name: "staff/" + agent, Role: principal.RoleAgent, Via: "apiKeys/" + delegating.ID,
		}, p, "the call acts as the agent, through the key")

		// Without the header the key acts as itself.
		p, err = f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, principal.Principal{Kind: principal.Service, Name: "apiKeys/" + delegating.ID, Role: principal.RoleAgent}, p)

		// A key without can_delegate may not.
		_, plain := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
		_, err = f.authn.Authenticate(withKey(plain, auth.OnBehalfOfMetadataKey, "staff/"+agent))
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)
		staffKeyOwner := f.staff(aftersalesv1.Staff_MANAGER, true)
		_, staffKey := f.issue(auth.KeySpec{StaffID: staffKeyOwner})
		_, err = f.authn.Authenticate(withKey(staffKey, auth.OnBehalfOfMetadataKey, "staff/"+agent))
		requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED)

		// Naming the agent twice, or someone who is not an active staff
		// member, fails.
		_, err = f.authn.Authenticate(withKey(key, auth.OnBehalfOfMetadataKey, "staff/"+agent, auth.OnBehalfOfMetadataKey, "staff/"+agent))
		require.Error(t, err)
		for _, bad := range []string{"customers/" + agent, "staff/" + ids.New(), "staff/" + f.staff(aftersalesv1.Staff_AGENT, false)} {
			_, err = f.authn.Authenticate(withKey(key, auth.OnBehalfOfMetadataKey, bad))
			requireCode(t, err, codes.InvalidArgument, aftersalesv1.ErrorReason_FIELD_VIOLATION, bad)
		}
	})
}

func TestCustomerToken(t *testing.T) {
	secret := []byte("a-test-secret-of-at-least-32-bytes")
	verifier, err := token.New(token.Config{Issuer: "iss", Audience: "aud", HMACSecret: secret})
	require.NoError(t, err)
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect, verifier)
			now := f.db.Now()
			ext := "crm-42"
			c := &store.Customer{ID: ids.New(), DisplayName: "Eve", ExternalID: &ext, CreateTime: now, UpdateTime: now, Version: 1}
			require.NoError(t, f.db.Gorm(context.Background()).Create(c).Error)

			mint := func(subject string, ttl time.Duration) string {
				tok, err := token.Mint(token.MintConfig{Issuer: "iss", Audience: "aud", Secret: secret, Subject: subject, TTL: ttl})
				require.NoError(t, err)
				return tok
			}
			p, err := f.authn.Authenticate(withKey(mint(ext, time.Hour)))
			require.NoError(t, err)
			require.Equal(t, principal.Principal{Kind: principal.Customer, Name: "customers/" + c.ID, Role: principal.RoleCustomer}, p,
				"the token's subject is the customer's external id")

			for name, tok := range map[string]string{
				"unknown subject":             mint("crm-43", time.Hour),
				"the id, not the external id": mint(c.ID, time.Hour),
				"garbage":                     "not-a-jwt",
			} {
				_, err := f.authn.Authenticate(withKey(tok))
				requireCode(t, err, codes.Unauthenticated, aftersalesv1.ErrorReason_INVALID_CREDENTIALS, name)
				require.Equal(t, "missing or invalid credentials", status.Convert(err).Message(), name)
			}
		})
	}
}

func TestBootstrap(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		before := f.db.Now()
		key, expire, err := auth.Bootstrap(ctx, f.db, 24*time.Hour)
		require.NoError(t, err)
		require.NotEmpty(t, key)
		require.Equal(t, int64(1), countKeys(t, f.db))
		p, err := f.authn.Authenticate(withKey(key))
		require.NoError(t, err)
		require.Equal(t, principal.Service, p.Kind)
		require.Equal(t, principal.RoleAdmin, p.Role)

		// It expires a day after it was issued, and the key row says so.
		require.False(t, expire.Before(before.Add(24*time.Hour)))
		require.False(t, expire.After(f.db.Now().Add(24*time.Hour)))
		id, _, _ := auth.ParseKey(key)
		var row store.ApiKey
		require.NoError(t, f.db.Gorm(ctx).Where("id = ?", id).Take(&row).Error)
		require.NotNil(t, row.ExpireTime)
		require.WithinDuration(t, expire, *row.ExpireTime, time.Millisecond)

		again, againExpire, err := auth.Bootstrap(ctx, f.db, time.Hour)
		require.NoError(t, err)
		require.Empty(t, again, "keys exist: no new key")
		require.True(t, againExpire.IsZero())
		require.Equal(t, int64(1), countKeys(t, f.db))
	})
}

// TestBootstrapCountsEveryKey: keys other than a bootstrap key count, and
// revoked ones too, so an install whose admin key was revoked gets no new
// one at the next start (an operator uses "aftersales keys create").
func TestBootstrapCountsEveryKey(t *testing.T) {
	forEachDialect(t, func(t *testing.T, f *fixture) {
		row, _ := f.issue(auth.KeySpec{ServiceRole: aftersalesv1.Staff_AGENT})
		f.set(&store.ApiKey{}, row.ID, "revoke_time", f.db.Now())
		key, _, err := auth.Bootstrap(context.Background(), f.db, time.Hour)
		require.NoError(t, err)
		require.Empty(t, key)
		require.Equal(t, int64(1), countKeys(t, f.db))
	})
}

func TestBootstrapConcurrentReplicas(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			// Four replicas starting at once on one database, each with
			// its own connection pool (on Galera, through its own node).
			const replicas = 4
			urls := storetest.ReplicaURLs(t, dialect, replicas)
			dbs := make([]*store.DB, replicas)
			for i := range dbs {
				dbs[i] = storetest.OpenOptions(t, store.Options{URL: urls[i]})
			}
			keys := make([]string, replicas)
			errs := make([]error, replicas)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range dbs {
				wg.Go(func() {
					<-start
					keys[i], _, errs[i] = auth.Bootstrap(context.Background(), dbs[i], time.Hour)
				})
			}
			close(start)
			wg.Wait()

			issued := 0
			for i := range keys {
				require.NoError(t, errs[i], "replica %d", i)
				if keys[i] != "" {
					issued++
				}
			}
			require.Equal(t, 1, issued, "exactly one replica issues the key")
			require.Equal(t, int64(1), countKeys(t, dbs[0]))
		})
	}
}

func countKeys(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Gorm(context.Background()).Model(&store.ApiKey{}).Count(&n).Error)
	return n
}

// TestDatabaseDumpHoldsNoUsableKey issues keys the ways the server does
// (the bootstrap key, and CreateApiKey with a request_id, whose response
// is kept for retries and audited) and then reads every column of every
// table: neither a key nor its secret may appear anywhere.
func TestDatabaseDumpHoldsNoUsableKey(t *testing.T) {
	for _, dialect := range storetest.Dialects(t) {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.DatabaseURL = storetest.URL(t, dialect)
			ctx, cancel := context.WithCancel(context.Background())
			a, err := app.New(ctx, cfg, storetest.Logger(t))
			if err != nil {
				cancel()
				require.NoError(t, err)
			}
			done := make(chan error, 1)
			go func() { done <- a.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				<-done
			})
			conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			require.NoError(t, err)
			t.Cleanup(func() { _ = conn.Close() })

			bootstrap := a.BootstrapKey()
			require.NotEmpty(t, bootstrap)
			admin := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+bootstrap)
			client := aftersalesv1.NewApiKeyServiceClient(conn)
			req := &aftersalesv1.CreateApiKeyRequest{
				ApiKey:    &aftersalesv1.ApiKey{DisplayName: "call center", ServiceRole: aftersalesv1.Staff_AGENT, CanDelegate: true},
				RequestId: "create-call-center-key",
			}
			created, err := client.CreateApiKey(admin, req)
			require.NoError(t, err)
			require.NotEmpty(t, created.GetSecret())

			// A retry replays the stored response, which has no secret.
			retried, err := client.CreateApiKey(admin, req)
			require.NoError(t, err)
			require.True(t, proto.Equal(created.GetApiKey(), retried.GetApiKey()), "the same key")
			require.Empty(t, retried.GetSecret(), "the secret is only in the first response")

			// The issued key works, and revoking it is stored too.
			_, err = client.GetApiKey(metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+created.GetSecret()),
				&aftersalesv1.GetApiKeyRequest{Name: created.GetApiKey().GetName()})
			requireCode(t, err, codes.PermissionDenied, aftersalesv1.ErrorReason_ACCESS_DENIED, "authenticated as an agent, who may not read keys")
			_, err = client.RevokeApiKey(admin, &aftersalesv1.RevokeApiKeyRequest{Name: created.GetApiKey().GetName(), RequestId: "revoke-it"})
			require.NoError(t, err)

			var needles [][]byte
			for _, key := range []string{bootstrap, created.GetSecret()} {
				_, secret, ok := auth.ParseKey(key)
				require.True(t, ok)
				raw, err := base64.RawURLEncoding.DecodeString(secret)
				require.NoError(t, err)
				needles = append(needles, []byte(key), []byte(secret), raw, []byte(fmt.Sprintf("%x", raw)))
			}

			rows := dump(t, a.DB())
			require.GreaterOrEqual(t, len(rows["api_keys"]), 2, "the keys were dumped")
			require.GreaterOrEqual(t, len(rows["idempotency_keys"]), 2, "the stored responses were dumped")
			for table, values := range rows {
				for _, v := range values {
					for _, needle := range needles {
						require.False(t, bytes.Contains(v, needle), "table %s holds a usable key or secret", table)
					}
				}
			}
		})
	}
}

// dump returns every value of every row of every table, by table.
func dump(t *testing.T, db *store.DB) map[string][][]byte {
	t.Helper()
	g := db.Gorm(context.Background())
	tables, err := g.Migrator().GetTables()
	require.NoError(t, err)
	require.Contains(t, tables, "api_keys")
	require.Contains(t, tables, "idempotency_keys")
	out := map[string][][]byte{}
	for _, table := range tables {
		var rows []map[string]any
		require.NoError(t, g.Table(table).Find(&rows).Error, table)
		for _, row := range rows {
			for _, v := range row {
				var b []byte
				switch v := v.(type) {
				case nil:
					continue
				case []byte:
					b = v
				case string:
					b = []byte(v)
				default:
					b = []byte(fmt.Sprint(v))
				}
				out[table] = append(out[table], b)
			}
		}
	}
	return out
}

// aftersalesMethods returns the full name of every method of every
// service in the aftersales.v1 proto package, as registered by the
// generated code.
func aftersalesMethods(t *testing.T) []string {
	t.Helper()
	var methods []string
	protoregistry.GlobalFiles.RangeFilesByPackage("aftersales.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				methods = append(methods, "/"+string(sd.FullName())+"/"+string(sd.Methods().Get(j).Name()))
			}
		}
		return true
	})
	require.Contains(t, methods, aftersalesv1.ApiKeyService_CreateApiKey_FullMethodName, "the generated files are registered")
	require.Contains(t, methods, aftersalesv1.TicketService_CreateTicket_FullMethodName)
	return methods
}

// TestEveryMethodHasARule fails for an RPC added to the API without a row
// in the policy table: such a method would be denied to everyone but is
// more likely a forgotten decision.
func TestEveryMethodHasARule(t *testing.T) {
	for _, method := range aftersalesMethods(t) {
		require.True(t, auth.HasRule(method), "%s has no rule in the policy table (server/internal/auth/policy.go)", method)
	}
}
