package api

import (
	"errors"
	"sync"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// chatSends is what a Chat stream sends, one send or flush at a time: the
// log's events, a run at a time (see flush.go), and the acks of the
// client's messages.
//
// A sender's own message comes back to it as an event moments after its
// ack, and that event's run is flushed. So an ack whose event is still to
// come is held for that flush: the two share one write to the connection
// instead of one each (a third of a chatting party's writes). An ack whose
// event already went, and a rejection, go at once.
type chatSends struct {
	mu      sync.Mutex
	stream  chatResponseSender
	flushes streamFlushes
	// sentSeq is the last stored event the stream sent, or the cursor it
	// opened after: events up to it are never sent again.
	sentSeq int64
	// finished is set when the handler returns: its goroutines may outlive
	// it, and writing to a finished stream panics, killing the process.
	finished bool
}

// chatResponseSender is the stream's sending side.
type chatResponseSender interface {
	Send(*assistv1.ChatResponse) error
}

// errStreamFinished is what a Chat goroutine gets when it sends after the
// handler returned; nobody reads it.
var errStreamFinished = errors.New("stream finished")

// event sends one of the log's events; flush sends the run.
func (c *chatSends) event(ev *assistv1.SessionEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return errStreamFinished
	}
	c.flushes.Hold(true)
	if err := c.stream.Send(&assistv1.ChatResponse{Kind: &assistv1.ChatResponse_Event{Event: ev}}); err != nil {
		return err
	}
	c.sentSeq = max(c.sentSeq, ev.GetSeq())
	return nil
}

// flush sends the events (and held acks) sent since the last flush.
func (c *chatSends) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return errStreamFinished
	}
	return c.flushes.Flush()
}

// ack acknowledges one of the client's messages.
func (c *chatSends) ack(ack *assistv1.ChatAck) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return errStreamFinished
	}
	c.flushes.Hold(ack.GetRejection() == nil && ack.GetSeq() > c.sentSeq)
	return c.stream.Send(&assistv1.ChatResponse{Kind: &assistv1.ChatResponse_Ack{Ack: ack}})
}

// finish waits for a send in flight and refuses later ones.
func (c *chatSends) finish() {
	c.mu.Lock()
	c.finished = true
	c.mu.Unlock()
}
