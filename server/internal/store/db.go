package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/assist-chat/assist/server/internal/failure"
)

// DB is the connection pool as the domain sees it: every error a query
// returns has passed through Translate, so a database that restarts or a
// connection that breaks reaches callers as failure.KindUnavailable, never
// as a raw driver error.
type DB struct {
	pool *pgxpool.Pool
}

// Exec runs a statement.
func (d *DB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := d.pool.Exec(ctx, sql, args...)
	return tag, Translate(err)
}

// Query runs a query returning rows.
func (d *DB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := d.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, Translate(err)
	}
	return translatedRows{rows}, nil
}

// QueryRow runs a query returning at most one row.
func (d *DB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return translatedRow{d.pool.QueryRow(ctx, sql, args...)}
}

// Begin starts a transaction whose errors are translated too. Prefer
// Store.InTx, which always ends the transaction.
func (d *DB) Begin(ctx context.Context) (pgx.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, Translate(err)
	}
	return translatedTx{tx}, nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return Translate(d.pool.Ping(ctx)) }

// Stat reports the pool's statistics.
func (d *DB) Stat() *pgxpool.Stat { return d.pool.Stat() }

// Close closes every connection.
func (d *DB) Close() { d.pool.Close() }

type translatedRows struct{ pgx.Rows }

func (r translatedRows) Err() error             { return Translate(r.Rows.Err()) }
func (r translatedRows) Scan(dest ...any) error { return Translate(r.Rows.Scan(dest...)) }

type translatedRow struct{ row pgx.Row }

func (r translatedRow) Scan(dest ...any) error { return Translate(r.row.Scan(dest...)) }

// translatedTx is a transaction whose statements' errors are translated.
type translatedTx struct{ pgx.Tx }

func (t translatedTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, Translate(err)
}

func (t translatedTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, Translate(err)
	}
	return translatedRows{rows}, nil
}

func (t translatedTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return translatedRow{t.Tx.QueryRow(ctx, sql, args...)}
}

func (t translatedTx) Commit(ctx context.Context) error { return Translate(t.Tx.Commit(ctx)) }

// Translate is the one place where database errors become domain errors.
// Connection-class failures (the server shutting down or restarting, a
// refused or broken connection, a closed pool) and conflicts that a retry
// resolves become failure.KindUnavailable, keeping the cause for logs.
// A statement cancelled because its caller left is context.Canceled.
// pgx.ErrNoRows and other errors pass unchanged: the domain reads the
// first with IsNotFound, and the rest are bugs.
func Translate(err error) error {
	if err == nil {
		return nil // before errors.As, whose target escapes: every row's Scan comes here
	}
	if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "57014" {
		// query_canceled: its caller left mid-statement (see Open).
		return fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err == nil || !Transient(err) {
		return err
	}
	if _, already := failure.As(err); already {
		return err
	}
	return failure.Unavailable("the database is unavailable right now; retry shortly").WithCause(err)
}

// Transient reports whether err is a failure that retrying may cure.
func Transient(err error) bool {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's own deadline or departure: reported as such.
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			pgErr.Code == "57P01", // admin_shutdown
			pgErr.Code == "57P02", // crash_shutdown
			pgErr.Code == "57P03", // cannot_connect_now (starting up, shutting down)
			pgErr.Code == "53300", // too_many_connections
			pgErr.Code == "40001", // serialization_failure
			pgErr.Code == "40P01": // deadlock_detected
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		errors.As(err, &netErr),
		pgconn.SafeToRetry(err),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, net.ErrClosed):
		return true
	}
	// pgx reports a connection it closed after a failure, and a closed
	// pool, with plain errors.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "closed pool") ||
		strings.Contains(msg, "failed to deallocate cached statement")
}
