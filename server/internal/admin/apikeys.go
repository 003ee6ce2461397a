package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// CreateAPIKey creates an integrator key and returns it with its secret,
// which is stored hashed only and never shown again.
func (s *Service) CreateAPIKey(ctx context.Context, p *auth.Principal, name string, scopes []assistv1.ApiKeyScope) (*assistv1.ApiKey, string, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, "", err
	}
	if err := checkName("name", name); err != nil {
		return nil, "", err
	}
	if len(scopes) == 0 {
		return nil, "", failure.InvalidArgument("scopes", "must hold at least one scope")
	}
	stored := make([]int16, 0, len(scopes))
	var names []string
	for _, sc := range scopes {
		if _, ok := assistv1.ApiKeyScope_name[int32(sc)]; !ok || sc == assistv1.ApiKeyScope_API_KEY_SCOPE_UNSPECIFIED {
			return nil, "", failure.InvalidArgument("scopes", "holds an unknown scope %d", sc)
		}
		if slices.Contains(stored, int16(sc)) {
			return nil, "", failure.InvalidArgument("scopes", "must not repeat a scope")
		}
		stored = append(stored, int16(sc))
		names = append(names, strings.TrimPrefix(sc.String(), "API_KEY_SCOPE_"))
	}
	secret, hash := auth.NewAPIKeySecret()
	var key dbq.ApiKey
	err := s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		var err error
		key, err = s.store.Q.ApiKeyInsert(ctx, tx, dbq.ApiKeyInsertParams{
			AccountID: p.AccountID, Name: name, Scopes: stored,
			Prefix: secret[:auth.APIKeyPrefixLen], SecretHash: hash,
		})
		if err != nil {
			return change{}, fmt.Errorf("insert API key: %w", err)
		}
		return change{"api_key.create", "api_key", key.ID.String(),
			fmt.Sprintf("name=%q prefix=%s scopes=%s", key.Name, key.Prefix, strings.Join(names, ","))}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return apiKeyProto(key), secret, nil
}

// ListAPIKeys returns the account's keys, newest first, without secrets.
func (s *Service) ListAPIKeys(ctx context.Context, p *auth.Principal) ([]*assistv1.ApiKey, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	rows, err := s.store.Q.ApiKeyListByAccount(ctx, s.store.Pool, p.AccountID)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out := make([]*assistv1.ApiKey, len(rows))
	for i, r := range rows {
		out[i] = apiKeyProto(r)
	}
	return out, nil
}

// RevokeAPIKey revokes a key of the admin's account at once: the next call
// with it is refused. Revoking twice keeps the first revocation.
func (s *Service) RevokeAPIKey(ctx context.Context, p *auth.Principal, keyID string) (*assistv1.ApiKey, error) {
	if err := RequireAdmin(p); err != nil {
		return nil, err
	}
	id, err := uuid.Parse(keyID)
	if err != nil {
		return nil, failure.InvalidArgument("api_key_id", "must be a UUID")
	}
	var key dbq.ApiKey
	err = s.write(ctx, p, func(tx pgx.Tx) (change, error) {
		row, err := s.store.Q.ApiKeyRevoke(ctx, tx, dbq.ApiKeyRevokeParams{ID: id, AccountID: p.AccountID})
		if store.IsNotFound(err) {
			return change{}, failure.NotFound("API key")
		}
		if err != nil {
			return change{}, fmt.Errorf("revoke API key: %w", err)
		}
		key = row.ApiKey
		if !row.RevokedNow {
			return change{}, nil // revoked before: nothing changes, nothing to audit
		}
		return change{"api_key.revoke", "api_key", id.String(), fmt.Sprintf("name=%q prefix=%s", key.Name, key.Prefix)}, nil
	})
	if err != nil {
		return nil, err
	}
	s.announceRevoked(ctx, auth.APIKeyCredentialKey(id))
	return apiKeyProto(key), nil
}
