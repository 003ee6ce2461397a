package assistd

import (
	"context"
	"fmt"
	neturl "net/url"
	"path/filepath"

	"github.com/assist-chat/assist/server/internal/opener"
	"github.com/assist-chat/assist/server/internal/pgembed"
	"github.com/assist-chat/assist/server/internal/store"
)

// RotateKeys creates a new opener signing key in cfg's database and
// returns its id: openers made from now on are signed with it, and those
// signed with older keys stay valid until they expire. Servers running on
// the database use the new key for their next opener. With the embedded
// database, it uses the cluster of the assistd running on the data
// directory, or starts the cluster for the rotation.
func RotateKeys(ctx context.Context, cfg Config) (string, error) {
	cfg.applyDefaults()
	url := cfg.DatabaseURL
	if url == "" {
		dir, err := clusterDir(cfg.DataDir, cfg.Logger)
		if err != nil {
			return "", err
		}
		if abs, err := filepath.Abs(dir); err == nil {
			running := (&neturl.URL{Scheme: "postgres", User: neturl.User(pgembed.Superuser), Path: "/assist",
				RawQuery: neturl.Values{"host": {abs}, "sslmode": {"disable"}, "connect_timeout": {"5"}}.Encode()}).String()
			if st, err := store.Open(ctx, running, 2, cfg.Logger); err == nil {
				defer st.Close()
				return rotate(ctx, st, cfg.KeyEncryptionKey) // a running assistd's cluster
			}
		}
		cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir, Logger: cfg.Logger})
		if err != nil {
			return "", fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		defer func() { _ = cluster.Stop(context.WithoutCancel(ctx)) }()
		if err := cluster.CreateDatabase(ctx, "assist"); err != nil {
			return "", fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		url = cluster.ConnString("assist")
	}
	st, err := store.Open(ctx, url, 2, cfg.Logger)
	if err != nil {
		return "", err
	}
	defer st.Close()
	return rotate(ctx, st, cfg.KeyEncryptionKey)
}

func rotate(ctx context.Context, st *store.Store, encryptionKey []byte) (string, error) {
	keys, err := opener.NewKeys(st, encryptionKey)
	if err != nil {
		return "", err
	}
	if err := keys.Ensure(ctx); err != nil {
		return "", err
	}
	return keys.Rotate(ctx)
}
