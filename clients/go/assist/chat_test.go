package assist_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect/v2"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
)

// chatScript is the server's side of one Chat stream, in test form.
type chatScript struct {
	t      *testing.T
	stream assistv1connect.ChatServiceChatServerStream
}

func (s chatScript) receive() *assistv1.ChatRequest {
	req, err := s.stream.Receive()
	if err != nil {
		s.t.Errorf("server receive: %v", err)
		return &assistv1.ChatRequest{}
	}
	return req
}

func (s chatScript) events(events ...*assistv1.SessionEvent) {
	for _, ev := range events {
		if err := s.stream.Send(&assistv1.ChatResponse{Kind: &assistv1.ChatResponse_Event{Event: ev}}); err != nil {
			s.t.Errorf("server send: %v", err)
		}
	}
}

func (s chatScript) ack(id string, seq int64) {
	if err := s.stream.Send(&assistv1.ChatResponse{Kind: &assistv1.ChatResponse_Ack{Ack: &assistv1.ChatAck{ClientMessageId: id, Seq: seq}}}); err != nil {
		s.t.Errorf("server send: %v", err)
	}
}

// drain reads Events until it is closed.
func drain(conn *assist.ChatConn) <-chan []*assistv1.SessionEvent {
	out := make(chan []*assistv1.SessionEvent, 1)
	go func() {
		var got []*assistv1.SessionEvent
		for ev := range conn.Events() {
			got = append(got, ev)
		}
		out <- got
	}()
	return out
}

// requestLog records what each Chat stream received, as "open:N",
// "send:ID:TEXT" and "typing".
type requestLog struct {
	mu      sync.Mutex
	streams [][]string
}

func (l *requestLog) add(stream int, req *assistv1.ChatRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.streams) < stream {
		l.streams = append(l.streams, nil)
	}
	var entry string
	switch {
	case req.GetOpen() != nil:
		entry = fmt.Sprintf("open:%d", req.GetOpen().GetAfterSeq())
	case req.GetSend() != nil:
		entry = "send:" + req.GetSend().GetClientMessageId() + ":" + req.GetSend().GetText()
	case req.GetTyping() != nil:
		entry = "typing"
	}
	l.streams[stream-1] = append(l.streams[stream-1], entry)
}

func (l *requestLog) get() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.streams)
}

// A dropped stream is reopened after the last received seq and the
// unacknowledged message is re-sent with its id; a stream that ends
// cleanly before SessionEnded is reopened too; each stored event is
// delivered once, in order.
func TestChatConnResendsUnacknowledgedMessagesAndDeliversEachEventOnce(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			var log requestLog
			f := &fakeChat{chat: func(n int, _ context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
				s := chatScript{t, stream}
				log.add(n, s.receive())
				switch n {
				case 1:
					s.events(message(1, "x", "from the advisor"))
					a := s.receive() // A: stored, say, but the stream fails before its ack
					log.add(n, a)
					return connect.NewError(connect.CodeUnavailable, "connection lost")
				case 2:
					a := s.receive() // A again
					log.add(n, a)
					id := a.GetSend().GetClientMessageId()
					s.events(message(1, "x", "from the advisor"), message(2, id, "A")) // replays too far back
					s.ack(id, 2)
					log.add(n, s.receive()) // typing
					b := s.receive()
					log.add(n, b)
					s.events(message(3, b.GetSend().GetClientMessageId(), "B"))
					s.ack(b.GetSend().GetClientMessageId(), 3)
					return nil // a server shutting down ends streams cleanly
				default:
					s.events(ended(4))
					return nil
				}
			}}
			c := assist.New(startFake(t, f), assist.WithProtocol(p), fastRetry)
			ctx := testContext(t)
			conn, err := c.OpenChat(ctx, sessionID, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			events := drain(conn)

			ackA, err := conn.SendWithID(ctx, "id-A", "A")
			if err != nil || ackA.GetSeq() != 2 {
				t.Fatalf("Send A: %v, %v; want seq 2", ackA, err)
			}
			if err := conn.Typing(true); err != nil {
				t.Fatal(err)
			}
			ackB, err := conn.SendWithID(ctx, "id-B", "B")
			if err != nil || ackB.GetSeq() != 3 {
				t.Fatalf("Send B: %v, %v; want seq 3", ackB, err)
			}
			got := <-events
			if want := []int64{1, 2, 3, 4}; !slices.Equal(seqs(got), want) {
				t.Fatalf("delivered seqs %v, want %v", seqs(got), want)
			}
			if conn.Err() != nil || conn.Cursor() != 4 {
				t.Fatalf("after SessionEnded: Err %v, Cursor %d; want nil, 4", conn.Err(), conn.Cursor())
			}
			want := [][]string{
				{"open:0", "send:id-A:A"},
				{"open:1", "send:id-A:A", "typing", "send:id-B:B"},
				{"open:3"},
			}
			if got := log.get(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("server received %q, want %q", got, want)
			}
			if _, err := conn.Send(ctx, "too late"); !errors.Is(err, assist.ErrSessionEnded) {
				t.Fatalf("Send after the end: %v, want ErrSessionEnded", err)
			}
		})
	}
}

// The reader of Events may Send: acknowledgements do not wait behind
// unread events.
func TestChatConnSendFromTheEventsReaderDoesNotDeadlock(t *testing.T) {
	t.Parallel()
	const backlog = 200
	f := &fakeChat{chat: func(_ int, _ context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
		s := chatScript{t, stream}
		s.receive()
		for seq := int64(1); seq <= backlog; seq++ {
			s.events(message(seq, fmt.Sprint("x", seq), "backlog"))
		}
		req := s.receive()
		s.ack(req.GetSend().GetClientMessageId(), backlog+1)
		s.events(message(backlog+1, req.GetSend().GetClientMessageId(), "reply"), ended(backlog+2))
		return nil
	}}
	c := assist.New(startFake(t, f), fastRetry)
	ctx := testContext(t)
	conn, err := c.OpenChat(ctx, sessionID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	for ev := range conn.Events() {
		n++
		if ev.GetSeq() == 1 {
			if _, err := conn.Send(ctx, "reply"); err != nil {
				t.Fatalf("Send from the reader: %v", err)
			}
		}
	}
	if n != backlog+2 || conn.Err() != nil {
		t.Fatalf("read %d events, Err %v; want %d, nil", n, conn.Err(), backlog+2)
	}
}

func TestChatConnEndsWhenTheServerRefusesIt(t *testing.T) {
	t.Parallel()
	for _, p := range protocols {
		t.Run(p.String(), func(t *testing.T) {
			f := &fakeChat{chat: func(_ int, _ context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
				chatScript{t, stream}.receive()
				return connect.NewError(connect.CodeNotFound, "session")
			}}
			c := assist.New(startFake(t, f), assist.WithProtocol(p), fastRetry)
			ctx := testContext(t)
			conn, err := c.OpenChat(ctx, sessionID, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := <-drain(conn); len(got) != 0 {
				t.Fatalf("got events %v from a refused stream", got)
			}
			if connect.CodeOf(conn.Err()) != connect.CodeNotFound {
				t.Fatalf("Err %v, want NotFound", conn.Err())
			}
			if _, err := conn.Send(ctx, "hello"); connect.CodeOf(err) != connect.CodeNotFound {
				t.Fatalf("Send after the refusal: %v, want NotFound", err)
			}
			if n := f.calls(&f.chats); n != 1 {
				t.Fatalf("opened %d streams, want 1", n)
			}
		})
	}
}

// A text the server would refuse fails locally: on the Chat stream the
// server's refusal would end the stream.
func TestChatConnRefusesABlankMessageWithoutSendingIt(t *testing.T) {
	t.Parallel()
	var log requestLog
	opened := make(chan struct{})
	f := &fakeChat{chat: func(n int, ctx context.Context, stream assistv1connect.ChatServiceChatServerStream) error {
		s := chatScript{t, stream}
		log.add(n, s.receive())
		close(opened)
		for {
			req, err := stream.Receive()
			if err != nil {
				return nil
			}
			log.add(n, req)
		}
	}}
	c := assist.New(startFake(t, f), fastRetry)
	ctx := testContext(t)
	conn, err := c.OpenChat(ctx, sessionID, 0)
	if err != nil {
		t.Fatal(err)
	}
	<-opened
	if _, err := conn.Send(ctx, " \n\t"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("Send of blanks: %v, want InvalidArgument", err)
	}
	if _, err := conn.SendWithID(ctx, "bad id!", "hello"); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("Send with a malformed id: %v, want InvalidArgument", err)
	}
	conn.Close()
	if !errors.Is(conn.Err(), assist.ErrClosed) {
		t.Fatalf("Err after Close: %v, want ErrClosed", conn.Err())
	}
	if _, err := conn.Send(ctx, "hello"); !errors.Is(err, assist.ErrClosed) {
		t.Fatalf("Send after Close: %v, want ErrClosed", err)
	}
	if got := log.get(); fmt.Sprint(got) != "[[open:0]]" {
		t.Fatalf("server received %q, want only the open", got)
	}
}
