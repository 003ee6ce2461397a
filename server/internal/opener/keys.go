package opener

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// EncryptionKeySize is the size of the key that encrypts stored private
// keys (AES-256-GCM).
const EncryptionKeySize = 32

// ParseEncryptionKey reads a key-encryption key given as 64 hex digits or
// base64 of 32 bytes. The error never shows the value.
func ParseEncryptionKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == EncryptionKeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == EncryptionKeySize {
			return b, nil
		}
	}
	return nil, errors.New("the key-encryption key must be 32 bytes, as 64 hex digits or base64 (e.g. openssl rand -base64 32)")
}

// Keys keeps the signing keys in the database. Public keys are cached by
// id (a key never changes); the current key is read from the database at
// each signing, so a rotation by another process applies at once.
type Keys struct {
	store *store.Store
	aead  cipher.AEAD // nil: private keys are stored in clear
	cache sync.Map    // key id -> ed25519.PublicKey
}

// NewKeys returns the key store. encryptionKey (EncryptionKeySize bytes,
// or nil) encrypts the private keys it creates and decrypts stored ones.
func NewKeys(s *store.Store, encryptionKey []byte) (*Keys, error) {
	k := &Keys{store: s}
	if encryptionKey != nil {
		block, err := aes.NewCipher(encryptionKey)
		if err != nil {
			return nil, fmt.Errorf("key-encryption key: %w", err)
		}
		if k.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Ensure creates the first signing key unless one exists. Replicas
// starting together create one between them.
func (k *Keys) Ensure(ctx context.Context) error {
	return k.store.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(7412)"); err != nil {
			return err
		}
		n, err := k.store.Q.SigningKeyCount(ctx, tx)
		if err != nil {
			return fmt.Errorf("count signing keys: %w", err)
		}
		if n > 0 {
			// A stored key must be usable with this configuration.
			_, _, err := k.current(ctx, tx)
			return err
		}
		_, err = k.insert(ctx, tx)
		return err
	})
}

// Rotate creates a new current key and returns its id. Openers signed
// with older keys stay valid until they expire.
func (k *Keys) Rotate(ctx context.Context) (string, error) {
	var id string
	err := k.store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		id, err = k.insert(ctx, tx)
		return err
	})
	return id, err
}

func (k *Keys) insert(ctx context.Context, db dbq.DBTX) (string, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	id := time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(suffix[:])
	stored := priv.Seed()
	if k.aead != nil {
		nonce := make([]byte, k.aead.NonceSize())
		_, _ = rand.Read(nonce)
		stored = k.aead.Seal(nonce, nonce, stored, []byte(id))
	}
	err = k.store.Q.SigningKeyInsert(ctx, db, dbq.SigningKeyInsertParams{
		ID: id, PublicKey: pub, PrivateKey: stored, Encrypted: k.aead != nil,
	})
	if err != nil {
		return "", fmt.Errorf("store signing key: %w", err)
	}
	return id, nil
}

// Current returns the current key's id and private key.
func (k *Keys) Current(ctx context.Context, db dbq.DBTX) (string, ed25519.PrivateKey, error) {
	return k.current(ctx, db)
}

func (k *Keys) current(ctx context.Context, db dbq.DBTX) (string, ed25519.PrivateKey, error) {
	row, err := k.store.Q.SigningKeyCurrent(ctx, db)
	if store.IsNotFound(err) {
		return "", nil, errors.New("no signing key: the server creates one at start")
	}
	if err != nil {
		return "", nil, fmt.Errorf("load signing key: %w", err)
	}
	priv, err := k.private(row)
	return row.ID, priv, err
}

// Private returns the private key of a stored key id.
func (k *Keys) Private(ctx context.Context, db dbq.DBTX, id string) (ed25519.PrivateKey, error) {
	row, err := k.store.Q.SigningKeyGet(ctx, db, id)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", id, err)
	}
	return k.private(row)
}

func (k *Keys) private(row dbq.SigningKey) (ed25519.PrivateKey, error) {
	seed := row.PrivateKey
	if row.Encrypted {
		if k.aead == nil {
			return nil, fmt.Errorf("signing key %s is encrypted: give the server its key-encryption key (--key-encryption-key)", row.ID)
		}
		n := k.aead.NonceSize()
		if len(seed) < n {
			return nil, fmt.Errorf("signing key %s: stored value too short", row.ID)
		}
		var err error
		seed, err = k.aead.Open(nil, seed[:n], seed[n:], []byte(row.ID))
		if err != nil {
			return nil, fmt.Errorf("signing key %s: cannot decrypt it with this key-encryption key", row.ID)
		}
	}
	return KeyFromSeed(seed)
}

// PublicKey returns the public key of id, for Verify. An unknown id is
// Unauthenticated.
func (k *Keys) PublicKey(ctx context.Context, id string) (ed25519.PublicKey, error) {
	if v, ok := k.cache.Load(id); ok {
		return v.(ed25519.PublicKey), nil
	}
	if len(id) > 64 || !store.TextOK(id) {
		return nil, failure.Unauthenticated("the opener's key id is unknown")
	}
	row, err := k.store.Q.SigningKeyGet(ctx, k.store.Pool, id)
	if store.IsNotFound(err) {
		return nil, failure.Unauthenticated("the opener's key id is unknown")
	}
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w", err)
	}
	pub := ed25519.PublicKey(row.PublicKey)
	k.cache.Store(id, pub)
	return pub, nil
}
