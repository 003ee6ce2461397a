package api

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	"github.com/assist-chat/assist/server/internal/auth"
)

// guardStream bounds a long-lived stream: it ends with the call, at
// shutdown (the stream then finishes cleanly and the client resumes from
// its cursor, here or on another replica), or as soon as the caller loses
// access: its credential revoked or expired (Unauthenticated), or one of
// the sessions it follows no longer readable by it (PermissionDenied). A
// change of access on any replica is signalled at once; every
// CredentialCheckInterval the stream checks in any case. The returned
// finish turns the stream's outcome into the error to return.
func (d *Domain) guardStream(ctx context.Context, sessionIDs ...uuid.UUID) (context.Context, func(error) error, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	var lost atomic.Pointer[error]
	p := auth.FromContext(ctx)
	interval := d.CredentialCheckInterval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	if p != nil {
		goSafely(d.Logger, "stream access guard", func() error {
			defer cancel()
			if err := d.Sessions.KeepAccess(ctx, p, sessionIDs, interval, d.Stopping); err != nil {
				lost.Store(&err)
			}
			return nil
		})
	}
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
	return ctx, finish, cancel
}

// errPanicked is what a request's goroutine returns after a panic.
var errPanicked = connect.NewError(connect.CodeInternal, "internal error")

// goSafely runs fn in a goroutine and delivers its result. A panic in fn is
// logged and delivered as Internal instead of killing the process:
// goroutines that a request starts are outside the recovery interceptor.
func goSafely(logger *slog.Logger, what string, fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				logger.Error("panic", "in", what, "panic", r, "stack", string(debug.Stack()))
				done <- errPanicked
			}
		}()
		done <- fn()
	}()
	return done
}
