package api

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// Connect flushes the response after every message a stream sends, and
// HTTP/2 then writes and flushes one frame per message: a replay of 1,000
// events cost 1,000 writes. A streaming handler may hold those flushes and
// flush once per run of messages it has at hand (a page of the stored log,
// the events one commit delivered); the messages of a run then share
// frames and writes, and none waits once its run is sent.
//
// While flushes are held the messages also gather here, and go to the
// server in one write per run (at most maxHeldBytes): net/http's HTTP/2
// server hands what a handler writes to its connection 4 KB at a time,
// each a round trip to the connection's goroutine and a system call, and
// one large write goes out as full-size frames instead.

// maxHeldBytes bounds what a held stream gathers before writing it.
const maxHeldBytes = 64 << 10

// flushGate holds one response's flushes while held is set.
type flushGate struct {
	w       http.ResponseWriter
	held    atomic.Bool
	skipped atomic.Bool // a flush was held back since the last one
	// pending is what was written while held and not yet passed on. Only
	// the stream's sends and flushes touch it, and callers serialize them.
	pending *[]byte
}

// gatedWriter is the response writer a streaming handler writes through.
type gatedWriter struct {
	http.ResponseWriter
	gate *flushGate
}

// Write gathers while flushes are held, and passes on otherwise.
func (w gatedWriter) Write(p []byte) (int, error) {
	g := w.gate
	if g.held.Load() {
		if g.pending == nil {
			g.pending = heldBuffers.Get().(*[]byte)
		}
		*g.pending = append(*g.pending, p...)
		if len(*g.pending) >= maxHeldBytes {
			return len(p), g.writePending()
		}
		return len(p), nil
	}
	if err := g.writePending(); err != nil {
		return 0, err
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes unless the handler holds flushes.
func (w gatedWriter) Flush() {
	if w.gate.held.Load() {
		w.gate.skipped.Store(true)
		return
	}
	_ = w.gate.flushNow()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writePending passes on what was gathered, in one write.
func (g *flushGate) writePending() error {
	if g.pending == nil {
		return nil
	}
	_, err := g.w.Write(*g.pending)
	// An idle stream keeps no buffer.
	if cap(*g.pending) <= 2*maxHeldBytes {
		*g.pending = (*g.pending)[:0]
		heldBuffers.Put(g.pending)
	}
	g.pending = nil
	return err
}

// heldBuffers are the buffers of the runs being gathered.
var heldBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (g *flushGate) flushNow() error {
	g.skipped.Store(false)
	err := g.writePending()
	if f, ok := g.w.(http.Flusher); ok {
		f.Flush()
	}
	return err
}

type flushGateKey struct{}

// GateStreamFlushes lets the streaming RPCs served by next hold their
// flushes (see holdFlushes). Unary calls and other requests pass as they
// are.
func GateStreamFlushes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok || !isStreamContentType(r.Header.Get("Content-Type")) {
			next.ServeHTTP(w, r)
			return
		}
		gate := &flushGate{w: w}
		next.ServeHTTP(gatedWriter{ResponseWriter: w, gate: gate}, r.WithContext(context.WithValue(r.Context(), flushGateKey{}, gate)))
		// The end of the stream may have been written while held: pass it
		// on while the response is still ours to write.
		_ = gate.writePending()
	})
}

// isStreamContentType reports whether a request's content type may carry a
// stream: Connect's streaming types and every gRPC and gRPC-Web type.
func isStreamContentType(ct string) bool {
	return strings.HasPrefix(ct, "application/connect+") || strings.HasPrefix(ct, "application/grpc")
}

// streamFlushes is a streaming handler's hold on its flushes. Its zero
// value (no gate: the handler runs outside GateStreamFlushes) holds
// nothing and every message is flushed as connect does.
type streamFlushes struct{ gate *flushGate }

// holdFlushes returns the stream's flush control.
func holdFlushes(ctx context.Context) streamFlushes {
	g, _ := ctx.Value(flushGateKey{}).(*flushGate)
	return streamFlushes{gate: g}
}

// Hold makes later sends wait for Flush (hold=true) or flush each message
// again (hold=false).
func (s streamFlushes) Hold(hold bool) {
	if s.gate != nil {
		s.gate.held.Store(hold)
	}
}

// Flush writes what the held sends left in the buffer. Not safe
// concurrently with a send: callers serialize them.
func (s streamFlushes) Flush() error {
	if s.gate != nil && (s.gate.skipped.Load() || s.gate.pending != nil) {
		return s.gate.flushNow()
	}
	return nil
}
