package sessionlog

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

var errReplayDone = errors.New("replay done")

// A replay crosses page boundaries (a first page of firstReplayPage
// events, then pages of readBatch) without a gap or a repeat, and sends
// each stored event's exact bytes, whatever cursor it starts from.
func TestReplaysSendEveryStoredEventOnceAcrossPages(t *testing.T) {
	t.Parallel()
	b, ctx, sid := writingLog(t)
	const stored = firstReplayPage + readBatch + 37
	var wg sync.WaitGroup
	for i := range stored {
		wg.Go(func() {
			if _, _, err := b.log.SendMessage(ctx, chatMessage(sid, fmt.Sprintf("m-%d", i), fmt.Sprintf("message %d", i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	want, err := b.log.ReadAll(ctx, sid)
	if err != nil || len(want) != stored {
		t.Fatalf("stored %d events (%v), want %d", len(want), err, stored)
	}
	for _, after := range []int64{0, firstReplayPage - 1, firstReplayPage, 555, stored - 1} {
		var got []*assistv1.SessionEvent
		reader := ReaderFuncs{
			SendFunc: func(*assistv1.SessionEvent) error { return errors.New("a stored event went through Send") },
			SendStoredFunc: func(event []byte) error {
				ev := new(assistv1.SessionEvent)
				if err := proto.Unmarshal(event, ev); err != nil {
					return err
				}
				got = append(got, ev)
				if ev.GetSeq() == stored {
					return errReplayDone
				}
				return nil
			},
		}
		if err := b.log.Subscribe(ctx, sid, after, reader); !errors.Is(err, errReplayDone) {
			t.Fatalf("replay after %d: %v after %d events", after, err, len(got))
		}
		if len(got) != stored-int(after) {
			t.Fatalf("replay after %d: %d events, want %d", after, len(got), stored-int(after))
		}
		for i, ev := range got {
			if w := want[int(after)+i]; !proto.Equal(ev, w) {
				t.Fatalf("replay after %d: event %d is %v, want %v", after, i, ev, w)
			}
		}
	}
}
