package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/opener"
)

// keyEncryptionKeyFlag adds --key-encryption-key to fs; the returned
// function parses its value once flags are parsed. The value is never
// printed, not even in the flag's default.
func keyEncryptionKeyFlag(fs *flag.FlagSet) func() ([]byte, error) {
	v := fs.String("key-encryption-key", "", "32-byte key (hex or base64) that encrypts the opener signing keys stored in the database; empty stores them in clear (ASSIST_KEY_ENCRYPTION_KEY)")
	return func() ([]byte, error) {
		s := *v
		if s == "" {
			s = os.Getenv("ASSIST_KEY_ENCRYPTION_KEY")
		}
		if s == "" {
			return nil, nil
		}
		key, err := opener.ParseEncryptionKey(s)
		if err != nil {
			return nil, fmt.Errorf("--key-encryption-key: %w", err)
		}
		return key, nil
	}
}

// runKeys runs `assistd keys rotate`.
func runKeys(args []string) error {
	fs := flag.NewFlagSet("assistd keys", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: assistd keys rotate [flags]\n\nCreates a new opener signing key in the database; openers signed with the\nprevious keys stay valid until they expire. With the embedded database,\nrun it while assistd is stopped (or give --database-url).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	dbURL := fs.String("database-url", env("ASSIST_DATABASE_URL", ""), "PostgreSQL URL; empty uses the embedded cluster in the data dir (ASSIST_DATABASE_URL)")
	dataDir := fs.String("data-dir", env("ASSIST_DATA_DIR", ".assist-data"), "data directory of the embedded PostgreSQL (ASSIST_DATA_DIR)")
	kek := keyEncryptionKeyFlag(fs)
	if len(args) == 0 || args[0] != "rotate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fs.Usage()
			return nil
		}
		fs.Usage()
		return errors.New("keys: want the subcommand rotate")
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	key, err := kek()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	id, err := assistd.RotateKeys(ctx, assistd.Config{DatabaseURL: *dbURL, DataDir: *dataDir, KeyEncryptionKey: key, Logger: logger})
	if err != nil {
		return err
	}
	fmt.Printf("new opener signing key: %s (openers signed with previous keys stay valid until they expire)\n", id)
	return nil
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
