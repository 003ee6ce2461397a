package auth

import (
	"context"
	"strings"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// IsAPIKey reports whether a bearer secret is an integrator's API key.
// Anonymous procedures (StartSession) resolve those, so that an integrator
// acts as itself.
func IsAPIKey(secret string) bool { return strings.HasPrefix(secret, prefixAPIKey) }

// CreateAPIKey stores a new API key for accountID and returns its secret
// (shown once; stored hashed). The admin RPC and tests use it.
func (s *Service) CreateAPIKey(ctx context.Context, db dbq.DBTX, accountID uuid.UUID, name string, scopes []assistv1.ApiKeyScope) (secret string, key dbq.ApiKey, err error) {
	secret, hash := newSecret(prefixAPIKey)
	sc := make([]int16, 0, len(scopes))
	for _, x := range scopes {
		sc = append(sc, int16(x))
	}
	key, err = s.store.Q.ApiKeyInsert(ctx, db, dbq.ApiKeyInsertParams{
		AccountID: accountID, Name: name, Scopes: sc, Prefix: secret[:len(prefixAPIKey)+6], SecretHash: hash,
	})
	return secret, key, err
}
