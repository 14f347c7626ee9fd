package service

import (
	"context"
	"log/slog"
	"strings"

	"gorm.io/gorm"

	aftersalesv1 "github.com/aftersales/aftersales/gen/aftersales/v1"
	"github.com/aftersales/aftersales/pkg/apierr"
	"github.com/aftersales/aftersales/pkg/filter"
	"github.com/aftersales/aftersales/pkg/resname"
	"github.com/aftersales/aftersales/server/internal/auth"
	"github.com/aftersales/aftersales/server/internal/principal"
	"github.com/aftersales/aftersales/server/internal/store"
)

// apiKeys is the collection of API key resource names, "apiKeys/{id}".
const apiKeys = "apiKeys"

type apiKeyServer struct {
	aftersalesv1.UnimplementedApiKeyServiceServer
	*base
}

// NewApiKeyServer returns the ApiKeyService implementation on db, for
// callers outside the gRPC server: the operator's "aftersales keys"
// command uses it so that keys issued from the command line are checked
// and audited exactly like those issued through the API. The caller puts
// the acting principal into the context (principal.NewContext) and
// validates requests with protovalidate, as the interceptors do for the
// API.
func NewApiKeyServer(db *store.DB, log *slog.Logger) aftersalesv1.ApiKeyServiceServer {
	if log == nil {
		log = slog.Default()
	}
	return &apiKeyServer{base: &base{db: db, log: log}}
}

var apiKeyList = listSpec{columns: []column{
	{field: filter.Field{Name: "staff"}, name: "staff_id", conv: nameValue(resname.Staff)},
	{field: filter.Field{Name: "partner"}, name: "partner_id", conv: nameValue(resname.Partners)},
	{field: filter.Field{Name: "create_time", Kind: filter.KindTime}, name: "create_time"},
}}

// CreateApiKey issues a key. The secret is in the response of the call
// that issued it and nowhere else: the response stored for request_id
// retries (AIP-155) leaves it out, because the idempotency table must not
// hold a usable key. A retry therefore returns the same key record with
// an empty secret; a client that lost the first response revokes that key
// and creates another.
func (s *apiKeyServer) CreateApiKey(ctx context.Context, req *aftersalesv1.CreateApiKeyRequest) (*aftersalesv1.CreateApiKeyResponse, error) {
	k := req.GetApiKey()
	identities := 0
	for _, set := range []bool{k.GetStaff() != "", k.GetPartner() != "", k.GetServiceRole() != aftersalesv1.Staff_ROLE_UNSPECIFIED} {
		if set {
			identities++
		}
	}
	if identities != 1 {
		return nil, apierr.InvalidField("api_key", "set exactly one of staff, partner and service_role")
	}
	staffID, err := optionalName("api_key.staff", k.GetStaff(), resname.Staff)
	if err != nil {
		return nil, err
	}
	partnerID, err := optionalName("api_key.partner", k.GetPartner(), resname.Partners)
	if err != nil {
		return nil, err
	}

	// The secret is added to the response after mutate has stored the
	// response without it, and only to the response of the key fn issued:
	// a retry runs fn too, but its key is rolled back and mutate answers
	// with the first call's key instead.
	var secret, issued string
	resp, err := mutate(ctx, s.base, aftersalesv1.ApiKeyService_CreateApiKey_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.CreateApiKeyResponse, error) {
		secret, issued = "", ""
		now := s.now()
		// Checked here rather than before mutate, so that a retry of a
		// request that succeeded replays even once expire_time has passed.
		expire := timePtr(k.GetExpireTime())
		if expire != nil && !expire.After(now) {
			return nil, apierr.InvalidField("api_key.expire_time", "must be in the future")
		}
		if staffID != "" {
			if ok, err := exists(tx, &store.Staff{}, staffID); err != nil || !ok {
				return nil, orErr(err, badReference("api_key.staff", k.GetStaff()))
			}
		}
		if partnerID != "" {
			if ok, err := exists(tx, &store.Partner{}, partnerID); err != nil || !ok {
				return nil, orErr(err, badReference("api_key.partner", k.GetPartner()))
			}
		}
		row, full, err := auth.IssueKey(tx, now, auth.KeySpec{
			DisplayName: strings.TrimSpace(k.GetDisplayName()),
			StaffID:     staffID,
			PartnerID:   partnerID,
			ServiceRole: k.GetServiceRole(),
			CanDelegate: k.GetCanDelegate(),
			ExpireTime:  expire,
		})
		if err != nil {
			return nil, err
		}
		secret, issued = full, resname.Format("apiKeys", row.ID)
		return &aftersalesv1.CreateApiKeyResponse{ApiKey: apiKeyProto(row)}, nil
	})
	if err != nil {
		return nil, err
	}
	if resp.GetApiKey().GetName() == issued {
		resp.Secret = secret
	}
	return resp, nil
}

func (s *apiKeyServer) GetApiKey(ctx context.Context, req *aftersalesv1.GetApiKeyRequest) (*aftersalesv1.ApiKey, error) {
	id, err := parseName("name", req.GetName(), apiKeys)
	if err != nil {
		return nil, err
	}
	var row store.ApiKey
	if err := store.Translate(s.db.Gorm(ctx).Where("id = ?", id).Take(&row).Error); err != nil {
		if isNotFound(err) {
			return nil, notFound(req.GetName())
		}
		return nil, s.toStatus(ctx, err)
	}
	return apiKeyProto(&row), nil
}

func (s *apiKeyServer) ListApiKeys(ctx context.Context, req *aftersalesv1.ListApiKeysRequest) (*aftersalesv1.ListApiKeysResponse, error) {
	rows, next, err := list[store.ApiKey](s.db.Gorm(ctx).Model(&store.ApiKey{}), apiKeyList, listRequest{
		filter: req.GetFilter(), pageSize: req.GetPageSize(), pageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, s.toStatus(ctx, err)
	}
	resp := &aftersalesv1.ListApiKeysResponse{NextPageToken: next}
	for i := range rows {
		resp.ApiKeys = append(resp.ApiKeys, apiKeyProto(&rows[i]))
	}
	return resp, nil
}

// RevokeApiKey sets the key's revoke_time. Revoking a revoked key is not
// an error and keeps the first revoke_time.
func (s *apiKeyServer) RevokeApiKey(ctx context.Context, req *aftersalesv1.RevokeApiKeyRequest) (*aftersalesv1.ApiKey, error) {
	id, err := parseName("name", req.GetName(), apiKeys)
	if err != nil {
		return nil, err
	}
	return mutate(ctx, s.base, aftersalesv1.ApiKeyService_RevokeApiKey_FullMethodName, req, func(tx *gorm.DB) (*aftersalesv1.ApiKey, error) {
		var row store.ApiKey
		if err := lockRow(tx, &row, id); err != nil {
			if isNotFound(err) {
				return nil, notFound(req.GetName())
			}
			return nil, err
		}
		if row.RevokeTime != nil {
			return apiKeyProto(&row), nil
		}
		before := apiKeyProto(&row)
		now := s.now()
		if err := store.Translate(tx.Model(&store.ApiKey{}).Where("id = ?", id).Update("revoke_time", now).Error); err != nil {
			return nil, err
		}
		row.RevokeTime = &now
		out := apiKeyProto(&row)
		return out, s.audit(ctx, tx, out.GetName(), before, out)
	})
}

// apiKeyProto converts a stored key; it never holds the secret, which is
// not stored.
func apiKeyProto(row *store.ApiKey) *aftersalesv1.ApiKey {
	return &aftersalesv1.ApiKey{
		Name:        resname.Format(apiKeys, row.ID),
		DisplayName: row.DisplayName,
		Staff:       refName(resname.Staff, row.StaffID),
		Partner:     refName(resname.Partners, row.PartnerID),
		ServiceRole: aftersalesv1.Staff_Role(row.ServiceRole),
		CanDelegate: row.CanDelegate,
		ExpireTime:  tsPtr(row.ExpireTime),
		KeyPrefix:   row.KeyPrefix,
		RevokeTime:  tsPtr(row.RevokeTime),
		CreateTime:  ts(row.CreateTime),
	}
}

// callerRoles maps the principal's roles onto the API's.
var callerRoles = map[principal.Role]aftersalesv1.Caller_Role{
	principal.RoleAdmin:      aftersalesv1.Caller_ADMIN,
	principal.RoleManager:    aftersalesv1.Caller_MANAGER,
	principal.RoleAgent:      aftersalesv1.Caller_AGENT,
	principal.RoleTechnician: aftersalesv1.Caller_TECHNICIAN,
	principal.RoleTrainer:    aftersalesv1.Caller_TRAINER,
	principal.RolePartner:    aftersalesv1.Caller_PARTNER,
	principal.RoleCustomer:   aftersalesv1.Caller_CUSTOMER,
}

// GetCaller answers from the principal the authentication interceptor
// put into the context: no read, so it costs a client nothing to ask.
func (s *apiKeyServer) GetCaller(ctx context.Context, _ *aftersalesv1.GetCallerRequest) (*aftersalesv1.Caller, error) {
	p := principal.FromContext(ctx)
	return &aftersalesv1.Caller{Principal: p.Name, Role: callerRoles[p.Role], Via: p.Via, Methods: auth.Methods(p.Role)}, nil
}
