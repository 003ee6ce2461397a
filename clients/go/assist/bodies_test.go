package assist

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
)

// chunkedBody hands out what it holds in chunks of random size, as the
// HTTP/2 transport hands out what has arrived, and counts its reads.
type chunkedBody struct {
	data     []byte
	reads    int
	maxChunk int // 0: up to 100,000 bytes
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	c.reads++
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.data), 1+rand.IntN(100_000))
	if c.maxChunk > 0 {
		n = min(len(p), len(c.data), c.maxChunk)
	}
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func (c *chunkedBody) Close() error { return nil }

// envelopes is a stream of n Connect envelopes of size bytes each.
func envelopes(n, size int) []byte {
	var out []byte
	for i := range n {
		out = append(out, 0)
		out = binary.BigEndian.AppendUint32(out, uint32(size))
		out = append(out, bytes.Repeat([]byte{byte(i)}, size)...)
	}
	return out
}

// readEnvelopes reads as connect does: the 5-byte prefix, then the message.
func readEnvelopes(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var got bytes.Buffer
	for {
		var prefix [5]byte
		if _, err := io.ReadFull(r, prefix[:]); err == io.EOF {
			return got.Bytes()
		} else if err != nil {
			t.Fatal(err)
		}
		got.Write(prefix[:])
		if _, err := io.CopyN(&got, r, int64(binary.BigEndian.Uint32(prefix[1:]))); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBurstBodiesPassEveryByteOnceInOrder(t *testing.T) {
	want := envelopes(3000, 211)
	for range 20 {
		src := &chunkedBody{data: want}
		if got := readEnvelopes(t, &burstBody{body: src}); !bytes.Equal(got, want) {
			t.Fatalf("read %d bytes, not the %d sent", len(got), len(want))
		}
	}
	// Reads of any size, past the end too.
	src := &chunkedBody{data: want}
	b := &burstBody{body: src}
	var got []byte
	for {
		p := make([]byte, []int{1, 5, 211, 4096, burstSize, 2 * burstSize}[rand.IntN(6)])
		n, err := b.Read(p)
		got = append(got, p[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not the %d sent", len(got), len(want))
	}
}

// A replay's thousand events cost the transport a few reads (each read of
// 4 KB or more sends a WINDOW_UPDATE), not two per event.
func TestAReplayIsReadABurstAtATime(t *testing.T) {
	stream := envelopes(1000, 200)
	plain := &chunkedBody{data: stream}
	readEnvelopes(t, plain)
	burst := &chunkedBody{data: stream}
	readEnvelopes(t, &burstBody{body: burst})
	if burst.reads*20 > plain.reads {
		t.Fatalf("%d reads of the body, against %d without bursts; want at most a twentieth", burst.reads, plain.reads)
	}
	t.Logf("%d reads of the body, against %d without bursts", burst.reads, plain.reads)
}

// A stream that has read everything that came (one event, in one DATA
// frame) waits for the next event without a buffer.
func TestAQuietStreamWaitsWithoutABuffer(t *testing.T) {
	src := &chunkedBody{data: envelopes(1, 200), maxChunk: 1 << 20}
	b := &burstBody{body: src}
	var prefix [5]byte
	if _, err := io.ReadFull(b, prefix[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(b, make([]byte, 200)); err != nil {
		t.Fatal(err)
	}
	if b.buf != nil || b.flowing {
		t.Fatalf("after the only event: buffer held %v, flowing %v; want neither", b.buf != nil, b.flowing)
	}
}
