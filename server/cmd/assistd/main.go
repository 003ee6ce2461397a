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
	"strings"
	"syscall"
	"time"

	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/demo"
	"github.com/assist-chat/assist/server/internal/pgembed"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "assistd:", err)
		switch {
		case errors.Is(err, pgembed.ErrBinariesNotFound):
			fmt.Fprintln(os.Stderr, "\nInstall the PostgreSQL server (Debian/Ubuntu: sudo apt-get install postgresql),\nor point assistd at an existing server: ASSIST_DATABASE_URL=postgres://user:pass@host/db")
		case errors.Is(err, assistd.ErrListen):
			fmt.Fprintln(os.Stderr, "\nAnother program may be using that address. Stop it, or choose another address\nwith --addr (or ASSIST_ADDR), for example: assistd --addr 127.0.0.1:8081")
		}
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "keys" {
		return runKeys(args[1:])
	}
	var opts options
	fs := opts.flags()
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := opts.fromEnvironment(fs); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see assistd --help)", fs.Arg(0))
	}
	logger, err := opts.logger()
	if err != nil {
		return err
	}
	slog.SetDefault(logger)
	cfg, err := opts.config(logger)
	if err != nil {
		return err
	}

	if opts.pprofAddr != "" {
		if err := servePprof(opts.pprofAddr, logger); err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := assistd.Start(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.SeedDemo {
		printWelcome(srv.URL(), srv.Addr())
	}

	var failed error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case <-srv.Done():
		failed = errors.New("the embedded PostgreSQL exited unexpectedly")
		logger.Error(failed.Error() + "; shutting down")
	case err := <-srv.Failed():
		failed = fmt.Errorf("serving on %s stopped: %w", srv.Addr(), err)
		logger.Error("the listener failed; shutting down", "error", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return errors.Join(failed, srv.Shutdown(shutdownCtx))
}

func printWelcome(url, addr string) {
	fmt.Printf(`
Assist is running on %[1]s (Connect, gRPC and gRPC-Web on one port).

Demo account:
  admin     %[4]s / %[5]s
  advisor   %[6]s / %[7]s
  advisor   %[8]s / %[9]s

Customers start at:
  %[1]s/p/%[3]s       queue: any advisor picks the session up
  %[1]s/p/%[10]s  with a code an advisor creates in the console
  %[1]s/p/%[11]s   picking an advisor whose console is open
Advisors sign in at %[1]s/console

Try it:
  grpcurl -plaintext %[2]s list
  grpcurl -plaintext -d '{"email":"%[6]s","password":"%[7]s"}' %[2]s assist.v1.AuthService/Login
  curl -s %[1]s/assist.v1.PortalService/StartSession -H 'Content-Type: application/json' \
    -d '{"portalSlug":"%[3]s","customer":{"displayName":"Ada"}}'

Stop with Ctrl-C.
`, url, addr, demo.PortalSlug, demo.AdminEmail, demo.AdminPassword, demo.AdvisorEmail, demo.AdvisorPassword, demo.Advisor2Email, demo.Advisor2Password, demo.CodePortalSlug, demo.WebPortalSlug)
}

// joinNonEmpty splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}
