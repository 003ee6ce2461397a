package assist_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
)

func sendAll(stream assistv1connect.ChatServiceSubscribeServerStream, events ...*assistv1.SessionEvent) error {
	for _, ev := range events {
		if err := stream.Send(&assistv1.SubscribeResponse{Event: ev}); err != nil {
			return err
		}
	}
	return nil
}

// A stream that ends cleanly before SessionEnded (a server shutting down)
// or fails is resumed from the cursor; replayed events are not delivered
// twice; typing passes through.
func TestFollowResumesFromItsCursorAndDeliversEachEventOnce(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			var mu sync.Mutex
			var cursors []int64
			f := &fakeChat{subscribe: func(n int, _ context.Context, req *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error {
				mu.Lock()
				cursors = append(cursors, req.GetAfterSeq())
				mu.Unlock()
				switch n {
				case 1:
					return sendAll(stream, message(1, "a", "one"), message(2, "b", "two"), typing(), message(3, "c", "three"))
				case 2:
					// A server that replays from too far back, then fails.
					if err := sendAll(stream, message(2, "b", "two"), message(3, "c", "three"), message(4, "d", "four")); err != nil {
						return err
					}
					return connect.NewError(connect.CodeUnavailable, "going away")
				default:
					return sendAll(stream, typing(), ended(5))
				}
			}}
			c := assist.New(startFake(t, f), assist.WithProtocol(p), fastRetry)
			var got []*assistv1.SessionEvent
			err := c.Follow(testContext(t), sessionID, 0, func(ev *assistv1.SessionEvent) error {
				got = append(got, ev)
				return nil
			})
			if err != nil {
				t.Fatalf("Follow returned %v after SessionEnded, want nil", err)
			}
			if want := []int64{1, 2, 0, 3, 4, 0, 5}; !slices.Equal(seqs(got), want) {
				t.Fatalf("delivered seqs %v, want %v", seqs(got), want)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := []int64{0, 3, 4}; !slices.Equal(cursors, want) {
				t.Fatalf("subscribed after %v, want %v", cursors, want)
			}
		})
	}
}

func TestFollowReturnsTheServersRefusalAtOnce(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			f := &fakeChat{subscribe: func(int, context.Context, *assistv1.SubscribeRequest, assistv1connect.ChatServiceSubscribeServerStream) error {
				return connect.NewError(connect.CodeNotFound, "session")
			}}
			c := assist.New(startFake(t, f), assist.WithProtocol(p), fastRetry)
			err := c.Follow(testContext(t), sessionID, 0, func(*assistv1.SessionEvent) error { return nil })
			if connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("got %v, want NotFound", err)
			}
			if n := f.calls(&f.subscribes); n != 1 {
				t.Fatalf("subscribed %d times, want once", n)
			}
		})
	}
}

func TestFollowReturnsTheHandlersError(t *testing.T) {
	t.Parallel()
	f := &fakeChat{subscribe: func(_ int, ctx context.Context, _ *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error {
		if err := sendAll(stream, message(1, "a", "one"), message(2, "b", "two")); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}}
	c := assist.New(startFake(t, f), fastRetry)
	errFull := errors.New("disk full")
	err := c.Follow(testContext(t), sessionID, 0, func(ev *assistv1.SessionEvent) error {
		if ev.GetSeq() == 2 {
			return errFull
		}
		return nil
	})
	if !errors.Is(err, errFull) {
		t.Fatalf("got %v, want the handler's error", err)
	}
	if n := f.calls(&f.subscribes); n != 1 {
		t.Fatalf("subscribed %d times, want once", n)
	}
}

func TestFollowReturnsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	f := &fakeChat{subscribe: func(_ int, ctx context.Context, _ *assistv1.SubscribeRequest, stream assistv1connect.ChatServiceSubscribeServerStream) error {
		if err := sendAll(stream, message(1, "a", "one")); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}}
	c := assist.New(startFake(t, f), fastRetry)
	ctx, cancel := context.WithCancel(testContext(t))
	err := c.Follow(ctx, sessionID, 0, func(*assistv1.SessionEvent) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
