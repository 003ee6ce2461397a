// Package pgembed runs a private PostgreSQL cluster for assistd from the
// server binaries installed on the machine.
//
// The cluster lives in its own data directory, listens only on a unix socket
// in that directory (no TCP) and trusts local connections as superuser
// "assist": the socket is reachable only by whoever can enter the 0700 data
// directory. postgres runs as a direct child that the kernel stops when the
// parent dies, so it never outlives the server, even after a crash.
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Superuser is the role initdb creates; ConnString connects as it.
const Superuser = "assist"

const (
	port = 5432 // only names the socket file: each cluster has its own socket directory
	// maxSocketPath is sizeof(sockaddr_un.sun_path) minus the terminating NUL.
	maxSocketPath = 107
	// startTimeout bounds startup when ctx has no earlier deadline. Crash
	// recovery of a large cluster can take a while, hence not seconds.
	startTimeout = 2 * time.Minute
)

// Options configure Start.
type Options struct {
	// DataDir is the cluster's data directory, dedicated to PostgreSQL (for
	// example <assistd data>/postgres). It is created if missing and
	// initialized on first use. The unix socket lives in it too, so the
	// path may be at most 93 bytes long. Required.
	DataDir string

	// BinDir is the directory holding initdb and postgres. By default the
	// first of PATH, `pg_config --bindir` and /usr/lib/postgresql/*/bin
	// (highest version first) that has them, preferring the version an
	// existing cluster was created with.
	BinDir string

	// RunAsUser is the OS user that owns and runs the cluster when the
	// process is root (PostgreSQL refuses to run as root). Every parent of
	// DataDir must be searchable by it. Ignored when not root. Default
	// "postgres".
	RunAsUser string

	// Logger receives one line per lifecycle event at info and details at
	// debug. PostgreSQL's own output goes to DataDir/log/postgres.log (the
	// previous run's to postgres.log.1). Default slog.Default().
	Logger *slog.Logger

	// Fast trades durability for speed, for tests: fsync, synchronous_commit
	// and full_page_writes are off, and initdb skips syncing. A crash of the
	// machine (not of the process) can corrupt the cluster. Default false.
	Fast bool

	// MaxConnections is the server's max_connections. Default 200.
	MaxConnections int
}

// Cluster is a running PostgreSQL server. Stop it with Stop.
type Cluster struct {
	dataDir string // also the socket directory
	logPath string
	logger  *slog.Logger
	cmd     *exec.Cmd

	done    chan struct{} // closed once postgres has exited
	exitErr error         // written before done is closed

	stopOnce sync.Once
	ready    atomic.Bool // accepted a connection
	stopping atomic.Bool // Stop was called
}

// Start starts the cluster in opts.DataDir, running initdb first if the
// directory holds no cluster yet, and returns once it accepts connections.
// ctx bounds startup only: the cluster runs until Stop or until this
// process exits.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pgembed: Options.DataDir is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if n := len(socketPath(dataDir)); n > maxSocketPath {
		return nil, fmt.Errorf("pgembed: data directory %s is too long for a unix socket inside it (socket path of %d bytes, limit %d): choose a shorter path", dataDir, n, maxSocketPath)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("data_dir", dataDir)
	if opts.RunAsUser == "" {
		opts.RunAsUser = defaultRunAsUser
	}
	if opts.MaxConnections == 0 {
		opts.MaxConnections = 200
	}

	var clusterVersion string
	if b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		clusterVersion = strings.TrimSpace(string(b))
	}
	bin, err := findBinaries(ctx, opts.BinDir, clusterVersion)
	if err != nil {
		return nil, err
	}
	logger.Debug("using PostgreSQL binaries", "dir", bin.dir, "version", bin.version)

	own, err := lookupOwner(opts.RunAsUser)
	if err != nil {
		return nil, err
	}
	if err := own.prepare(dataDir); err != nil {
		return nil, err
	}
	if err := waitNotInUse(ctx, dataDir); err != nil {
		return nil, err
	}
	if clusterVersion == "" {
		if err := initdb(ctx, bin, own, dataDir, opts.Fast, logger); err != nil {
			return nil, err
		}
	}

	c := &Cluster{
		dataDir: dataDir,
		logPath: filepath.Join(dataDir, "log", "postgres.log"),
		logger:  logger,
		done:    make(chan struct{}),
	}
	began := time.Now()
	if err := c.start(bin, own, opts); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(stopCtx)
		return nil, err
	}
	logger.Info("postgres started", "version", bin.version, "pid", c.cmd.Process.Pid,
		"took", time.Since(began).Round(time.Millisecond), "log", c.logPath)
	return c, nil
}

func initdb(ctx context.Context, bin binaries, own *owner, dataDir string, fast bool, logger *slog.Logger) error {
	logger.Info("initializing PostgreSQL cluster", "version", bin.version)
	began := time.Now()
	args := []string{
		"--pgdata", dataDir,
		"--username", Superuser,
		"--encoding", "UTF8",
		// C sorts by code point, the same everywhere, and needs no OS locale.
		"--locale", "C",
		"--auth-local", "trust",
		"--auth-host", "reject",
	}
	if fast {
		args = append(args, "--no-sync")
	}
	cmd := command(ctx, bin.path("initdb"), own, dataDir, args...)
	// Interrupted, initdb cleans up after itself; killed, it would leave a
	// half-made cluster that later starts would trip over.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	logger.Debug("initdb output", "output", string(out))
	if ctx.Err() != nil {
		return fmt.Errorf("pgembed: initdb interrupted: %w", ctx.Err())
	}
	if err != nil {
		// initdb removes what it created when it fails, so a retry starts clean.
		return fmt.Errorf("pgembed: initdb: %w\n%s", err, lastLines(string(out), 20))
	}
	logger.Info("initialized PostgreSQL cluster", "took", time.Since(began).Round(time.Millisecond))
	return nil
}

// command prepares initdb or postgres to run as the cluster's owner.
func command(ctx context.Context, path string, own *owner, dataDir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	// The owner may not be able to enter our working directory.
	cmd.Dir = dataDir
	cmd.Env = environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: own.cred}
	return cmd
}

// environ is our environment without PG* variables: postgres reads PGPORT,
// PGDATA and friends as defaults, and they describe some other server.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func (c *Cluster) start(bin binaries, own *owner, opts Options) error {
	logFile, err := c.openLog(own)
	if err != nil {
		return err
	}
	defer func() { _ = logFile.Close() }() // postgres has its own copy

	args := []string{
		"-D", c.dataDir,
		// Command-line settings beat postgresql.conf and ALTER SYSTEM, so the
		// socket is where ConnString expects it and TCP stays off.
		"-c", "listen_addresses=",
		"-c", "port=" + strconv.Itoa(port),
		"-c", "unix_socket_directories=" + quoteListItem(c.dataDir),
		"-c", "max_connections=" + strconv.Itoa(opts.MaxConnections),
	}
	if opts.Fast {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	// Not CommandContext: ctx bounds startup, not the server's life.
	c.cmd = command(context.Background(), bin.path("postgres"), own, c.dataDir, args...)
	c.cmd.Stdout = logFile
	c.cmd.Stderr = logFile
	// SIGINT is a fast shutdown; SIGTERM would be a smart one, which waits
	// for every client, including ones we do not control.
	c.cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	// Its own process group, so a Ctrl-C in the terminal reaches only us and
	// we stop postgres after the code that still needs it.
	c.cmd.SysProcAttr.Setpgid = true

	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the forking *thread* exits, not the process
		// (go.dev/issue/27505). Pinning this goroutine to its thread until
		// postgres exits keeps that thread alive exactly as long as needed.
		runtime.LockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.exitErr = c.cmd.Wait()
		switch {
		case c.stopping.Load():
			c.logger.Info("postgres stopped")
		case c.ready.Load(): // else Start reports it
			c.logger.Error("postgres exited unexpectedly", "err", c.exitErr, "log", c.logPath)
		}
		close(c.done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgembed: start postgres: %w", err)
	}
	return nil
}

// openLog truncates the log for this run, keeping the previous run's (the
// one to read after a crash) as postgres.log.1.
func (c *Cluster) openLog(own *owner) (*os.File, error) {
	dir := filepath.Dir(c.logPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	// log is also PostgreSQL's default log_directory: leave it writable.
	if err := own.chown(dir); err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	_ = os.Rename(c.logPath, c.logPath+".1")
	f, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	if err := own.chown(c.logPath); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("pgembed: %w", err)
	}
	return f, nil
}

// waitReady polls until postgres accepts a connection, exits, or time is up.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
		if err == nil {
			c.ready.Store(true)
			return conn.Close(ctx)
		}
		select {
		case <-c.done:
			return fmt.Errorf("pgembed: postgres exited during startup (%w); end of %s:\n%s", c.exitErr, c.logPath, c.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgembed: postgres did not accept connections: %w (last error: %w); end of %s:\n%s", ctx.Err(), err, c.logPath, c.logTail())
		case <-tick.C:
		}
	}
}

func (c *Cluster) logTail() string {
	f, err := os.Open(c.logPath)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = f.Close() }()
	const n = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return lastLines(string(b), 20)
}

// ConnString returns a pgx (and libpq) URL for database on the cluster's
// unix socket, as the superuser.
func (c *Cluster) ConnString(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(Superuser),
		Path:     "/" + database,
		RawQuery: url.Values{"host": {c.dataDir}, "sslmode": {"disable"}}.Encode(),
	}
	return u.String()
}

// CreateDatabase creates the database name; one that exists already is fine.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.ConnString("postgres"))
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P04" { // duplicate_database
		return nil
	}
	if err != nil {
		return fmt.Errorf("pgembed: create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the cluster down (a fast shutdown: clients are disconnected,
// data is checkpointed) and waits for postgres to exit. If ctx ends first it
// falls back to an immediate shutdown, which the next start recovers from.
// Calling Stop again, or after postgres died, returns nil.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() {
		c.stopping.Store(true)
		_ = c.cmd.Process.Signal(syscall.SIGINT)
	})
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return fmt.Errorf("pgembed: fast shutdown did not finish, used immediate shutdown: %w", ctx.Err())
}

// Done is closed when postgres has exited, after Stop or on its own. A server
// should treat the latter as fatal.
func (c *Cluster) Done() <-chan struct{} { return c.done }

func socketPath(dir string) string {
	return filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port))
}

// quoteListItem quotes a directory for a list-valued setting such as
// unix_socket_directories, where a comma or space would split it.
func quoteListItem(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
