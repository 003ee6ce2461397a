package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// CustomPlan runs queries on db without a cached prepared statement, so
// PostgreSQL plans each execution for its parameter values. Queries with
// optional filters ("$1 IS NULL OR col = $1") need it: a cached generic
// plan cannot drop the filters left unset, nor use an index that only
// some values allow (a trigram search for a given text).
func CustomPlan(db dbq.DBTX) dbq.DBTX { return customPlan{db} }

type customPlan struct{ db dbq.DBTX }

func withMode(args []any) []any {
	return append([]any{pgx.QueryExecModeExec}, args...)
}

func (c customPlan) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.db.Exec(ctx, sql, withMode(args)...)
}

func (c customPlan) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.db.Query(ctx, sql, withMode(args)...)
}

func (c customPlan) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.db.QueryRow(ctx, sql, withMode(args)...)
}
