// Package bench holds in-process Go benchmarks of durable chat throughput
// and send→delivery latency against a real assistd on a real, durable
// PostgreSQL (fsync on). The comparative bench (`make bench`: assistd out of
// process against Centrifugo, with pgbench's ceiling) is ./benchrun.
//
//	make bench-go         # or: go test -run '^$' -bench . ./server/internal/bench/
package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/assist-chat/assist/server/internal/pgembed"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// databaseURL is the durable cluster's database for this run.
var databaseURL string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		// `go test ./...` runs no benchmark: no cluster to start.
		return m.Run()
	}
	if url := os.Getenv(pgtest.EnvDatabaseURL); url != "" {
		databaseURL = url
		return report(m.Run())
	}
	dir, err := os.MkdirTemp("", "assist-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	_ = os.Chmod(dir, 0o755) // the cluster's OS user must reach it when we are root
	ctx := context.Background()
	// Durable on purpose (Fast is off): the figures are for acknowledged,
	// fsynced messages.
	cluster, err := pgembed.Start(ctx, pgembed.Options{DataDir: dir + "/pg", MaxConnections: 300})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench: start PostgreSQL:", err)
		return 1
	}
	defer cluster.Stop(ctx)
	if err := cluster.CreateDatabase(ctx, "bench"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	databaseURL = cluster.ConnString("bench")
	return report(m.Run())
}

// result is one benchmark's figures, kept for the closing summary.
type result struct {
	name        string
	perSecond   float64
	p50, p99    time.Duration
	hasLatency  bool
	concurrency int
}

var (
	resultsMu sync.Mutex
	results   = map[string]result{}
)

func record(r result) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results[r.name] = r // the last (largest b.N) run wins
}

// report prints every figure recorded in this run.
func report(code int) int {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return code
	}
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Println()
	fmt.Println("Summary (durable PostgreSQL, this machine, this run):")
	fmt.Printf("  %-36s %12s %10s %10s\n", "benchmark", "per second", "p50", "p99")
	for _, n := range names {
		r := results[n]
		lat50, lat99 := "-", "-"
		if r.hasLatency {
			lat50, lat99 = r.p50.Round(10*time.Microsecond).String(), r.p99.Round(10*time.Microsecond).String()
		}
		fmt.Printf("  %-36s %12.0f %10s %10s\n", n, r.perSecond, lat50, lat99)
	}
	return code
}
