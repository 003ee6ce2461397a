package readahead

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"
)

// pair returns a read-ahead server side and its plain client side.
func pair(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err := Listener(ln).Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	cw, ok := server.(*closeWriterConn)
	if !ok {
		t.Fatalf("accepted %T, want a read-ahead TCP connection that keeps CloseWrite", server)
	}
	return cw.conn, client
}

func TestBytesArriveIntactWhateverTheReadSizes(t *testing.T) {
	t.Parallel()
	server, client := pair(t)
	want := make([]byte, 1<<20)
	for i := range want {
		want[i] = byte(rand.IntN(256))
	}
	go func() {
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+rand.IntN(20_000))
			if _, err := client.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
		client.(*net.TCPConn).CloseWrite()
	}()
	var got bytes.Buffer
	for {
		p := make([]byte, []int{1, 9, 100, 4096, bufSize, 3 * bufSize}[rand.IntN(6)])
		n, err := server.Read(p)
		got.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, not the %d written", got.Len(), len(want))
	}
}

// What a peer sent together is read in one system call: an HTTP/2 frame
// header and its payload, and the frames behind it, come out of one fill.
func TestSmallReadsShareOneSystemCall(t *testing.T) {
	t.Parallel()
	server, client := pair(t)
	frames := bytes.Repeat([]byte("123456789abcd"), 3) // three 9-byte headers with 4-byte payloads
	if _, err := client.Write(frames); err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 9)
	if _, err := io.ReadFull(server, head); err != nil {
		t.Fatal(err)
	}
	if server.buf == nil || server.w-server.r != len(frames)-9 {
		t.Fatalf("after the first header: %v buffered, want the %d bytes behind it", server.buf != nil, len(frames)-9)
	}
	rest := make([]byte, len(frames)-9)
	if _, err := io.ReadFull(server, rest); err != nil {
		t.Fatal(err)
	}
	if server.buf != nil {
		t.Fatal("a drained connection still holds its buffer")
	}
}

func TestDeadlinesCloseAndEOFAnswerAsNetConnDoes(t *testing.T) {
	t.Parallel()
	server, client := pair(t)
	server.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, err := server.Read(make([]byte, 9))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	server.SetReadDeadline(time.Time{})

	client.Write([]byte("ab"))
	client.Close()
	p := make([]byte, 9)
	n, err := server.Read(p)
	if n != 2 || err != nil {
		t.Fatalf("read: %d bytes, %v; want the 2 sent", n, err)
	}
	if _, err := server.Read(p); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want io.EOF", err)
	}

	server2, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := server2.Read(make([]byte, 9))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	server2.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read on a connection closed meanwhile: %v, want net.ErrClosed", err)
	}
}
