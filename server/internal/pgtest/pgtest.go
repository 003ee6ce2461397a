// Package pgtest gives each test a fresh PostgreSQL database.
//
// A package that uses it starts with
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// and each test asks for its own database:
//
//	url := pgtest.NewDatabase(t)
//
// The databases live on one embedded cluster per test binary (see pgembed),
// started on first use, or on the server named by TEST_DATABASE_URL, whose
// role must be allowed to CREATE DATABASE.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/pgembed"
)

// EnvDatabaseURL names the variable that points tests at an existing server
// instead of an embedded cluster.
const EnvDatabaseURL = "TEST_DATABASE_URL"

var (
	mainCalled bool

	// Set once, by the first test that needs the embedded cluster.
	startOnce sync.Once
	cluster   *pgembed.Cluster
	tempDir   string
	startErr  error
)

// Main runs the tests of a package, then stops the embedded cluster, if any
// test started one, and removes its files. It exits with the tests' status.
func Main(m *testing.M) {
	os.Exit(run(m))
}

// Run is Main without the exit: it returns m's exit code, so that a
// TestMain can clean up its own things before exiting.
func Run(m *testing.M) int { return run(m) }

func run(m *testing.M) int {
	mainCalled = true
	// If a test panics, the process dies without reaching here; postgres
	// then stops on its own (pgembed sets a parent-death signal), leaving
	// only its directory under os.TempDir().
	code := m.Run()
	if cluster != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Stop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	if tempDir != "" {
		_ = os.RemoveAll(tempDir)
	}
	return code
}

// NewDatabase creates an empty database for tb and returns its connection
// URL. The database is dropped, closing any connection left open, when tb
// finishes. Safe for parallel tests.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin, err := adminURL()
	if err != nil {
		tb.Fatal(err)
	}
	name := databaseName(tb.Name())
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// template0 is never connected to, so concurrent copies of it cannot
	// fail with "source database is being accessed by other users".
	if err := exec(ctx, admin, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := exec(ctx, admin, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return dbURL
}

// Cluster returns the embedded cluster, starting it if needed, or nil when
// TEST_DATABASE_URL is set.
func Cluster(tb testing.TB) *pgembed.Cluster {
	tb.Helper()
	if _, err := adminURL(); err != nil {
		tb.Fatal(err)
	}
	return cluster
}

// adminURL returns a URL of the maintenance database, from which databases
// are created and dropped.
func adminURL() (string, error) {
	if !mainCalled {
		return "", fmt.Errorf("pgtest: the package's TestMain must call pgtest.Main:\n\tfunc TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return u, nil
	}
	startOnce.Do(startCluster)
	if startErr != nil {
		return "", startErr
	}
	return cluster.ConnString("postgres"), nil
}

func startCluster() {
	tempDir, startErr = os.MkdirTemp("", "pgtest-")
	if startErr != nil {
		startErr = fmt.Errorf("pgtest: %w", startErr)
		return
	}
	// MkdirTemp makes it 0700; as root, the cluster's user must enter it.
	if startErr = os.Chmod(tempDir, 0o755); startErr != nil {
		startErr = fmt.Errorf("pgtest: %w", startErr)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, startErr = pgembed.Start(ctx, pgembed.Options{
		DataDir: filepath.Join(tempDir, "data"),
		Fast:    true,
		// Startup failures come back as errors, with the log's tail.
		Logger: slog.New(slog.DiscardHandler),
	})
	if startErr != nil {
		startErr = fmt.Errorf("pgtest: start embedded PostgreSQL (or set %s): %w", EnvDatabaseURL, startErr)
	}
}

func exec(ctx context.Context, connString, sql string) error {
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

var notNameChar = regexp.MustCompile(`[^a-z0-9]+`)

// databaseName is unique across test binaries sharing a server and, to tell
// leftovers apart, names the test: "test_parallel_a_1f2e3d4c5b6a".
func databaseName(testName string) string {
	readable := strings.Trim(notNameChar.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	readable = readable[:min(len(readable), 40)] // names are limited to 63 bytes
	suffix := make([]byte, 6)
	rand.Read(suffix)
	return "test_" + readable + "_" + hex.EncodeToString(suffix)
}

// withDatabase points a connection string, URL or keyword/value, at database.
func withDatabase(connString, database string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("pgtest: %s: %w", EnvDatabaseURL, err)
		}
		u.Path, u.RawPath = "/"+database, ""
		return u.String(), nil
	}
	// In keyword/value form the last of a repeated keyword wins.
	return connString + " dbname=" + database, nil
}
