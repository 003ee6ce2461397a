package api

import (
	"fmt"
	"net/http"
	"testing"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// writingSender writes each response to w and flushes, as connect's
// stream does.
type writingSender struct{ w http.ResponseWriter }

func (s writingSender) Send(res *assistv1.ChatResponse) error {
	if ack := res.GetAck(); ack != nil {
		send(s.w, fmt.Sprintf("a%d ", ack.GetSeq()))
	} else {
		send(s.w, fmt.Sprintf("e%d ", res.GetEvent().GetSeq()))
	}
	return nil
}

// An ack whose event is still to come waits for that event's flush and
// goes out in the same write; an ack whose event already went, and a
// rejection, go at once; nothing is sent after the handler returned.
func TestAnAckSharesItsEventsFlush(t *testing.T) {
	t.Parallel()
	var afterFinish error
	w, body := serveStream(t, "application/connect+proto", func(w http.ResponseWriter, r *http.Request) {
		c := &chatSends{stream: writingSender{w}, flushes: holdFlushes(r.Context()), sentSeq: 10}
		step := func(want int, what string) {
			t.Helper()
			if got := w.(gatedWriter).ResponseWriter.(*countingWriter).flushes; got != want {
				t.Fatalf("after %s: %d flushes, want %d", what, got, want)
			}
		}
		_ = c.ack(&assistv1.ChatAck{Seq: 11})
		step(0, "the ack of an event still to come")
		_ = c.event(&assistv1.SessionEvent{Seq: 11})
		_ = c.flush()
		step(1, "the event's run")

		_ = c.event(&assistv1.SessionEvent{Seq: 12})
		_ = c.flush()
		_ = c.ack(&assistv1.ChatAck{Seq: 12})
		step(3, "the ack of an event already sent")

		_ = c.ack(&assistv1.ChatAck{Seq: 9}) // a retry, stored before the stream opened after 10
		step(4, "the ack of an event before the stream's cursor")
		_ = c.ack(&assistv1.ChatAck{Rejection: &assistv1.ChatRejection{Code: "invalid_argument"}})
		step(5, "a rejection")

		c.finish()
		afterFinish = c.ack(&assistv1.ChatAck{Seq: 13})
	})
	if want := "a11 e11 e12 a12 a9 a0 "; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
	if w.flushes != 5 || afterFinish != errStreamFinished {
		t.Errorf("%d flushes and %v after the handler finished, want 5 and errStreamFinished", w.flushes, afterFinish)
	}
}
