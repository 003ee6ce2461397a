package api

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/auth"
)

// guardStream bounds a long-lived stream: it ends with the call, at
// shutdown (the stream then finishes cleanly and the client resumes from
// its cursor, here or on another replica), or as soon as the caller loses
// access (see sessions.Guard): its credential revoked or expired
// (Unauthenticated), or one of the sessions it follows no longer readable
// by it (PermissionDenied). The returned finish turns the stream's outcome
// into the error to return.
func (d *Domain) guardStream(ctx context.Context, sessionIDs ...uuid.UUID) (context.Context, func(error) error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	var lost atomic.Pointer[error]
	unwatch := func() {}
	if p := auth.FromContext(ctx); p != nil && d.Guard != nil {
		unwatch = d.Guard.Watch(p, sessionIDs, func(err error) {
			lost.Store(&err)
			cancel()
		})
	}
	stopping := context.AfterFunc(d.stoppingContext(), cancel)
	finish := func(err error) error {
		if l := lost.Load(); l != nil {
			return *l
		}
		if err == nil {
			return nil
		}
		select {
		case <-d.Stopping:
			return nil
		default:
		}
		return err
	}
	return ctx, finish, func() {
		unwatch()
		stopping()
		cancel()
	}
}

// stoppingContext is cancelled when the server shuts down: streams hang
// their end on it without a goroutine each.
func (d *Domain) stoppingContext() context.Context {
	d.stoppingOnce.Do(func() {
		if d.Stopping == nil {
			d.stopping = context.Background()
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		d.stopping = ctx
		go func() {
			<-d.Stopping
			cancel()
		}()
	})
	return d.stopping
}

// errPanicked is what a request's goroutine returns after a panic.
var errPanicked = connect.NewError(connect.CodeInternal, "internal error")

// runSafely runs fn; a panic in fn is logged and returned as Internal
// instead of killing the process: goroutines that a request starts are
// outside the recovery interceptor.
func runSafely(logger *slog.Logger, what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			logger.Error("panic", "in", what, "panic", r, "stack", string(debug.Stack()))
			err = errPanicked
		}
	}()
	return fn()
}
