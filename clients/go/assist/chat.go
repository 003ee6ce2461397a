package assist

import (
	"context"
	"errors"
	"io"
	"slices"
	"sync"

	"connectrpc.com/connect/v2"
	"github.com/google/uuid"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
)

var (
	// ErrClosed is why a ChatConn ended after Close.
	ErrClosed = errors.New("assist: chat closed")
	// ErrSessionEnded is returned by ChatConn.Send for a message still
	// unacknowledged when the session ended, and by any call after that.
	ErrSessionEnded = errors.New("assist: the session has ended")
)

// ChatConn is a conversation over the bidi ChatService.Chat stream, the
// path of native apps: the session's events arrive on Events, messages go
// out with Send, typing signals with Typing, all on one HTTP/2 stream.
//
// When the stream drops (a transient error, or a clean end before the
// SessionEnded event), ChatConn reconnects with backoff, reopens the log
// after the last event it received, and re-sends every unacknowledged
// message with its client message id, so that the server stores each
// message once. Each stored event reaches Events once, in seq order, across
// reconnects; typing signals (seq 0) sent while disconnected are lost.
//
// Concurrency: every method is safe to call from any goroutine. Send may be
// called from the goroutine that reads Events: acknowledgements are read
// apart from event delivery. Events are queued without bound until read, so
// read Events until it is closed, or call Close. Always call Close to
// release the stream.
type ChatConn struct {
	client    *Client
	sessionID string
	ctx       context.Context // the conversation's life: OpenChat's ctx, or Close
	cancel    context.CancelFunc
	events    chan *assistv1.SessionEvent
	wake      chan struct{} // capacity 1: the queue or finished changed
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
	runDone   chan struct{}
	delivered chan struct{}

	// writeMu orders writes to the stream: a reconnect writes the open and
	// every pending message before any new Send, so that a message never
	// overtakes an older one. Held while writing; never while waiting for
	// the server.
	writeMu sync.Mutex

	mu        sync.Mutex
	stream    *assistv1connect.ChatServiceChatClientStream // nil while disconnected
	pending   []*outgoing                                  // unacknowledged, in send order
	received  int64                                        // last stored seq received: where a reconnect resumes
	cursor    int64                                        // last stored seq handed out on Events
	queue     []*assistv1.SessionEvent                     // received, not yet handed out
	finished  bool
	finishErr error
}

// outgoing is a message waiting for its acknowledgement.
type outgoing struct {
	send *assistv1.ChatSend
	done chan struct{} // closed once ack or err is set
	ack  *assistv1.ChatAck
	err  error
}

// OpenChat opens the session's conversation after afterSeq (0 for the whole
// log; a saved Cursor to resume). The conversation lasts until the
// SessionEnded event is delivered, ctx ends, the server refuses the stream
// for good, or Close.
//
// OpenChat does not wait for the server: a refused open (NotFound,
// Unauthenticated, …) closes Events, and Err says why.
func (c *Client) OpenChat(ctx context.Context, sessionID string, afterSeq int64) (*ChatConn, error) {
	if afterSeq < 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, "afterSeq must not be negative")
	}
	ctx, cancel := context.WithCancel(ctx)
	cc := &ChatConn{
		client:    c,
		sessionID: sessionID,
		ctx:       ctx,
		cancel:    cancel,
		events:    make(chan *assistv1.SessionEvent),
		wake:      make(chan struct{}, 1),
		closed:    make(chan struct{}),
		runDone:   make(chan struct{}),
		delivered: make(chan struct{}),
		received:  afterSeq,
		cursor:    afterSeq,
	}
	go cc.run()
	go cc.deliver()
	return cc, nil
}

// Events delivers the session's events: stored ones once each, in seq
// order, and live typing signals. It is closed when the conversation ends,
// after the SessionEnded event if that is why.
func (cc *ChatConn) Events() <-chan *assistv1.SessionEvent { return cc.events }

// Cursor is the seq of the last stored event handed out on Events (the
// afterSeq of OpenChat before any): save it to resume later with OpenChat
// or Follow.
func (cc *ChatConn) Cursor() int64 {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.cursor
}

// Err reports why the conversation ended, once Events is closed: nil after
// the SessionEnded event, ErrClosed after Close, ctx's error, or the
// server's refusal (NotFound, FailedPrecondition, …). Nil before the end.
func (cc *ChatConn) Err() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.finishErr
}

// Send sends text as a chat message and waits until it is stored,
// returning the acknowledgement with its seq. The message gets a new client
// message id, kept across reconnects.
func (cc *ChatConn) Send(ctx context.Context, text string) (*assistv1.ChatAck, error) {
	return cc.SendWithID(ctx, uuid.NewString(), text)
}

// SendWithID is Send with the caller's client message id (see
// Client.SendMessageWithID).
//
// Send returns once the message is stored: on its acknowledgement, or on
// its event, whichever arrives first. If ctx ends first it returns ctx's
// error, and the message may still be stored (once). A text the server
// would refuse fails at once with InvalidArgument; a message the server
// refuses (a client message id reused for another text, an ended session)
// fails with the server's code, and the conversation goes on.
func (cc *ChatConn) SendWithID(ctx context.Context, clientMessageID, text string) (*assistv1.ChatAck, error) {
	if err := checkClientMessageID(clientMessageID); err != nil {
		return nil, err
	}
	if err := checkText(text); err != nil {
		return nil, err
	}
	o := &outgoing{send: &assistv1.ChatSend{ClientMessageId: clientMessageID, Text: text}, done: make(chan struct{})}
	cc.writeMu.Lock()
	cc.mu.Lock()
	if cc.finished {
		err := cc.endErrLocked()
		cc.mu.Unlock()
		cc.writeMu.Unlock()
		return nil, err
	}
	cc.pending = append(cc.pending, o)
	stream := cc.stream
	cc.mu.Unlock()
	if stream != nil {
		// A failed write needs no handling here: the stream is broken, its
		// receive fails too, and the reconnect re-sends o.
		_ = stream.Send(sendRequest(o.send))
	}
	cc.writeMu.Unlock()

	select {
	case <-o.done:
	case <-ctx.Done():
		cc.mu.Lock()
		i := slices.Index(cc.pending, o)
		if i >= 0 {
			cc.pending = slices.Delete(cc.pending, i, i+1)
		}
		cc.mu.Unlock()
		if i >= 0 {
			return nil, ctx.Err()
		}
		<-o.done // completed meanwhile
	}
	return o.ack, o.err
}

// Typing signals that the user is typing (or stopped). Typing signals are
// ephemeral: one sent while reconnecting is dropped, as it would be stale
// by the time it arrived. It fails only after the conversation ended.
func (cc *ChatConn) Typing(active bool) error {
	cc.writeMu.Lock()
	defer cc.writeMu.Unlock()
	cc.mu.Lock()
	finished, stream, err := cc.finished, cc.stream, cc.endErrLocked()
	cc.mu.Unlock()
	if finished {
		return err
	}
	if stream != nil {
		_ = stream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Typing{Typing: &assistv1.ChatTyping{Active: active}}})
	}
	return nil
}

// Close ends the conversation: it abandons the stream, fails pending
// sends with ErrClosed, and closes Events (events not yet read are
// dropped; Cursor tells where to resume). It waits for the background
// goroutines to finish. Safe to call more than once.
func (cc *ChatConn) Close() error {
	cc.closeOnce.Do(func() {
		close(cc.closed)
		cc.cancel()
	})
	<-cc.runDone
	<-cc.delivered
	return nil
}

func sendRequest(s *assistv1.ChatSend) *assistv1.ChatRequest {
	return &assistv1.ChatRequest{Action: &assistv1.ChatRequest_Send{Send: s}}
}

// run keeps a stream open until the conversation ends.
func (cc *ChatConn) run() {
	defer close(cc.runDone)
	defer cc.cancel()
	b := newBackoff(cc.client.retry)
	failures := 0
	for {
		ended, received, err := cc.connect()
		if ended {
			cc.finish(nil)
			return
		}
		if cc.ctx.Err() != nil {
			cc.finish(cc.stopReason())
			return
		}
		if err == nil {
			err = errStreamEnded
		} else if !retryable(cc.ctx, err) {
			cc.finish(err)
			return
		}
		if received {
			b.reset()
			failures = 0
		}
		failures++
		if cc.client.retry.exhausted(failures) {
			cc.finish(err)
			return
		}
		if b.wait(cc.ctx) != nil {
			cc.finish(cc.stopReason())
			return
		}
	}
}

// stopReason is why cc.ctx ended: Close, or OpenChat's ctx.
func (cc *ChatConn) stopReason() error {
	select {
	case <-cc.closed:
		return ErrClosed
	default:
		return cc.ctx.Err()
	}
}

// connect runs one stream: it opens the log after the last received seq,
// re-sends the pending messages, then reads until the stream stops. It
// reports whether SessionEnded arrived, whether the stream received
// anything, and why it stopped otherwise (nil: a clean end).
func (cc *ChatConn) connect() (ended, received bool, err error) {
	ctx, cancel := context.WithCancel(cc.ctx)
	stream, err := cc.client.Chat.Chat(ctx)
	if err != nil {
		cancel()
		return false, false, err
	}
	// A cancelled context alone leaves a Receive on a quiet stream waiting
	// for the server: closing the stream unblocks it, so Close and the end
	// of OpenChat's context return at once.
	stopClosing := context.AfterFunc(ctx, func() { _ = stream.Close() })
	defer stopClosing()
	defer func() {
		cancel() // unblocks a write in flight on this stream…
		cc.writeMu.Lock()
		cc.mu.Lock()
		cc.stream = nil // …and, once it returned, no write starts on it
		cc.mu.Unlock()
		cc.writeMu.Unlock()
		_ = stream.Close()
	}()

	cc.writeMu.Lock()
	cc.mu.Lock()
	open := &assistv1.ChatOpen{SessionId: cc.sessionID, AfterSeq: cc.received}
	resend := slices.Clone(cc.pending)
	cc.mu.Unlock()
	// A failed write shows its cause on Receive.
	werr := stream.Send(&assistv1.ChatRequest{Action: &assistv1.ChatRequest_Open{Open: open}})
	for _, o := range resend {
		if werr != nil {
			break
		}
		werr = stream.Send(sendRequest(o.send))
	}
	if werr == nil {
		cc.mu.Lock()
		cc.stream = &stream
		cc.mu.Unlock()
	}
	cc.writeMu.Unlock()

	for {
		res, err := stream.Receive()
		if errors.Is(err, io.EOF) {
			return false, received, nil
		}
		if err != nil {
			return false, received, err
		}
		received = true
		switch k := res.GetKind().(type) {
		case *assistv1.ChatResponse_Ack:
			cc.mu.Lock()
			if r := k.Ack.GetRejection(); r != nil {
				// Refused: nothing was stored, and re-sending would be
				// refused again. The stream goes on.
				cc.rejectLocked(k.Ack.GetClientMessageId(), r)
			} else {
				cc.completeLocked(k.Ack.GetSeq(), func(s *assistv1.ChatSend) bool {
					return s.GetClientMessageId() == k.Ack.GetClientMessageId()
				})
			}
			cc.mu.Unlock()
		case *assistv1.ChatResponse_Event:
			if cc.enqueue(k.Event) {
				return true, true, nil
			}
		}
	}
}

// enqueue queues ev for Events unless it was already received, and
// reports whether it ends the session.
func (cc *ChatConn) enqueue(ev *assistv1.SessionEvent) (ended bool) {
	if ev == nil {
		return false
	}
	cc.mu.Lock()
	if seq := ev.GetSeq(); seq > 0 {
		if seq <= cc.received {
			cc.mu.Unlock()
			return false // replayed from an older cursor
		}
		cc.received = seq
		// The event of a pending message proves it stored, even if its
		// ack is lost (the server may end the stream before sending it).
		if id := ev.GetClientMessageId(); id != "" && ev.GetMessage() != nil {
			cc.completeLocked(seq, func(s *assistv1.ChatSend) bool {
				return s.GetClientMessageId() == id && s.GetText() == ev.GetMessage().GetText()
			})
		}
	}
	cc.queue = append(cc.queue, ev)
	cc.mu.Unlock()
	cc.signal()
	return ev.GetSeq() > 0 && ev.GetSessionEnded() != nil
}

// completeLocked acknowledges the pending messages that match.
func (cc *ChatConn) completeLocked(seq int64, match func(*assistv1.ChatSend) bool) {
	cc.pending = slices.DeleteFunc(cc.pending, func(o *outgoing) bool {
		if !match(o.send) {
			return false
		}
		o.ack = &assistv1.ChatAck{ClientMessageId: o.send.GetClientMessageId(), Seq: seq}
		close(o.done)
		return true
	})
}

// rejectLocked fails the pending message the server refused, with the
// error ChatService.Send would have returned.
func (cc *ChatConn) rejectLocked(clientMessageID string, r *assistv1.ChatRejection) {
	var code connect.Code
	if code.UnmarshalText([]byte(r.GetCode())) != nil {
		code = connect.CodeUnknown
	}
	cc.pending = slices.DeleteFunc(cc.pending, func(o *outgoing) bool {
		if o.send.GetClientMessageId() != clientMessageID {
			return false
		}
		o.err = connect.NewError(code, r.GetMessage())
		close(o.done)
		return true
	})
}

// finish ends the conversation with err (nil: the session ended) and
// fails the messages still pending.
func (cc *ChatConn) finish(err error) {
	cc.mu.Lock()
	cc.finished, cc.finishErr = true, err
	pending := cc.pending
	cc.pending = nil
	perr := cc.endErrLocked()
	cc.mu.Unlock()
	for _, o := range pending {
		o.err = perr
		close(o.done)
	}
	cc.signal()
}

func (cc *ChatConn) endErrLocked() error {
	if cc.finishErr != nil {
		return cc.finishErr
	}
	return ErrSessionEnded
}

func (cc *ChatConn) signal() {
	select {
	case cc.wake <- struct{}{}:
	default:
	}
}

// deliver hands queued events out on Events, apart from the receiving
// goroutine so that a slow reader never holds up acknowledgements.
func (cc *ChatConn) deliver() {
	defer close(cc.delivered)
	defer close(cc.events)
	for {
		cc.mu.Lock()
		if len(cc.queue) == 0 {
			finished := cc.finished
			cc.mu.Unlock()
			if finished {
				return
			}
			select {
			case <-cc.wake:
			case <-cc.closed:
				return
			}
			continue
		}
		ev := cc.queue[0]
		cc.queue[0] = nil
		cc.queue = cc.queue[1:]
		// Advance the cursor before handing ev out, so that a reader who
		// got ev sees a cursor at least its seq; undo it if ev is dropped.
		prev := cc.cursor
		if ev.GetSeq() > 0 {
			cc.cursor = ev.GetSeq()
		}
		cc.mu.Unlock()
		select {
		case cc.events <- ev:
		case <-cc.closed:
			cc.mu.Lock()
			cc.cursor = prev
			cc.mu.Unlock()
			return
		}
	}
}
