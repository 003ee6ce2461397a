package pgembed_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/assist-chat/assist/server/internal/pgembed"
)

// dataDir returns a data directory under os.TempDir() that the cluster's
// user can reach (t.TempDir() is 0700, which a root test process's
// "postgres" user cannot enter), removed after the test.
func dataDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgembed-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "data")
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func start(t *testing.T, opts pgembed.Options) *pgembed.Cluster {
	t.Helper()
	began := time.Now()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	c, err := pgembed.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %v", time.Since(began))
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, c *pgembed.Cluster, database string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), c.ConnString(database))
	if err != nil {
		t.Fatalf("connect to %s: %v", database, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestClusterKeepsDataAcrossRestarts(t *testing.T) {
	t.Parallel()
	opts := pgembed.Options{DataDir: dataDir(t), Fast: true}

	c := start(t, opts)
	began := time.Now()
	if err := c.CreateDatabase(t.Context(), "app"); err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	t.Logf("CreateDatabase took %v", time.Since(began))
	if err := c.CreateDatabase(t.Context(), "app"); err != nil {
		t.Fatalf("CreateDatabase of an existing database: %v", err)
	}
	conn := connect(t, c, "app")
	var one int
	if err := conn.QueryRow(t.Context(), "select 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("select 1 = %d, %v", one, err)
	}
	if _, err := conn.Exec(t.Context(), "create table note (body text); insert into note values ('kept')"); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := c.Stop(t.Context()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c = start(t, opts)
	var body string
	if err := connect(t, c, "app").QueryRow(t.Context(), "select body from note").Scan(&body); err != nil || body != "kept" {
		t.Fatalf("after restart, note = %q, %v; want %q", body, err, "kept")
	}
}

// TestPostgresDiesWithItsParent kills a process that started a cluster (this
// test binary, re-executed) and expects postgres to exit too.
func TestPostgresDiesWithItsParent(t *testing.T) {
	if dir := os.Getenv("PGEMBED_TEST_PARENT_DATA_DIR"); dir != "" {
		c, err := pgembed.Start(t.Context(), pgembed.Options{DataDir: dir, Fast: true})
		if err != nil {
			t.Fatal(err)
		}
		_ = c
		fmt.Println("started")
		select {} // until killed
	}
	t.Parallel()
	dir := dataDir(t)
	parent := exec.Command(os.Args[0], "-test.run=^TestPostgresDiesWithItsParent$")
	parent.Env = append(os.Environ(), "PGEMBED_TEST_PARENT_DATA_DIR="+dir)
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "started\n" {
		parent.Process.Kill()
		t.Fatalf("parent said %q, %v", line, err)
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])

	parent.Process.Kill()
	parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); running(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres (pid %d) still running 10s after its parent was killed", pid)
		}
	}
}

// running reports whether pid is alive; a zombie is not (an init that does
// not reap would otherwise keep it "alive").
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

func TestClusterAcceptsNoTCPConnections(t *testing.T) {
	t.Parallel()
	c := start(t, pgembed.Options{DataDir: dataDir(t), Fast: true})
	var addrs string
	if err := connect(t, c, "postgres").QueryRow(t.Context(), "show listen_addresses").Scan(&addrs); err != nil {
		t.Fatal(err)
	}
	if addrs != "" {
		t.Fatalf("listen_addresses = %q, want empty", addrs)
	}
}

func TestStartRecoversAfterCrash(t *testing.T) {
	t.Parallel()
	opts := pgembed.Options{DataDir: dataDir(t), Fast: true}
	c := start(t, opts)

	// Kill the postmaster as a crash would, leaving postmaster.pid and the
	// socket lock file behind.
	pidFile, err := os.ReadFile(filepath.Join(opts.DataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.Done()

	c = start(t, opts)
	if err := connect(t, c, "postgres").Ping(t.Context()); err != nil {
		t.Fatalf("after crash: %v", err)
	}
}

func TestStartRefusesDataDirOfRunningCluster(t *testing.T) {
	t.Parallel()
	opts := pgembed.Options{DataDir: dataDir(t), Fast: true}
	start(t, opts)

	c, err := pgembed.Start(t.Context(), opts)
	if err == nil {
		c.Stop(context.Background())
		t.Fatal("second Start on the same data directory succeeded")
	}
	if !strings.Contains(err.Error(), "in use by a running PostgreSQL") {
		t.Fatalf("error = %v, want one saying the directory is in use", err)
	}
}

func TestStartFailureShowsPostgresLog(t *testing.T) {
	t.Parallel()
	_, err := pgembed.Start(t.Context(), pgembed.Options{DataDir: dataDir(t), Fast: true, MaxConnections: -1, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "outside the valid range for parameter \"max_connections\"") {
		t.Fatalf("error = %v, want postgres's complaint about max_connections", err)
	}
}

func TestStartWithoutBinariesSaysHowToInstall(t *testing.T) {
	t.Parallel()
	_, err := pgembed.Start(t.Context(), pgembed.Options{DataDir: dataDir(t), BinDir: t.TempDir()})
	if !errors.Is(err, pgembed.ErrBinariesNotFound) {
		t.Fatalf("error = %v, want ErrBinariesNotFound", err)
	}
	for _, want := range []string{"apt-get install postgresql", "ASSIST_DATABASE_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestStartRejectsSocketPathOverLimit(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(dataDir(t), strings.Repeat("d", 100))
	_, err := pgembed.Start(t.Context(), pgembed.Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "too long for a unix socket") {
		t.Fatalf("error = %v, want one about the socket path length", err)
	}
}

func TestStartAsRootNamesUnreachableParent(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	t.Parallel()
	// Like t.TempDir(): 0700 and root's.
	private := filepath.Join(filepath.Dir(dataDir(t)), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := pgembed.Start(t.Context(), pgembed.Options{DataDir: filepath.Join(private, "data")})
	if err == nil || !strings.Contains(err.Error(), "cannot enter "+private+" ") {
		t.Fatalf("error = %v, want one naming %s", err, private)
	}
}
