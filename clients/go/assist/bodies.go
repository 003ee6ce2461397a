package assist

import (
	"io"
	"net/http"
	"sync"
)

// burstReads is a RoundTripper whose response bodies are read a burst at
// a time.
//
// Connect reads a stream message by message: five bytes of prefix, then
// the message. Go's HTTP/2 transport sends the server a WINDOW_UPDATE
// after every 4 KB read that way: on a replay of 1,000 events, about fifty
// writes on the client and as many reads on the server, most of the
// client's system time. Read a burst at a time (up to burstSize), the
// transport sends one per burst. A bufio.Reader would do the same but
// hold its buffer for the life of every stream, idle ones included;
// here a pooled buffer is taken only while events are flowing.
type burstReads struct{ next http.RoundTripper }

func (b burstReads) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := b.next.RoundTrip(req)
	if err != nil || res.Body == nil || res.Body == http.NoBody {
		return res, err
	}
	res.Body = &burstBody{body: res.Body}
	return res, nil
}

// CloseIdleConnections passes http.Client.CloseIdleConnections on.
func (b burstReads) CloseIdleConnections() {
	if c, ok := b.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// burstSize is the most one read takes ahead of the caller: a WINDOW_UPDATE
// per 32 KB instead of per 4 KB.
const burstSize = 32 << 10

var bursts = sync.Pool{New: func() any { b := make([]byte, burstSize); return &b }}

// burstBody reads ahead into a pooled buffer only once bytes are known to
// be flowing: a read made while nothing was flowing (a quiet stream
// waiting for its next event) goes straight to the body, holding no
// buffer while it waits; the reads after it take a burst. (When the last
// event of a run arrives split between two DATA frames, the stream may
// wait for its next event holding a buffer, which it gives back once that
// event is read.)
type burstBody struct {
	body    io.ReadCloser
	buf     *[]byte // nil while nothing is buffered
	r, w    int     // unread bytes: (*buf)[r:w]
	err     error   // the body's error, returned once the buffer is drained
	flowing bool    // the last read returned bytes and may have left more
}

func (b *burstBody) Read(p []byte) (int, error) {
	if b.buf != nil {
		n := copy(p, (*b.buf)[b.r:b.w])
		b.r += n
		if b.r == b.w {
			bursts.Put(b.buf)
			b.buf = nil
		}
		return n, nil
	}
	if b.err != nil {
		return 0, b.err
	}
	if !b.flowing || len(p) >= burstSize {
		n, err := b.body.Read(p)
		b.flowing = n > 0
		return n, err
	}
	buf := bursts.Get().(*[]byte)
	n, err := b.body.Read(*buf)
	// A full burst leaves more behind; a short one drained the transport.
	b.flowing = n == len(*buf)
	if n == 0 {
		bursts.Put(buf)
		return 0, err
	}
	b.buf, b.r, b.w, b.err = buf, 0, n, err
	return b.Read(p)
}

// Close closes the body; the buffer, if any, is left to the garbage
// collector, as a Read may be using it.
func (b *burstBody) Close() error { return b.body.Close() }
