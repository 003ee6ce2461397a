package api

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
)

// Connect flushes the response after every message a stream sends, and
// HTTP/2 then writes and flushes one frame per message: a replay of 1,000
// events cost 1,000 writes. A streaming handler may hold those flushes and
// flush once per run of messages it has at hand (a page of the stored log,
// the events one commit delivered); the messages of a run then share
// frames and writes, and none waits once its run is sent.

// flushGate holds one response's flushes while held is set.
type flushGate struct {
	w       http.Flusher
	held    atomic.Bool
	skipped atomic.Bool // a flush was held back since the last one
}

// gatedWriter is the response writer a streaming handler writes through.
type gatedWriter struct {
	http.ResponseWriter
	gate *flushGate
}

// Flush flushes unless the handler holds flushes.
func (w gatedWriter) Flush() {
	if w.gate.held.Load() {
		w.gate.skipped.Store(true)
		return
	}
	w.gate.flushNow()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (g *flushGate) flushNow() {
	g.skipped.Store(false)
	g.w.Flush()
}

type flushGateKey struct{}

// GateStreamFlushes lets the streaming RPCs served by next hold their
// flushes (see holdFlushes). Unary calls and other requests pass as they
// are.
func GateStreamFlushes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok || !isStreamContentType(r.Header.Get("Content-Type")) {
			next.ServeHTTP(w, r)
			return
		}
		gate := &flushGate{w: f}
		next.ServeHTTP(gatedWriter{ResponseWriter: w, gate: gate}, r.WithContext(context.WithValue(r.Context(), flushGateKey{}, gate)))
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
	if s.gate != nil && s.gate.skipped.Load() {
		s.gate.flushNow()
	}
	return nil
}
