package assist

import (
	"context"
	"errors"
	"io"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// FollowAccount reads the account's event stream (EventService, API key
// with the SESSIONS_READ scope, or an admin): the events after
// afterPosition, then new ones as they happen, calling handle for each, in
// position order, from this goroutine. Persist the position of the last
// event handle accepted and pass it back after a restart.
//
// Each event reaches handle exactly once: when the stream drops (a
// transient error, or a clean end, which is how the server ends streams
// when it shuts down) FollowAccount reconnects with backoff and resumes
// after the last position handle accepted, dropping anything replayed at
// or below it.
//
// FollowAccount runs until ctx ends (it then returns ctx's error); it
// returns handle's error unchanged if handle returns one (the event is
// then not counted as delivered), and the server's refusal at once
// (PermissionDenied, Unauthenticated, OutOfRange when retention deleted
// events after the cursor).
func (c *Client) FollowAccount(ctx context.Context, afterPosition int64, handle func(*assistv1.AccountEvent) error) error {
	cursor := afterPosition
	b := newBackoff(c.retry)
	failures := 0
	for {
		received, err := c.followAccountOnce(ctx, &cursor, handle)
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

func (c *Client) followAccountOnce(ctx context.Context, cursor *int64, handle func(*assistv1.AccountEvent) error) (received bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := c.Event.StreamAccountEvents(ctx, &assistv1.StreamAccountEventsRequest{AfterPosition: *cursor})
	if err != nil {
		return false, err
	}
	defer func() { _ = stream.Close() }()
	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return received, nil
		}
		if err != nil {
			return received, err
		}
		received = true
		ev := res.GetEvent()
		if ev == nil || ev.GetPosition() <= *cursor {
			continue
		}
		if err := handle(ev); err != nil {
			return received, &handlerError{err}
		}
		*cursor = ev.GetPosition()
	}
}
