package assist

import (
	"context"
	"errors"
	"io"

	"connectrpc.com/connect/v2"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// errStreamEnded is why a stream that ended cleanly before the session did
// is reconnected: the server ends streams that way when it shuts down, and
// the client resumes elsewhere from its cursor.
var errStreamEnded = connect.NewError(connect.CodeUnavailable, "the stream ended before the session did")

// Follow reads the session's log: the stored events after afterSeq, then
// live ones, calling handle for each, in order, from this goroutine. It is
// how an integrator or a Subscribe-based app follows a conversation.
//
// Each stored event (seq > 0) reaches handle exactly once, in seq order:
// when the stream drops — a transient error, or a clean end before the
// SessionEnded event, which is how the server ends streams when it shuts
// down — Follow reconnects with backoff and resumes after the last seq
// handle accepted, and it drops any replayed event at or below that seq.
// Ephemeral events (seq 0: typing) pass through as they come; those sent
// while disconnected are lost, by design.
//
// Follow returns nil after handle accepts the SessionEnded event; handle's
// error, unchanged, if it returns one (the event is then not counted as
// delivered); ctx's error when ctx ends; and the server's error at once if
// it refuses the stream (NotFound, Unauthenticated, InvalidArgument — e.g.
// afterSeq beyond the end of the log).
func (c *Client) Follow(ctx context.Context, sessionID string, afterSeq int64, handle func(*assistv1.SessionEvent) error) error {
	cursor := afterSeq
	b := newBackoff(c.retry)
	failures := 0
	for {
		ended, received, err := c.followOnce(ctx, sessionID, &cursor, handle)
		if ended {
			return nil
		}
		if herr, ok := errors.AsType[*handlerError](err); ok {
			return herr.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			err = errStreamEnded
		} else if !retryable(ctx, err) {
			return err
		}
		if received {
			b.reset()
			failures = 0
		}
		failures++
		if c.retry.exhausted(failures) {
			return err
		}
		if b.wait(ctx) != nil {
			return ctx.Err()
		}
	}
}

// handlerError carries the error of Follow's handle out of followOnce, so
// that it is returned rather than retried.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return e.err.Error() }

// followOnce runs one Subscribe stream from *cursor. It reports whether
// the SessionEnded event was delivered, whether the stream received
// anything (the connection worked), and why it stopped otherwise (nil: a
// clean end).
func (c *Client) followOnce(ctx context.Context, sessionID string, cursor *int64, handle func(*assistv1.SessionEvent) error) (ended, received bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: sessionID, AfterSeq: *cursor})
	if err != nil {
		return false, false, err
	}
	defer func() { _ = stream.Close() }()
	// Closing the stream, not only cancelling ctx, unblocks a Receive on a
	// quiet stream at once.
	defer context.AfterFunc(ctx, func() { _ = stream.Close() })()
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return false, received, nil
		}
		if err != nil {
			return false, received, err
		}
		received = true
		ev := res.GetEvent()
		if ev == nil || ev.GetSeq() > 0 && ev.GetSeq() <= *cursor {
			continue // already delivered: the server replayed from an older cursor
		}
		if err := handle(ev); err != nil {
			return false, received, &handlerError{err}
		}
		if ev.GetSeq() > 0 {
			*cursor = ev.GetSeq()
			if ev.GetSessionEnded() != nil {
				return true, received, nil
			}
		}
	}
}
