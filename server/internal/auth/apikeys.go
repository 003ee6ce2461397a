package auth

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// IsAPIKey reports whether a bearer secret is an integrator's API key.
// Anonymous procedures (StartSession) resolve those, so that an integrator
// acts as itself.
func IsAPIKey(secret string) bool { return strings.HasPrefix(secret, prefixAPIKey) }

// CreateAPIKey stores a new API key for accountID and returns its secret
// (shown once; stored hashed). Tests use it; admins use AdminService.
func (s *Service) CreateAPIKey(ctx context.Context, db dbq.DBTX, accountID uuid.UUID, name string, scopes []assistv1.ApiKeyScope) (secret string, key dbq.ApiKey, err error) {
	secret, hash := newSecret(prefixAPIKey)
	sc := make([]int16, 0, len(scopes))
	for _, x := range scopes {
		sc = append(sc, int16(x))
	}
	key, err = s.store.Q.ApiKeyInsert(ctx, db, dbq.ApiKeyInsertParams{
		AccountID: accountID, Name: name, Scopes: sc, Prefix: secret[:APIKeyPrefixLen], SecretHash: hash,
	})
	return secret, key, err
}

// APIKeyPrefixLen is how much of an API key's secret is kept in clear, to
// recognise the key in lists: "ast_key_" and four random characters.
const APIKeyPrefixLen = len(prefixAPIKey) + 4

// NewAPIKeySecret returns a new integrator API key secret ("ast_key_…",
// 256 random bits) and the hash to store.
func NewAPIKeySecret() (secret string, hash []byte) { return newSecret(prefixAPIKey) }

// apiKeyUseInterval is how often a key's last use time is written: often
// enough for "last used" in a list, rare enough to cost nothing per call.
const apiKeyUseInterval = time.Minute

// apiKeyUses remembers when this process last recorded each key's use, so
// that most calls skip the database write entirely.
type apiKeyUses struct {
	mu   sync.Mutex
	last map[uuid.UUID]time.Time
}

var keyUses = &apiKeyUses{last: map[uuid.UUID]time.Time{}}

// due reports whether the key's use should be written now, and if so
// counts it as written.
func (u *apiKeyUses) due(id uuid.UUID, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if t, ok := u.last[id]; ok && now.Sub(t) < apiKeyUseInterval {
		return false
	}
	u.last[id] = now
	return true
}

// touchAPIKey records a key's use, at most once a minute per key and
// process; the UPDATE's own condition keeps several replicas to about the
// same. Best effort: a failed write never fails the call.
func (s *Service) touchAPIKey(ctx context.Context, id uuid.UUID) {
	if !keyUses.due(id, s.now()) {
		return
	}
	_ = s.store.Q.ApiKeyTouch(ctx, s.store.Pool, id)
}
