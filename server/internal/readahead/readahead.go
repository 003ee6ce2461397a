// Package readahead gives accepted connections reads that take everything
// waiting on the socket at once, without holding a buffer while idle.
//
// net/http's HTTP/2 server reads each frame straight from the connection:
// nine bytes of header, then the payload, two system calls a frame. A
// client's message, or the pair of WINDOW_UPDATE frames a Go client sends
// after every 4 KB it reads, costs four. Under load those reads were 15-18%
// of assistd's CPU. An ordinary bufio.Reader would hold 4 KB per connection
// for its whole life, idle or not; here a pooled buffer is taken only once
// the socket is readable, and given back as soon as it is drained.
package readahead

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// bufSize is the most one read takes from the socket ahead of the caller.
// Reads at least this large go straight to the socket.
const bufSize = 8 << 10

var buffers = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// Listener wraps ln so that its connections read ahead. Connections that
// expose no file descriptor (syscall.Conn) are returned as they are.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Conn(c), nil
}

// Conn wraps c so that its reads read ahead, if c exposes its file
// descriptor; otherwise it returns c.
func Conn(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	rc := &conn{Conn: c, raw: raw}
	if cw, ok := c.(closeWriter); ok {
		return &closeWriterConn{rc, cw}
	}
	return rc
}

type closeWriter interface{ CloseWrite() error }

// closeWriterConn keeps CloseWrite, which net/http uses to close a
// connection gracefully.
type closeWriterConn struct {
	*conn
	cw closeWriter
}

func (c *closeWriterConn) CloseWrite() error { return c.cw.CloseWrite() }

type conn struct {
	net.Conn
	raw syscall.RawConn

	mu   sync.Mutex // one reader at a time
	buf  *[]byte    // nil while nothing is buffered
	r, w int        // unread bytes: (*buf)[r:w]
}

func (c *conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		if len(p) >= bufSize {
			return c.Conn.Read(p)
		}
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*c.buf)[c.r:c.w])
	c.r += n
	if c.r == c.w {
		buffers.Put(c.buf)
		c.buf = nil
	}
	return n, nil
}

// fill waits until the socket is readable, then reads what is there into
// a pooled buffer. The buffer is taken only after the wait.
func (c *conn) fill() error {
	var (
		b       *[]byte
		n       int
		readErr error
	)
	waitErr := c.raw.Read(func(fd uintptr) bool {
		b = buffers.Get().(*[]byte)
		for {
			n, readErr = syscall.Read(int(fd), *b)
			if readErr != syscall.EINTR {
				break
			}
		}
		if readErr == syscall.EAGAIN {
			buffers.Put(b)
			b = nil
			return false // not readable yet: wait in the poller, holding nothing
		}
		return true
	})
	switch {
	case waitErr != nil: // closed, or a deadline passed
		return c.opError(waitErr)
	case readErr != nil:
		buffers.Put(b)
		return c.opError(os.NewSyscallError("read", readErr))
	case n <= 0:
		buffers.Put(b)
		return io.EOF
	}
	c.buf, c.r, c.w = b, 0, n
	return nil
}

// opError reports err as net.Conn's Read does: a *net.OpError whose
// Timeout and errors.Is(err, net.ErrClosed) answer as usual.
func (c *conn) opError(err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	return &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}
