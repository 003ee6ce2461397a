package assistd_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	connectv1 "connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect/v2"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/reflect/protoreflect"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// dataDir is a directory the embedded cluster's OS user can reach (the
// test's own temp dir is 0700 and root's).
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "assistd-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func start(t *testing.T, cfg assistd.Config) *assistd.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg.Addr = "127.0.0.1:0"
	cfg.Logger = assisttest.Logger()
	cfg.PasswordCost = 4
	srv, err := assistd.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return srv
}

func stop(t *testing.T, srv *assistd.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func count(t *testing.T, url, query string) int {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// With no database URL, assistd runs its own PostgreSQL in the data
// directory, seeds the demo account once, and keeps the data for the next
// start.
func TestEmbeddedDatabaseKeepsDataAndSeedsTheDemoOnce(t *testing.T) {
	t.Parallel()
	dir := dataDir(t)

	srv := start(t, assistd.Config{DataDir: dir, SeedDemo: true})
	env := &assisttest.Env{Server: srv, URL: srv.URL()}
	sess, _ := env.StartSession(t, "Ada")
	dbURL := srv.EmbeddedDatabaseURL()
	if dbURL == "" {
		t.Fatal("no embedded database")
	}
	stop(t, srv)

	srv = start(t, assistd.Config{DataDir: dir, SeedDemo: true})
	defer stop(t, srv)
	dbURL = srv.EmbeddedDatabaseURL()
	if n := count(t, dbURL, "SELECT count(*) FROM accounts"); n != 1 {
		t.Fatalf("%d accounts after two starts, want the one demo account", n)
	}
	if n := count(t, dbURL, "SELECT count(*) FROM advisors"); n != 3 {
		t.Fatalf("%d advisors after two starts, want 3", n)
	}
	if n := count(t, dbURL, "SELECT count(*) FROM sessions WHERE id = '"+sess.GetId()+"'"); n != 1 {
		t.Fatal("the session started before the restart is gone")
	}
	env = &assisttest.Env{Server: srv, URL: srv.URL()}
	env.Login(t, assisttest.AdvisorEmail, assisttest.AdvisorPassword)
}

// Reflection lists every service of the contract (what `grpcurl list`
// shows), and gRPC health answers SERVING for the server and each service.
func TestReflectionListsEveryServiceAndHealthIsServing(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stream := grpcreflect.NewClient(env.Client(assisttest.GRPC, "")).NewStream(ctx)
	defer stream.Close()
	names, err := stream.ListServices()
	if err != nil {
		t.Fatal(err)
	}
	contract := []string{
		assistv1connect.AuthServiceName, assistv1connect.PortalServiceName, assistv1connect.ChatServiceName,
		assistv1connect.SessionServiceName, assistv1connect.CustomerAppServiceName,
		assistv1connect.ReportServiceName, assistv1connect.AdminServiceName,
	}
	want := append(slices.Clone(contract), grpchealth.HealthV1ServiceName)
	for _, w := range want {
		if !slices.ContainsFunc(names, func(n protoreflect.FullName) bool { return string(n) == w }) {
			t.Errorf("reflection does not list %s (lists %v)", w, names)
		}
	}

	health := grpchealth.NewClient(assisttest.HTTPClient(), env.URL)
	for _, service := range append([]string{""}, contract...) {
		res, err := health.Check(ctx, &grpchealth.CheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health of %q: %v", service, err)
		}
		if res.Status != grpchealth.StatusServing {
			t.Fatalf("health of %q: %v, want SERVING", service, res.Status)
		}
	}
}

// On shutdown, open streams end cleanly (no error), so clients resume from
// their cursor elsewhere instead of reporting a failure.
func TestShutdownEndsOpenStreamsCleanly(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	srv := start(t, assistd.Config{DatabaseURL: dbURL, SeedDemo: true})
	env := &assisttest.Env{Server: srv, URL: srv.URL(), DatabaseURL: dbURL}
	sid, customerToken, _ := env.ActiveSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	for _, proto := range assisttest.Protocols {
		stream, err := env.Services(proto, customerToken).Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sid})
		if err != nil {
			t.Fatal(err)
		}
		defer stream.Close()
		if _, err := stream.Receive(); err != nil { // the stream is live
			t.Fatal(err)
		}
		defer func() {
			for {
				_, err := stream.Receive()
				if errors.Is(err, io.EOF) {
					return
				}
				if err != nil {
					t.Errorf("%s: stream ended with %v at shutdown, want a clean end", proto, err)
					return
				}
			}
		}()
	}
	stop(t, srv)
}

// Health follows the database: NOT_SERVING while it refuses connections,
// SERVING again once it is back; an unknown service is NotFound.
func TestHealthFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	health := grpchealth.NewClient(assisttest.HTTPClient(), env.URL)
	status := func() grpchealth.Status {
		t.Helper()
		res, err := health.Check(ctx, &grpchealth.CheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return res.Status
	}
	if got := status(); got != grpchealth.StatusServing {
		t.Fatalf("healthy server: %v", got)
	}
	if _, err := health.Check(ctx, &grpchealth.CheckRequest{Service: "no.such.Service"}); connectv1.CodeOf(err) != connectv1.CodeNotFound {
		t.Fatalf("unknown service: %v, want NotFound", err)
	}

	// Take the database away: refuse new connections (from another
	// database: one cannot refuse connections to itself) and end the
	// server's open ones.
	cfg, err := pgx.ParseConfig(env.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close(context.Background()) })
	allow := func(on bool) {
		t.Helper()
		if _, err := admin.Exec(context.Background(), fmt.Sprintf("ALTER DATABASE %s WITH ALLOW_CONNECTIONS %t", pgx.Identifier{name}.Sanitize(), on)); err != nil {
			t.Fatal(err)
		}
	}
	allow(false)
	t.Cleanup(func() { allow(true) })
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != grpchealth.StatusNotServing {
		t.Fatalf("database unreachable: %v, want NOT_SERVING", got)
	}
	allow(true)
	for status() != grpchealth.StatusServing {
		if ctx.Err() != nil {
			t.Fatal("health did not come back with the database")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A busy port is reported at once, naming the address, before any
// database work: here the database does not even exist.
func TestBusyPortIsReportedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = assistd.Start(ctx, assistd.Config{Addr: busy.Addr().String(), DatabaseURL: "postgres://nobody@127.0.0.1:1/none"})
	if !errors.Is(err, assistd.ErrListen) || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("Start on a busy port: %v, want ErrListen naming %s", err, busy.Addr())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the busy port was reported after %s", d)
	}
}
