// Command benchrun is `make bench`: in one invocation it measures, on one
// durable PostgreSQL cluster (fsync on) started for the run,
//
//   - the database's own ceiling with pgbench (1-row and 64-row transactions);
//   - assistd (the real binary, built here) and Centrifugo (built from the
//     module proxy with tools/centrifugo/go.mod) with its PostgreSQL broker
//     and with its memory broker, under the same load from a separate
//     process (loadclient): N sessions × 2 parties, each party on its own
//     connection, 150-byte messages back to back (closed loop), and at a
//     fixed offered rate (open loop), alternating A/B/C;
//   - assistd's replay of 1,000 stored events, memory per idle Subscribe
//     stream and idle CPU with 10,000 open streams;
//   - the CPU split (load client / server / PostgreSQL / other) of each run;
//
// and prints one table with the ratios. Raw output goes to .build/bench/.
//
//	go run ./server/internal/bench/benchrun            # make bench
//	go run ./server/internal/bench/benchrun -quick     # make bench-quick
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/assist-chat/assist/server/internal/pgembed"
)

// config is the run's shape.
type config struct {
	quick        bool
	sessions     []int
	closed       time.Duration
	openSessions int
	openRate     float64
	open         time.Duration
	pgbench      time.Duration
	replayRounds int
	idleStreams  int // per party
	idleSessions int
	idle         time.Duration
	profile      time.Duration // 0: no profile run
	only         string        // comma-separated systems to run: assist,cf-pg,cf-mem
	baseline     string        // a git revision of assistd to run next to this one ("assist-base")
	// baselineHasLimits: the baseline has the per-client limit flags.
	baselineHasLimits bool
	out               string
}

func main() {
	var c config
	var sessions string
	flag.BoolVar(&c.quick, "quick", false, "about a minute: short runs, N=1 and 100, 1,000 idle streams")
	flag.StringVar(&sessions, "sessions", "", "comma-separated session counts (default 1,100,500; quick 1,100)")
	flag.DurationVar(&c.closed, "closed", 0, "closed-loop run length (default 20s; quick 4s)")
	flag.DurationVar(&c.open, "open", 0, "open-loop run length (default 20s; quick 4s)")
	flag.DurationVar(&c.idle, "idle", 0, "idle-stream CPU window (default 60s; quick 10s)")
	flag.DurationVar(&c.profile, "profile", -1, "also profile assistd at the largest N for this long (default 20s; quick off; 0 off)")
	flag.IntVar(&c.openSessions, "open-sessions", 0, "open-loop sessions (default 500; quick 100)")
	flag.Float64Var(&c.openRate, "open-rate", 0, "open-loop offered msgs/s (default 2000; quick 400)")
	flag.StringVar(&c.only, "only", "assist,cf-pg,cf-mem", "systems to run")
	flag.StringVar(&c.baseline, "baseline", "", "also run assistd built from this git revision (system assist-base), for before/after ratios in the same run")
	flag.StringVar(&c.out, "out", "", "raw output folder (default .build/bench/<time>)")
	flag.Parse()
	openSessions, openRate := c.openSessions, c.openRate
	c.openSessions, c.openRate = 500, 2000
	c.sessions = []int{1, 100, 500}
	// A p99 needs samples: of 100 replays it is the second slowest; of
	// 1,000 (about 10 s), the tenth.
	c.pgbench, c.replayRounds, c.idleSessions, c.idleStreams = 10*time.Second, 1000, 500, 10
	def := func(d *time.Duration, full, quick time.Duration) {
		if *d <= 0 && !(d == &c.profile && *d == 0) {
			*d = full
			if c.quick {
				*d = quick
			}
		}
	}
	def(&c.closed, 20*time.Second, 4*time.Second)
	def(&c.open, 20*time.Second, 4*time.Second)
	def(&c.idle, 60*time.Second, 10*time.Second)
	if c.profile < 0 {
		c.profile = 20 * time.Second
		if c.quick {
			c.profile = 0
		}
	}
	if c.quick {
		c.sessions = []int{1, 100}
		c.pgbench, c.replayRounds, c.idleSessions, c.idleStreams = 3*time.Second, 20, 100, 5
		c.openSessions, c.openRate = 100, 400
	}
	if openSessions > 0 {
		c.openSessions = openSessions
	}
	if openRate > 0 {
		c.openRate = openRate
	}
	if sessions != "" {
		c.sessions = nil
		for s := range strings.SplitSeq(sessions, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				fmt.Fprintln(os.Stderr, "-sessions:", err)
				os.Exit(2)
			}
			c.sessions = append(c.sessions, n)
		}
	}
	if c.out == "" {
		c.out = filepath.Join(".build", "bench", time.Now().UTC().Format("20060102-150405"))
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// bench is one invocation's state.
type bench struct {
	cfg        config
	out        string
	bin        string
	cluster    *pgembed.Cluster
	pgDir      string
	pgbenchBin string
	cfErr      error // why Centrifugo is missing, if it is
	log        *os.File
	runs       []*runResult
}

// runResult is one measured run.
type runResult struct {
	System  string   `json:"system"`
	Kind    string   `json:"kind"` // closed, open, replay, idle, pgbench-1, pgbench-64
	N       int      `json:"n"`
	Res     *Result  `json:"result,omitempty"`
	TPS     float64  `json:"tps,omitempty"`
	RowsSec float64  `json:"rows_per_second,omitempty"`
	CPU     cpuSplit `json:"cpu"`
	RSSBase uint64   `json:"rss_base,omitempty"`
	RSSOpen uint64   `json:"rss_open,omitempty"`
	Err     string   `json:"error,omitempty"`
}

// Result mirrors loadclient's.
type Result struct {
	Mode        string  `json:"mode"`
	Sessions    int     `json:"sessions"`
	Streams     int     `json:"streams"`
	Seconds     float64 `json:"seconds"`
	Acked       int64   `json:"acked"`
	Delivered   int64   `json:"delivered"`
	Undelivered int64   `json:"undelivered"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	PerSecond   float64 `json:"per_second"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Over20Ms    float64 `json:"over_20ms_pct"`
	Offered     float64 `json:"offered,omitempty"`
	Dropped     int64   `json:"dropped,omitempty"`
}

// say prints to the terminal and the raw log.
func (b *bench) say(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	fmt.Println(s)
	if b.log != nil {
		fmt.Fprintln(b.log, s)
	}
}

func run(c config) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return err
	}
	out, _ := filepath.Abs(c.out)
	b := &bench{cfg: c, out: out, bin: filepath.Join(filepath.Dir(out), "bin")}
	var err error
	b.log, err = os.Create(filepath.Join(out, "log.txt"))
	if err != nil {
		return err
	}
	defer b.log.Close()
	started := time.Now()
	b.say("bench: raw output in %s", out)
	if err := b.build(); err != nil {
		return err
	}
	ctx := context.Background()
	if err := b.startCluster(ctx); err != nil {
		return err
	}
	// Ctrl-C or SIGTERM: stop the cluster and remove it; servers and the
	// load client die with us (Pdeathsig).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.cluster.Stop(stop)
		_ = os.RemoveAll(filepath.Dir(b.pgDir))
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		os.Exit(1)
	}()
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.cluster.Stop(stop)
		_ = os.RemoveAll(filepath.Dir(b.pgDir))
	}()

	b.say("\n== database ceiling (pgbench, 32 clients) ==")
	b.pgbenchRuns(ctx)

	systems := b.systems()
	for i, n := range c.sessions {
		b.say("\n== closed loop: %d sessions × 2 parties, 150-byte messages back to back, %s each ==", n, c.closed)
		// Each N starts with the next system (A B C, B C A, C A B): no
		// system always runs first, or always after a given one.
		for _, s := range rotate(systems, i) {
			b.loadRun(ctx, s, "closed", n, []string{"-mode", "closed", "-sessions", strconv.Itoa(n), "-duration", c.closed.String()}, false)
		}
	}
	b.say("\n== open loop: %.0f msgs/s offered over %d sessions, %s each ==", c.openRate, c.openSessions, c.open)
	for _, s := range rotate(systems, len(c.sessions)) {
		b.loadRun(ctx, s, "open", c.openSessions, []string{"-mode", "open", "-sessions", strconv.Itoa(c.openSessions),
			"-rate", strconv.FormatFloat(c.openRate, 'f', -1, 64), "-duration", c.open.String()}, false)
	}
	if slices.Contains(systems, "assist") {
		streams := 2 * c.idleSessions * c.idleStreams
		// The runs before inserted a million rows or so: autovacuum would
		// work on them during the replay and the idle window, and its CPU
		// is theirs, not the replay's or the idle streams'. Vacuum now,
		// and write the dirty pages out.
		b.say("\n== vacuum and checkpoint before the replay and the idle run ==")
		dbs := []string{"assist"}
		if slices.Contains(systems, "cf-pg") {
			dbs = append(dbs, "centrifugo")
		}
		for _, db := range dbs {
			for _, sql := range []string{"VACUUM ANALYZE", "CHECKPOINT"} {
				if err := execSQL(ctx, b.cluster.ConnString(db), sql); err != nil {
					b.say("  %s on %s: %v", sql, db, err)
				}
			}
		}
		b.say("\n== replay: 1,000 stored events from seq 0, %d times ==", c.replayRounds)
		b.loadRun(ctx, "assist", "replay", 1, []string{"-mode", "replay", "-replay-events", "1000", "-replay-rounds", strconv.Itoa(c.replayRounds)}, false)
		b.say("\n== idle: %d Subscribe streams (%d sessions × 2 parties × %d streams, one h2c connection per party), CPU over %s ==",
			streams, c.idleSessions, c.idleStreams, c.idle)
		b.loadRun(ctx, "assist", "idle", c.idleSessions, []string{"-mode", "idle", "-assist-api", "unary", "-sessions", strconv.Itoa(c.idleSessions),
			"-streams-per-party", strconv.Itoa(c.idleStreams), "-duration", c.idle.String()}, false)
	}
	// Both durable systems really stored what they acknowledged.
	b.say("\nstored rows: Assist session_events %d; Centrifugo PostgreSQL broker stream (table cf_stream) %d",
		count(ctx, b.cluster.ConnString("assist"), "session_events"), count(ctx, b.cluster.ConnString("centrifugo"), "cf_stream"))
	b.printTable(started)
	if c.profile > 0 && slices.Contains(systems, "assist") {
		n := slices.Max(c.sessions)
		b.say("\n== profile: assistd, closed loop, %d sessions, %s (not in the table: profiling costs CPU) ==", n, c.profile)
		b.loadRun(ctx, "assist", "profile", n, []string{"-mode", "closed", "-sessions", strconv.Itoa(n), "-duration", c.profile.String()}, true)
		b.say("\n== profile: assistd, replay of 1,000 events ==")
		b.loadRun(ctx, "assist", "profile-replay", 1, []string{"-mode", "replay", "-replay-events", "1000", "-replay-rounds", strconv.Itoa(c.replayRounds)}, true)
	}
	raw, _ := json.MarshalIndent(b.runs, "", "  ")
	_ = os.WriteFile(filepath.Join(out, "results.json"), raw, 0o644)
	b.say("\nbench: done in %s; raw output in %s", time.Since(started).Round(time.Second), out)
	return nil
}

// rotate returns s starting at its i-th element (mod len(s)).
func rotate(s []string, i int) []string {
	if len(s) == 0 {
		return s
	}
	i %= len(s)
	return append(slices.Clone(s[i:]), s[:i]...)
}

// systems are the servers compared, in the order they alternate.
func (b *bench) systems() []string {
	var s []string
	for name := range strings.SplitSeq(b.cfg.only, ",") {
		switch name = strings.TrimSpace(name); name {
		case "assist":
			s = append(s, name)
			if b.cfg.baseline != "" {
				s = append(s, "assist-base")
			}
		case "cf-pg", "cf-mem":
			if b.cfErr == nil {
				s = append(s, name)
			}
		}
	}
	return s
}

// build compiles assistd, the load client and Centrifugo into .build/bench/bin.
func (b *bench) build() error {
	if err := os.MkdirAll(b.bin, 0o755); err != nil {
		return err
	}
	b.say("bench: building assistd and loadclient")
	for _, t := range [][2]string{{"assistd", "./server/cmd/assistd"}, {"loadclient", "./server/internal/bench/loadclient"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(b.bin, t[0]), t[1])
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", t[0], err)
		}
	}
	if b.cfg.baseline != "" {
		if err := b.buildBaseline(); err != nil {
			return err
		}
	}
	if strings.Contains(b.cfg.only, "cf-") {
		b.say("bench: building Centrifugo (tools/centrifugo/go.mod; the first build takes minutes)")
		cmd := exec.Command("go", "build", "-modfile=tools/centrifugo/go.mod", "-o", filepath.Join(b.bin, "centrifugo"), "github.com/centrifugal/centrifugo/v6")
		outb, err := cmd.CombinedOutput()
		if err != nil {
			b.cfErr = fmt.Errorf("build Centrifugo: %v: %s", err, lastLines(string(outb), 5))
			b.say("bench: Centrifugo unavailable, measuring Assist alone: %v", b.cfErr)
		}
	}
	return nil
}

// buildBaseline builds assistd from the baseline revision (git archive into
// .build/bench/baseline-src) as bin/assistd-base.
func (b *bench) buildBaseline() error {
	src := filepath.Join(filepath.Dir(b.bin), "baseline-src")
	_ = os.RemoveAll(src)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	b.say("bench: building the baseline assistd from %s", b.cfg.baseline)
	archive := exec.Command("bash", "-c", `git archive "$1" | tar -x -C "$2"`, "archive", b.cfg.baseline, src)
	archive.Stdout, archive.Stderr = os.Stdout, os.Stderr
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive %s: %w", b.cfg.baseline, err)
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(b.bin, "assistd-base"), "./server/cmd/assistd")
	cmd.Dir = src
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build baseline assistd: %w", err)
	}
	// A baseline with per-client limits runs with them off, like this one.
	help, _ := exec.Command(filepath.Join(b.bin, "assistd-base"), "--help").CombinedOutput()
	b.cfg.baselineHasLimits = strings.Contains(string(help), "rate-start-session")
	return nil
}

func (b *bench) startCluster(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "assist-bench-")
	if err != nil {
		return err
	}
	_ = os.Chmod(dir, 0o755) // the cluster's OS user must reach it when we are root
	b.pgDir = filepath.Join(dir, "pg")
	b.say("bench: starting PostgreSQL (fsync on) in %s", b.pgDir)
	// Durable on purpose (Fast is off): the figures are for acknowledged,
	// fsynced messages.
	b.cluster, err = pgembed.Start(ctx, pgembed.Options{DataDir: b.pgDir, MaxConnections: 400,
		Logger: nil})
	if err != nil {
		return fmt.Errorf("start PostgreSQL: %w", err)
	}
	for _, db := range []string{"assist", "centrifugo", "pgbench"} {
		if err := b.cluster.CreateDatabase(ctx, db); err != nil {
			return err
		}
	}
	b.pgbenchBin = findPgbench()
	return nil
}

// findPgbench looks on PATH, then next to the server binaries.
func findPgbench() string {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	slices.Sort(found)
	if len(found) > 0 {
		return found[len(found)-1]
	}
	return ""
}

// snap takes a snapshot of the machine and of the run's processes.
func (b *bench) snap(client, server int) snapshot {
	busy, total := machineCPU()
	s := snapshot{machineBusy: busy, machineTotal: total, client: processCPU(client), postgres: treeCPU(postmasterPID(b.pgDir))}
	if server > 0 {
		s.server = processCPU(server)
		s.serverRSS = rss(server)
	}
	return s
}

// pgbenchRuns measures single-row and 64-row insert transactions.
func (b *bench) pgbenchRuns(ctx context.Context) {
	if b.pgbenchBin == "" {
		b.say("pgbench not found (apt-get install postgresql-contrib, or the postgresql package): no database ceiling")
		return
	}
	url := b.cluster.ConnString("pgbench")
	setup := exec.Command(b.pgbenchBin)
	_ = setup
	psqlInit := `CREATE TABLE IF NOT EXISTS bench_events (
		id bigserial PRIMARY KEY, session_id uuid NOT NULL, seq bigint NOT NULL, payload bytea NOT NULL)`
	if err := execSQL(ctx, url, psqlInit); err != nil {
		b.say("pgbench: create table: %v", err)
		return
	}
	scripts := map[string]string{
		"pgbench-1":  "INSERT INTO bench_events (session_id, seq, payload) VALUES (gen_random_uuid(), :client_id, convert_to(repeat('x', 150), 'UTF8'));\n",
		"pgbench-64": "INSERT INTO bench_events (session_id, seq, payload) SELECT gen_random_uuid(), g, convert_to(repeat('x', 150), 'UTF8') FROM generate_series(1, 64) g;\n",
	}
	for _, kind := range []string{"pgbench-1", "pgbench-64"} {
		script := filepath.Join(b.out, kind+".sql")
		_ = os.WriteFile(script, []byte(scripts[kind]), 0o644)
		cmd := exec.CommandContext(ctx, b.pgbenchBin, "-n", "-c", "32", "-j", "2", "-M", "prepared",
			"-T", strconv.Itoa(int(b.cfg.pgbench.Seconds())), "-f", script, url)
		var outb strings.Builder
		cmd.Stdout, cmd.Stderr = &outb, &outb
		if err := cmd.Start(); err != nil {
			b.say("pgbench: %v", err)
			return
		}
		// pgbench connects first; measure its steady state.
		time.Sleep(300 * time.Millisecond)
		s0 := b.snap(cmd.Process.Pid, 0)
		t0 := time.Now()
		err := cmd.Wait()
		s1 := b.snap(0, 0)
		s1.client = s0.client + cmdCPU(cmd)
		_ = os.WriteFile(filepath.Join(b.out, kind+".txt"), []byte(outb.String()), 0o644)
		r := &runResult{System: "postgres", Kind: kind, N: 32, CPU: split(s0, s1, time.Since(t0).Seconds())}
		if err != nil {
			r.Err = fmt.Sprintf("%v: %s", err, lastLines(outb.String(), 3))
		}
		for line := range strings.SplitSeq(outb.String(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "tps = "); ok {
				f := strings.Fields(v)
				r.TPS, _ = strconv.ParseFloat(f[0], 64)
			}
		}
		r.RowsSec = r.TPS
		if kind == "pgbench-64" {
			r.RowsSec = r.TPS * 64
		}
		b.runs = append(b.runs, r)
		b.say("  %-11s %9.0f tx/s  %9.0f rows/s   cpu %s", kind, r.TPS, r.RowsSec, r.CPU)
		if r.Err != "" {
			b.say("  error: %s", r.Err)
		}
	}
}

// cmdCPU is the CPU ticks an exited command used (from its rusage; its
// /proc entry is gone).
func cmdCPU(cmd *exec.Cmd) uint64 {
	if cmd.ProcessState == nil {
		return 0
	}
	d := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return uint64(d.Seconds()*clockTicks + 0.5)
}

func (s cpuSplit) String() string {
	return fmt.Sprintf("client %.2f / server %.2f / postgres %.2f / other %.2f of %d cores", s.Client, s.Server, s.Postgres, s.Other, s.Cores)
}

// server is a running assistd or Centrifugo.
type server struct {
	cmd  *exec.Cmd
	url  string
	args []string // for loadclient
}

// startServer starts a fresh server process for one run.
func (b *bench) startServer(ctx context.Context, system, runName string, pprofAddr string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logf, err := os.Create(filepath.Join(b.out, runName+"."+system+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s := &server{url: "http://" + addr}
	switch system {
	case "assist", "assist-base":
		args := []string{"--addr", addr, "--database-url", b.cluster.ConnString("assist"), "--demo=true", "--log-level", "warn"}
		if system == "assist" || b.cfg.baselineHasLimits {
			// The load comes from one address and a few tokens, far past
			// the per-client limits that protect a real deployment; the
			// peer has none either. (A baseline older than the limits
			// knows no such flags.)
			args = append(args, "--rate-start-session", "off", "--rate-login", "off", "--rate-per-credential", "off",
				"--max-conns-per-address", "0", "--max-in-flight", "0")
		}
		if pprofAddr != "" {
			args = append(args, "--pprof-addr", pprofAddr)
		}
		bin := "assistd"
		if system == "assist-base" {
			bin = "assistd-base"
		}
		s.cmd = exec.Command(filepath.Join(b.bin, bin), args...)
		s.args = []string{"-target", "assist"}
	case "cf-pg", "cf-mem":
		secret := "bench-secret-not-for-production"
		cfg := map[string]any{
			"http_server": map[string]any{"address": "127.0.0.1", "port": port},
			"log":         map[string]any{"level": "error"},
			"usage_stats": map[string]any{"disabled": true},
			"client": map[string]any{
				"token":           map[string]any{"hmac_secret_key": secret},
				"allowed_origins": []string{"*"},
			},
			"http_api": map[string]any{"insecure": true},
			"channel": map[string]any{"namespaces": []any{map[string]any{
				"name":                         "chat",
				"history_size":                 1000,
				"history_ttl":                  "24h",
				"force_recovery":               true,
				"allow_subscribe_for_client":   true,
				"allow_publish_for_subscriber": true,
			}}},
		}
		if system == "cf-pg" {
			cfg["broker"] = map[string]any{"enabled": true, "type": "postgres", "postgres": map[string]any{
				"dsn": b.cluster.ConnString("centrifugo"), "use_notify": true, "pool_size": 32,
			}}
		}
		raw, _ := json.MarshalIndent(cfg, "", "  ")
		cfgPath := filepath.Join(b.out, system+".json")
		if err := os.WriteFile(cfgPath, raw, 0o644); err != nil {
			return nil, err
		}
		s.cmd = exec.Command(filepath.Join(b.bin, "centrifugo"), "--config", cfgPath)
		s.args = []string{"-target", "centrifugo", "-secret", secret}
	default:
		return nil, fmt.Errorf("unknown system %q", system)
	}
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) || (s.cmd.ProcessState != nil) {
			b.stopServer(s)
			return nil, fmt.Errorf("%s did not listen on %s (log: %s)", system, addr, logf.Name())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s, nil
}

func (b *bench) stopServer(s *server) {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loadRun runs one measurement: a fresh server, the load client, snapshots
// at the load client's marks.
func (b *bench) loadRun(ctx context.Context, system, kind string, n int, loadArgs []string, profile bool) {
	r := &runResult{System: system, Kind: kind, N: n}
	name := fmt.Sprintf("%s-%d", kind, n)
	err := b.loadRunErr(ctx, r, name, loadArgs, profile)
	if err != nil {
		r.Err = err.Error()
		b.say("  %-7s %-6s N=%-4d FAILED: %v", system, kind, n, err)
	}
	if !profile {
		b.runs = append(b.runs, r)
	}
}

func (b *bench) loadRunErr(ctx context.Context, r *runResult, name string, loadArgs []string, profile bool) error {
	pprofAddr := ""
	if profile {
		p, err := freePort()
		if err != nil {
			return err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", p)
	}
	srv, err := b.startServer(ctx, r.System, name, pprofAddr)
	if err != nil {
		return err
	}
	defer b.stopServer(srv)
	args := append(append([]string{"-url", srv.url}, srv.args...), loadArgs...)
	cmd := exec.CommandContext(ctx, filepath.Join(b.bin, "loadclient"), args...)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderrf, _ := os.Create(filepath.Join(b.out, name+"."+r.System+".loadclient.log"))
	defer stderrf.Close()
	cmd.Stderr = stderrf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	server := srv.cmd.Process.Pid
	var s0, s1 snapshot
	var t0, t1 time.Time
	var profErr chan error
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(stderrf, line)
		switch {
		case strings.HasPrefix(line, "MARK "):
			client := cmd.Process.Pid
			switch strings.TrimPrefix(line, "MARK ") {
			case "base":
				r.RSSBase = rss(server)
			case "start":
				s0, t0 = b.snap(client, server), time.Now()
				r.RSSOpen = s0.serverRSS
				if profile {
					profErr = make(chan error, 1)
					go func() { profErr <- b.fetchProfile(pprofAddr, name) }()
				}
			case "end":
				s1, t1 = b.snap(client, server), time.Now()
			}
			_, _ = io.WriteString(stdin, "\n")
		case strings.HasPrefix(line, "progress "):
			fmt.Printf("    %s %s: %s\n", r.System, name, strings.TrimPrefix(line, "progress "))
		case strings.HasPrefix(line, "RESULT "):
			r.Res = new(Result)
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "RESULT ")), r.Res); err != nil {
				return fmt.Errorf("load client result: %w", err)
			}
		}
	}
	werr := cmd.Wait()
	if r.Res == nil {
		return fmt.Errorf("load client: %v (log: %s)", werr, stderrf.Name())
	}
	if !t1.IsZero() {
		r.CPU = split(s0, s1, t1.Sub(t0).Seconds())
	}
	if profErr != nil {
		if err := <-profErr; err != nil {
			b.say("  profile: %v", err)
		}
	}
	b.report(r)
	return nil
}

// report prints one run's line.
func (b *bench) report(r *runResult) {
	x := r.Res
	switch r.Kind {
	case "closed", "open", "profile":
		b.say("  %-11s %-6s N=%-4d %8.0f msgs/s  p50 %7.1f ms  p99 %7.1f ms  over 20 ms %5.1f%%  (undelivered %d, errors %d, dropped %d)  cpu %s",
			r.System, r.Kind, r.N, x.PerSecond, x.P50Ms, x.P99Ms, x.Over20Ms, x.Undelivered, x.Errors, x.Dropped, r.CPU)
	case "replay", "profile-replay":
		b.say("  %-7s replay of 1,000 events: p50 %.1f ms  p99 %.1f ms  max %.1f ms", r.System, x.P50Ms, x.P99Ms, x.MaxMs)
	case "idle":
		b.say("  %-7s %d idle streams: server RSS %s → %s (%.1f KB a stream); cpu %s",
			r.System, x.Streams, mib(r.RSSBase), mib(r.RSSOpen), perStreamKB(r), r.CPU)
	}
	if x.FirstError != "" {
		b.say("          first error: %s", x.FirstError)
	}
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func perStreamKB(r *runResult) float64 {
	if r.Res == nil || r.Res.Streams == 0 || r.RSSOpen < r.RSSBase {
		return 0
	}
	return float64(r.RSSOpen-r.RSSBase) / 1024 / float64(r.Res.Streams)
}

// fetchProfile saves a CPU profile of assistd over the run and its top.
func (b *bench) fetchProfile(addr, name string) error {
	secs := int(b.cfg.profile.Seconds()) - 1
	res, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(secs, 1)))
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return errors.New(res.Status)
	}
	path := filepath.Join(b.out, name+".assistd.cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	f.Close()
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=40", filepath.Join(b.bin, "assistd"), path).CombinedOutput()
	_ = os.WriteFile(path+".top.txt", top, 0o644)
	b.say("  profile: %s (top: %s.top.txt)", path, path)
	return err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
