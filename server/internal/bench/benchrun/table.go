package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func execSQL(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// count returns a table's row count, or -1.
func count(ctx context.Context, url, table string) int64 {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return -1
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		return -1
	}
	return n
}

func (b *bench) find(system, kind string, n int) *runResult {
	for _, r := range b.runs {
		if r.System == system && r.Kind == kind && (n == 0 || r.N == n) && r.Err == "" && (r.Res != nil || r.TPS > 0) {
			return r
		}
	}
	return nil
}

var systemNames = map[string]string{
	"assist":      "Assist",
	"assist-base": "Assist baseline",
	"cf-pg":       "Centrifugo, PostgreSQL broker",
	"cf-mem":      "Centrifugo, memory broker (not durable)",
}

// machine describes this box in one line.
func (b *bench) machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		fmt.Sscanf(strings.SplitN(string(raw), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	pg := ""
	if out, err := exec.Command(b.pgbenchBin, "--version").Output(); err == nil {
		pg = ", PostgreSQL " + strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), "pgbench (PostgreSQL)"))
	}
	return fmt.Sprintf("%s, %d cores%s%s (fsync on), %s", model, numCPU(), mem, pg, runtime.Version())
}

func msgs(r *runResult) string {
	if r == nil {
		return "—"
	}
	return fmt.Sprintf("%s (%s / %s ms)", thousands(r.Res.PerSecond), ms(r.Res.P50Ms), ms(r.Res.P99Ms))
}

func ms(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func ratio(a, b *runResult) string {
	if a == nil || b == nil || b.Res.PerSecond == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a.Res.PerSecond/b.Res.PerSecond)
}

// printTable prints the one table (Markdown, ready for the README) and
// saves it as table.md.
func (b *bench) printTable(started time.Time) {
	var w strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p("Measured %s UTC on %s.", started.UTC().Format("2006-01-02 15:04"), b.machine())
	p("Client, servers and PostgreSQL share the same cores; see the CPU split for noise from other processes (\"other\").")
	p("")
	if one, many := b.find("postgres", "pgbench-1", 0), b.find("postgres", "pgbench-64", 0); one != nil || many != nil {
		line := "Database ceiling (pgbench, 32 clients, same cluster):"
		if one != nil {
			line += fmt.Sprintf(" %s single-row transactions/s;", thousands(one.TPS))
		}
		if many != nil {
			line += fmt.Sprintf(" %s rows/s in 64-row transactions.", thousands(many.RowsSec))
		}
		p("%s", line)
		p("")
	}
	if b.cfErr != nil {
		p("Centrifugo could not be built: %v", b.cfErr)
		p("")
	}
	p("Closed loop: N sessions × 2 parties, each party on its own connection, 150-byte messages back to back; msgs/s acknowledged (p50 / p99 send → delivery on the other party's stream).")
	p("")
	p("| N | Assist | Centrifugo, PostgreSQL broker | Centrifugo, memory broker (not durable) | Assist ÷ PG broker | Assist ÷ memory broker |")
	p("|---|---|---|---|---|---|")
	for _, n := range b.cfg.sessions {
		a, pg, mem := b.find("assist", "closed", n), b.find("cf-pg", "closed", n), b.find("cf-mem", "closed", n)
		p("| %d | %s | %s | %s | %s | %s |", n, msgs(a), msgs(pg), msgs(mem), ratio(a, pg), ratio(a, mem))
	}
	if b.cfg.baseline != "" {
		p("")
		p("This Assist against the baseline (%s), same run:", b.cfg.baseline)
		p("")
		p("| N | Assist | Assist baseline | Assist ÷ baseline |")
		p("|---|---|---|---|")
		for _, n := range b.cfg.sessions {
			a, base := b.find("assist", "closed", n), b.find("assist-base", "closed", n)
			p("| %d | %s | %s | %s |", n, msgs(a), msgs(base), ratio(a, base))
		}
		if a, base := b.find("assist", "open", 0), b.find("assist-base", "open", 0); a != nil && base != nil {
			p("| open loop p99 | %s ms | %s ms | |", ms(a.Res.P99Ms), ms(base.Res.P99Ms))
		}
	}
	p("")
	p("Open loop: %s msgs/s offered over %d sessions (latency without queueing in the client).", thousands(b.cfg.openRate), b.cfg.openSessions)
	p("")
	p("| system | acknowledged msgs/s | p50 | p90 | p99 | max | deliveries over 20 ms | dropped (server saturated) |")
	p("|---|---|---|---|---|---|---|---|")
	for _, s := range []string{"assist", "assist-base", "cf-pg", "cf-mem"} {
		if r := b.find(s, "open", 0); r != nil {
			p("| %s | %s | %s ms | %s ms | %s ms | %s ms | %.1f%% | %s |", systemNames[s], thousands(r.Res.PerSecond), ms(r.Res.P50Ms), ms(r.Res.P90Ms),
				ms(r.Res.P99Ms), ms(r.Res.MaxMs), r.Res.Over20Ms, thousands(float64(r.Res.Dropped)))
		}
	}
	p("")
	// The targets.
	nMax := b.cfg.sessions[len(b.cfg.sessions)-1]
	p("Targets (issue 6):")
	p("")
	p("| figure | measured | target | met |")
	p("|---|---|---|---|")
	target := func(fig, measured, tgt string, ok *bool) {
		met := "—"
		if ok != nil {
			met = map[bool]string{true: "yes", false: "no"}[*ok]
		}
		p("| %s | %s | %s | %s |", fig, measured, tgt, met)
	}
	cmp := func(a, c *runResult, want float64) (string, *bool) {
		if a == nil || c == nil || c.Res.PerSecond == 0 {
			return "not measured", nil
		}
		v := a.Res.PerSecond / c.Res.PerSecond
		ok := v >= want
		return fmt.Sprintf("%.2f×", v), &ok
	}
	m, ok := cmp(b.find("assist", "closed", nMax), b.find("cf-pg", "closed", nMax), 4)
	target(fmt.Sprintf("N=%d durable msgs/s vs Centrifugo's PostgreSQL broker", nMax), m, "≥ 4×", ok)
	m, ok = cmp(b.find("assist", "closed", nMax), b.find("cf-mem", "closed", nMax), 0.6)
	target(fmt.Sprintf("N=%d durable msgs/s vs Centrifugo's memory broker (not durable)", nMax), m, "≥ 0.6×", ok)
	m, ok = cmp(b.find("assist", "closed", 1), b.find("cf-pg", "closed", 1), 1.5)
	target("N=1 msgs/s vs Centrifugo's PostgreSQL broker", m, "≥ 1.5×", ok)
	if r := b.find("assist", "open", 0); r != nil {
		v := r.Res.P99Ms <= 20 && r.Res.Dropped == 0
		m := ms(r.Res.P99Ms) + " ms"
		if r.Res.Dropped > 0 {
			m += fmt.Sprintf(" (rate not sustained: %s msgs/s acknowledged)", thousands(r.Res.PerSecond))
		}
		target(fmt.Sprintf("p99 send → delivery at %s msgs/s offered over %d sessions (open loop)", thousands(b.cfg.openRate), b.cfg.openSessions), m, "≤ 20 ms", &v)
	}
	if r := b.find("assist", "replay", 0); r != nil {
		v := r.Res.P99Ms <= 10
		target("replay of 1,000 stored events, p99", ms(r.Res.P99Ms)+" ms", "≤ 10 ms", &v)
	}
	if r := b.find("assist", "idle", 0); r != nil {
		kb := perStreamKB(r)
		v := kb <= 15
		target(fmt.Sprintf("server memory per idle Subscribe stream (h2c, %s streams)", thousands(float64(r.Res.Streams))), fmt.Sprintf("%.1f KB", kb), "≤ 15 KB", &v)
		idle := (r.CPU.Server + r.CPU.Postgres) * 100
		v2 := idle <= 2
		target(fmt.Sprintf("idle server + database CPU with %s open streams", thousands(float64(r.Res.Streams))), fmt.Sprintf("%.1f%% of a core", idle), "≤ 2%", &v2)
	}
	p("")
	p("CPU split of each run, in cores (of %d): load client / server / PostgreSQL / other processes.", numCPU())
	p("")
	p("Server and PostgreSQL CPU per acknowledged message (µs) are less sensitive to other processes than msgs/s.")
	p("")
	p("| run | client | server | PostgreSQL | other | server µs/msg | PostgreSQL µs/msg |")
	p("|---|---|---|---|---|---|---|")
	for _, r := range b.runs {
		if r.Err != "" {
			p("| %s %s N=%d | failed: %s | | | | | |", r.System, r.Kind, r.N, strings.ReplaceAll(r.Err, "|", "/"))
			continue
		}
		perMsg := func(cores float64) string {
			if r.Res == nil || r.Res.Acked == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f", cores*r.Res.Seconds/float64(r.Res.Acked)*1e6)
		}
		p("| %s %s N=%d | %.2f | %.2f | %.2f | %.2f | %s | %s |", r.System, r.Kind, r.N, r.CPU.Client, r.CPU.Server, r.CPU.Postgres, r.CPU.Other, perMsg(r.CPU.Server), perMsg(r.CPU.Postgres))
	}
	b.say("\n== table ==\n\n%s", w.String())
	_ = os.WriteFile(filepath.Join(b.out, "table.md"), []byte(w.String()), 0o644)
}
