package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/pgtest"
	"github.com/assist-chat/assist/server/internal/store"
)

// A panic inside a transaction rolls it back before going on: no
// connection stays idle in a transaction, holding locks.
func TestInTxRollsBackOnPanic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	s, err := store.Open(ctx, url, 4, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Pool.Exec(ctx, "CREATE TABLE marks (n int)"); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic was swallowed")
			}
		}()
		_ = s.InTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO marks VALUES (1)"); err != nil {
				return err
			}
			panic("on purpose")
		})
	}()
	var idle int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'").Scan(&idle); err != nil {
		t.Fatal(err)
	}
	var marks int
	if err := s.Pool.QueryRow(ctx, "SELECT count(*) FROM marks").Scan(&marks); err != nil {
		t.Fatal(err)
	}
	if idle != 0 || marks != 0 {
		t.Fatalf("%d connections idle in a transaction and %d rows after the panic, want 0 and 0", idle, marks)
	}
}

// Connection-class failures become Unavailable, which clients retry;
// anything else passes unchanged.
func TestTranslateMarksTransientFailuresUnavailable(t *testing.T) {
	t.Parallel()
	transient := []error{
		&pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"},
		&pgconn.PgError{Code: "08006"},
		&pgconn.PgError{Code: "57P03"},
		io.ErrUnexpectedEOF,
		errors.New("conn closed"),
	}
	for _, err := range transient {
		if got := store.Translate(err); !failure.IsKind(got, failure.KindUnavailable) || !errors.Is(got, err) {
			t.Errorf("Translate(%v) = %v, want Unavailable keeping the cause", err, got)
		}
	}
	for _, err := range []error{pgx.ErrNoRows, &pgconn.PgError{Code: "23505"}, context.Canceled, context.DeadlineExceeded, errors.New("a bug")} {
		if got := store.Translate(err); got != err {
			t.Errorf("Translate(%v) = %v, want it unchanged", err, got)
		}
	}
	// A refused connection: nothing listens on the port.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := store.Open(ctx, "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", 1, slog.New(slog.DiscardHandler))
	if !failure.IsKind(err, failure.KindUnavailable) {
		t.Errorf("opening an unreachable database: %v, want Unavailable", err)
	}
}

// A caller leaving mid-statement keeps the pool's connection: a short
// statement finishes, a long one is cancelled by PostgreSQL and answers
// context.Canceled, and neither makes the pool open a new connection.
func TestCallersLeavingMidStatementKeepTheConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, 1)
	if _, err := s.Pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	opened := s.Pool.Stat().NewConnsCount()

	leave := func(sleep string, after time.Duration) error {
		qctx, cancel := context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(after, cancel)
		_, err := s.Pool.Exec(qctx, "SELECT pg_sleep("+sleep+")")
		return err
	}
	if err := leave("0.03", 5*time.Millisecond); err != nil {
		t.Errorf("a statement that finishes soon after its caller left: %v, want it to complete", err)
	}
	start := time.Now()
	err := leave("30", 20*time.Millisecond)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a long statement whose caller left: %v, want context.Canceled", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the long statement was cancelled after %s", took)
	}
	if _, err := s.Pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatalf("the next statement: %v", err)
	}
	if got := s.Pool.Stat().NewConnsCount(); got != opened {
		t.Errorf("the pool opened %d connections, want none after the first %d", got-opened, opened)
	}
}

// openStore opens a store on a new database with a pool of maxConns,
// closed when the test ends.
func openStore(t *testing.T, maxConns int32) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), pgtest.NewDatabase(t), maxConns, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
