// Command assistd serves the Assist API (Connect, gRPC and gRPC-Web on one
// port). With no database URL it runs its own PostgreSQL.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/demo"
	"github.com/assist-chat/assist/server/internal/pgembed"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "assistd:", err)
		if errors.Is(err, pgembed.ErrBinariesNotFound) {
			fmt.Fprintln(os.Stderr, "\nInstall the PostgreSQL server (Debian/Ubuntu: sudo apt-get install postgresql),\nor point assistd at an existing server: ASSIST_DATABASE_URL=postgres://user:pass@host/db")
		}
		os.Exit(1)
	}
}

// env returns the environment variable's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envBool(name string, def bool) bool {
	if v, ok := os.LookupEnv(name); ok {
		b, err := strconv.ParseBool(v)
		if err == nil {
			return b
		}
	}
	return def
}

func envInt(name string, def int) int {
	if v, ok := os.LookupEnv(name); ok {
		n, err := strconv.Atoi(v)
		if err == nil {
			return n
		}
	}
	return def
}

func run() error {
	fs := flag.NewFlagSet("assistd", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: assistd [flags]\n\nServes the Assist API on one port (Connect, gRPC, gRPC-Web).\nEach flag can also be set with the environment variable shown.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	addr := fs.String("addr", env("ASSIST_ADDR", "127.0.0.1:8080"), "listen address (ASSIST_ADDR)")
	dbURL := fs.String("database-url", env("ASSIST_DATABASE_URL", ""), "PostgreSQL URL; empty runs an embedded cluster in the data dir (ASSIST_DATABASE_URL)")
	dataDir := fs.String("data-dir", env("ASSIST_DATA_DIR", ".assist-data"), "data directory of the embedded PostgreSQL (ASSIST_DATA_DIR)")
	origins := fs.String("cors-origins", env("ASSIST_CORS_ORIGINS", ""), "comma-separated browser origins allowed to call the API, or * (ASSIST_CORS_ORIGINS)")
	maxMsg := fs.Int("max-message-bytes", envInt("ASSIST_MAX_MESSAGE_BYTES", 1<<20), "largest request message accepted (ASSIST_MAX_MESSAGE_BYTES)")
	seed := fs.Bool("demo", envBool("ASSIST_DEMO", true), "create the demo account on start if missing (ASSIST_DEMO)")
	level := fs.String("log-level", env("ASSIST_LOG_LEVEL", "info"), "debug, info, warn or error (ASSIST_LOG_LEVEL)")
	format := fs.String("log-format", env("ASSIST_LOG_FORMAT", "text"), "text or json (ASSIST_LOG_FORMAT)")
	pprofAddr := fs.String("pprof-addr", env("ASSIST_PPROF_ADDR", ""), "serve Go's profiler (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060; off when empty (ASSIST_PPROF_ADDR)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var logger *slog.Logger
	switch *format {
	case "json":
		logger = slog.New(slog.NewJSONHandler(os.Stderr, opts))
	case "text":
		logger = slog.New(slog.NewTextHandler(os.Stderr, opts))
	default:
		return fmt.Errorf("--log-format: want text or json, got %q", *format)
	}
	slog.SetDefault(logger)

	var corsOrigins []string
	for _, o := range strings.Split(*origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			corsOrigins = append(corsOrigins, o)
		}
	}

	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr, logger); err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := assistd.Start(ctx, assistd.Config{
		Addr:               *addr,
		DatabaseURL:        *dbURL,
		DataDir:            *dataDir,
		CORSAllowedOrigins: corsOrigins,
		MaxMessageBytes:    *maxMsg,
		SeedDemo:           *seed,
		Logger:             logger,
	})
	if err != nil {
		return err
	}
	if *seed {
		printWelcome(srv.URL(), srv.Addr())
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case <-srv.Done():
		logger.Error("embedded PostgreSQL exited unexpectedly; shutting down")
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

func printWelcome(url, addr string) {
	fmt.Printf(`
Assist is running on %[1]s (Connect, gRPC and gRPC-Web on one port).

Demo account (portal %[3]q, queue mode):
  admin     %[4]s / %[5]s
  advisor   %[6]s / %[7]s
  advisor   %[8]s / %[9]s

Try it:
  grpcurl -plaintext %[2]s list
  grpcurl -plaintext -d '{"email":"%[6]s","password":"%[7]s"}' %[2]s assist.v1.AuthService/Login
  curl -s %[1]s/assist.v1.PortalService/StartSession -H 'Content-Type: application/json' \
    -d '{"portalSlug":"%[3]s","customer":{"displayName":"Ada"}}'

Stop with Ctrl-C.
`, url, addr, demo.PortalSlug, demo.AdminEmail, demo.AdminPassword, demo.AdvisorEmail, demo.AdvisorPassword, demo.Advisor2Email, demo.Advisor2Password)
}
