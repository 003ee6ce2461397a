package assist

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"connectrpc.com/connect/v2"
)

// RetryPolicy says how SendMessage retries a failed attempt and how Follow
// and OpenChat reconnect a dropped stream. Only transient failures are
// retried: the server unreachable or going away, a connection reset, an
// attempt that timed out. An answer from the server (InvalidArgument,
// NotFound, PermissionDenied, Unauthenticated, FailedPrecondition,
// AlreadyExists, ResourceExhausted, …) is returned at once.
type RetryPolicy struct {
	// InitialBackoff is the wait before the first retry; each further wait
	// doubles, with jitter so that clients dropped together do not return
	// together. Default 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the wait between attempts. Default 5s.
	MaxBackoff time.Duration
	// MaxAttempts bounds the attempts of one SendMessage, and the
	// consecutive failed connections of a stream (a connection that
	// received something starts the count again). Default 0: keep trying
	// until the context ends, so bound calls with a context.
	MaxAttempts int
	// AttemptTimeout bounds one SendMessage attempt, so that an attempt
	// stuck on a dead connection is abandoned and retried. Streams have no
	// such bound: HTTP/2 pings find their dead connections. Default 15s;
	// negative for none.
	AttemptTimeout time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.InitialBackoff <= 0 {
		p.InitialBackoff = 100 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 5 * time.Second
	}
	p.MaxBackoff = max(p.MaxBackoff, p.InitialBackoff)
	if p.AttemptTimeout == 0 {
		p.AttemptTimeout = 15 * time.Second
	}
	return p
}

// exhausted reports whether attempts failures used up the policy.
func (p RetryPolicy) exhausted(attempts int) bool {
	return p.MaxAttempts > 0 && attempts >= p.MaxAttempts
}

// backoff yields the waits between attempts.
type backoff struct {
	policy RetryPolicy
	next   time.Duration
}

func newBackoff(p RetryPolicy) *backoff {
	return &backoff{policy: p, next: p.InitialBackoff}
}

// reset starts again from the initial wait, after a success.
func (b *backoff) reset() { b.next = b.policy.InitialBackoff }

// wait sleeps for the next backoff, between half of it and all of it, or
// until ctx ends.
func (b *backoff) wait(ctx context.Context) error {
	d := b.next/2 + rand.N(b.next/2+1)
	b.next = min(2*b.next, b.policy.MaxBackoff)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether err, from a call made under ctx, is worth
// another attempt: true for failures of the path to the server, false for
// the server's answers and for the caller's own cancellation.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	switch connect.CodeOf(err) {
	case connect.CodeUnavailable, connect.CodeAborted:
		return true
	case connect.CodeCanceled, connect.CodeDeadlineExceeded:
		// Not ctx (checked above): an attempt's own timeout, or a reset
		// connection, which connect reports as Canceled.
		return true
	case connect.CodeUnknown, connect.CodeInternal:
		// A verdict the server sent is final; the same codes raised
		// locally mean the transport broke (lost connection, truncated
		// stream) and the server's answer never arrived.
		var ce *connect.Error
		return !errors.As(err, &ce) || !ce.IsRemote()
	default:
		return false
	}
}

// retry runs attempt until it succeeds, fails for good, or the policy or
// ctx gives up. Each attempt gets its own timeout.
func (p RetryPolicy) retry(ctx context.Context, attempt func(context.Context) error) error {
	b := newBackoff(p)
	for attempts := 1; ; attempts++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
		}
		err := attempt(actx)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ended(ctx, attempts, err)
		case !retryable(ctx, err) || p.exhausted(attempts):
			return err
		}
		if b.wait(ctx) != nil {
			return ended(ctx, attempts, err)
		}
	}
}

// ended reports that ctx ended the call: the error's code is the
// context's (Canceled or DeadlineExceeded), errors.Is finds the context's
// error, and the last attempt's error stays attached.
func ended(ctx context.Context, attempts int, last error) error {
	if errors.Is(last, ctx.Err()) {
		return last
	}
	code := connect.CodeCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		code = connect.CodeDeadlineExceeded
	}
	return connect.Errorf(code, "%v after %d attempts; last: %v", ctx.Err(), attempts, last).WithCause(errors.Join(ctx.Err(), last))
}
