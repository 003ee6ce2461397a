package store_test

import (
	"context"
	"testing"

	"github.com/assist-chat/assist/server/internal/store"
)

// A pipelined transaction commits what it recorded, and one that fails
// part way leaves nothing behind and no connection in a transaction.
func TestPipelineCommitsAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, 2)
	if _, err := s.Pool.Exec(ctx, "CREATE TABLE marks (n int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	count := func() (n int) {
		if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM marks").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// run records the inserts of ns and a read, then sends and reads them.
	run := func(ns ...int) (read int, err error) {
		conn, err := s.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release(ctx)
		p := store.NewPipeline()
		p.Begin()
		for _, n := range ns {
			_, _ = p.Queue().Exec(ctx, "INSERT INTO marks VALUES ($1)", n)
		}
		_ = p.Queue().QueryRow(ctx, "SELECT count(*) FROM marks").Scan(&read)
		p.Commit()
		res := conn.Send(ctx, p)
		defer func() { _ = res.Close() }()
		if err := res.Begin(); err != nil {
			return 0, err
		}
		for _, n := range ns {
			if _, err := res.Exec(ctx, "INSERT INTO marks VALUES ($1)", n); err != nil {
				return 0, err
			}
		}
		if err := res.QueryRow(ctx, "SELECT count(*) FROM marks").Scan(&read); err != nil {
			return 0, err
		}
		return read, res.Commit()
	}

	if read, err := run(1, 2); err != nil || read != 2 || count() != 2 {
		t.Fatalf("a good pipeline: read %d, err %v, %d rows stored; want 2, nil, 2", read, err, count())
	}
	if _, err := run(3, 1, 4); err == nil {
		t.Fatal("a pipeline inserting a duplicate key succeeded")
	}
	if got := count(); got != 2 {
		t.Fatalf("%d rows after a failed pipeline, want the 2 from before", got)
	}
	// The pool's connections are usable again, none left in a transaction.
	for _, n := range []int{5, 6, 7} {
		if _, err := run(n); err != nil {
			t.Fatalf("a pipeline after the failed one: %v", err)
		}
	}
	var idle int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'").Scan(&idle); err != nil {
		t.Fatal(err)
	}
	if idle != 0 {
		t.Fatalf("%d connections idle in a transaction", idle)
	}
}

// The writers' connections (Store.Appends) run on generic index plans (see
// GenericIndexPlans); the pool of everything else plans as PostgreSQL
// does by default.
func TestAppendConnectionsUseGenericIndexPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, 1)
	const setting = "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')"
	conn, err := s.Appends.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := store.NewPipeline()
	var appends string
	_ = p.Queue().QueryRow(ctx, setting).Scan(&appends)
	res := conn.Send(ctx, p)
	if err := res.QueryRow(ctx, setting).Scan(&appends); err != nil {
		t.Fatal(err)
	}
	if err := res.Close(); err != nil {
		t.Fatal(err)
	}
	conn.Release(ctx)
	if appends != "force_generic_plan off" {
		t.Errorf("plan_cache_mode and enable_seqscan on the writers' connections = %q, want force_generic_plan off", appends)
	}
	var others string
	if err := s.Pool.QueryRow(ctx, setting).Scan(&others); err != nil {
		t.Fatal(err)
	}
	if others != "auto on" {
		t.Errorf("plan_cache_mode and enable_seqscan on the main pool = %q, want auto on", others)
	}
}
