package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/protobuf/proto"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
)

// countingWriter counts the writes and flushes that reach the server's
// writer.
type countingWriter struct {
	*httptest.ResponseRecorder
	writes, flushes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.ResponseRecorder.Write(p)
}

func (w *countingWriter) Flush() { w.flushes++; w.ResponseRecorder.Flush() }

// serveStream runs handler as a streaming call would be served and returns
// how many flushes reached the connection.
func serveStream(t *testing.T, contentType string, handler func(w http.ResponseWriter, r *http.Request)) (*countingWriter, string) {
	t.Helper()
	w := &countingWriter{ResponseRecorder: httptest.NewRecorder()}
	r := httptest.NewRequest(http.MethodPost, "/assist.v1.ChatService/Subscribe", nil)
	r.Header.Set("Content-Type", contentType)
	GateStreamFlushes(http.HandlerFunc(handler)).ServeHTTP(w, r)
	return w, w.Body.String()
}

// send writes one message and flushes, as connect does after every Send.
func send(w http.ResponseWriter, msg string) {
	_, _ = w.Write([]byte(msg))
	w.(http.Flusher).Flush()
}

// A streaming handler that holds its flushes sends a run of messages in one
// flush; without the hold, or on a unary call, every message is flushed.
func TestHeldFlushesSendARunOfMessagesAtOnce(t *testing.T) {
	t.Parallel()
	w, body := serveStream(t, "application/grpc", func(w http.ResponseWriter, r *http.Request) {
		flushes := holdFlushes(r.Context())
		flushes.Hold(true)
		for range 3 { // a run of three
			send(w, "e")
		}
		_ = flushes.Flush()
		_ = flushes.Flush() // nothing held back: no flush
		send(w, "f")        // a run of one
		_ = flushes.Flush()
		flushes.Hold(false)
		send(w, "a") // an ack: at once
	})
	if w.flushes != 3 || body != "eeefa" {
		t.Fatalf("got %d flushes and body %q, want 3 flushes and %q", w.flushes, body, "eeefa")
	}
	// A run reaches the server in one write, not one per message.
	if w.writes != 3 {
		t.Errorf("got %d writes, want 3 (the run, the run of one, the ack)", w.writes)
	}

	// A long run is passed on in bounded pieces; what a handler leaves
	// held when it returns (the end of a stream) is written all the same.
	big := string(bytes.Repeat([]byte("x"), 1000))
	w, body = serveStream(t, "application/connect+proto", func(w http.ResponseWriter, r *http.Request) {
		holdFlushes(r.Context()).Hold(true)
		for range 100 {
			send(w, big)
		}
		send(w, "end")
	})
	if len(body) != 100*len(big)+3 || body[len(body)-3:] != "end" {
		t.Fatalf("a held stream's body has %d bytes, want %d ending with the end of the stream", len(body), 100*len(big)+3)
	}
	if want := 100*len(big)/maxHeldBytes + 1; w.writes != want || w.flushes != 0 {
		t.Errorf("a long held run: %d writes and %d flushes, want %d writes and none", w.writes, w.flushes, want)
	}

	for _, ct := range []string{"application/proto", "application/json"} {
		w, _ := serveStream(t, ct, func(w http.ResponseWriter, r *http.Request) {
			holdFlushes(r.Context()).Hold(true) // not a stream: no hold
			send(w, "u")
			send(w, "u")
		})
		if w.flushes != 2 {
			t.Errorf("%s: got %d flushes, want 2 (unary calls are never held)", ct, w.flushes)
		}
	}
	for _, ct := range []string{"application/connect+proto", "application/grpc-web+proto", "application/grpc+proto"} {
		if !isStreamContentType(ct) {
			t.Errorf("%s is a streaming content type", ct)
		}
	}
	if isStreamContentType("text/plain") {
		t.Error("text/plain is not a streaming content type")
	}
}

// A stored event sent as its stored bytes reads, on the wire, exactly as
// the SubscribeResponse that carries it decoded.
func TestStoredEventsGoOutAsTheyWouldDecoded(t *testing.T) {
	t.Parallel()
	ev := &assistv1.SessionEvent{SessionId: "s", Seq: 7, Payload: &assistv1.SessionEvent_Message{Message: &assistv1.ChatMessage{Text: "bonjour"}}}
	stored, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	// A pooled response, used before and released, carries nothing over.
	storedSubscribeResponse(bytes.Repeat([]byte{0xff}, 300)).release()
	res := storedSubscribeResponse(stored)
	got, err := proto.Marshal(&res.SubscribeResponse)
	if err != nil {
		t.Fatal(err)
	}
	res.release()
	want, err := proto.Marshal(&assistv1.SubscribeResponse{Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("wire bytes %x, want %x", got, want)
	}
	var read assistv1.SubscribeResponse
	if err := proto.Unmarshal(got, &read); err != nil || !proto.Equal(read.GetEvent(), ev) {
		t.Fatalf("read back %v (%v), want %v", read.GetEvent(), err, ev)
	}
}
