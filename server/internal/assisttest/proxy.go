package assisttest

import (
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a server, so that tests can break the
// network the way it breaks for real clients: connections severed in the
// middle of a stream, a server that cannot be reached for a while,
// responses that never arrive.
type Proxy struct {
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu       sync.Mutex
	conns    map[*proxyConn]struct{}
	paused   bool
	held     chan struct{} // non-nil while responses are held; closed on release
	accepted int
	closed   bool
}

// proxyConn is one relayed connection: the client's and the server's side.
type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	dropped        chan struct{}
}

// NewProxy listens on 127.0.0.1 and relays each connection to targetAddr
// (host:port) until the test ends.
func NewProxy(tb testing.TB, targetAddr string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{target: targetAddr, ln: ln, conns: make(map[*proxyConn]struct{})}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// URL is the proxy's base URL, to give clients instead of the server's.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted is how many connections the proxy has relayed to the server
// (refused ones not counted): a client that reconnected shows up here.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

// DropAll severs every open connection, both halves, with a reset, as a
// failing network or a crashed peer would. New connections are accepted
// as before (unless paused).
func (p *Proxy) DropAll() {
	p.mu.Lock()
	conns := make([]*proxyConn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.drop()
	}
}

// Pause refuses new connections (accepted and reset at once) until Resume:
// the server is unreachable. Open connections are not touched; pair with
// DropAll for an outage.
func (p *Proxy) Pause() {
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
}

// Resume accepts new connections again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
}

// HoldResponses stops relaying bytes from the server to clients, on open
// and new connections, until ReleaseResponses: requests still reach the
// server and take effect, but their responses do not arrive. Held bytes
// are delivered on release unless the connection is dropped first.
func (p *Proxy) HoldResponses() {
	p.mu.Lock()
	if p.held == nil {
		p.held = make(chan struct{})
	}
	p.mu.Unlock()
}

// ReleaseResponses lets held responses through.
func (p *Proxy) ReleaseResponses() {
	p.mu.Lock()
	if p.held != nil {
		close(p.held)
		p.held = nil
	}
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		if p.refusing() {
			reset(client)
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			reset(client)
			continue
		}
		c := &proxyConn{client: client, server: server, dropped: make(chan struct{})}
		p.mu.Lock()
		if p.closed || p.paused {
			p.mu.Unlock()
			c.drop()
			continue
		}
		p.conns[c] = struct{}{}
		p.accepted++
		p.wg.Add(2)
		p.mu.Unlock()
		go p.relay(c, c.server, c.client, false)
		go p.relay(c, c.client, c.server, true)
	}
}

func (p *Proxy) refusing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused || p.closed
}

// relay copies src to dst until either side fails, then drops both: HTTP/2
// never half-closes, so one side ending means the connection is over.
func (p *Proxy) relay(c *proxyConn, dst, src net.Conn, response bool) {
	defer p.wg.Done()
	defer func() {
		c.drop()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if response && !p.awaitRelease(c) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // an end, a reset or a drop: all the same here
		}
	}
}

// awaitRelease waits while responses are held; false if c was dropped.
func (p *Proxy) awaitRelease(c *proxyConn) bool {
	for {
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		if held == nil {
			return true
		}
		select {
		case <-held:
		case <-c.dropped:
			return false
		}
	}
}

func (c *proxyConn) drop() {
	c.once.Do(func() {
		close(c.dropped)
		reset(c.client)
		reset(c.server)
	})
}

// reset closes conn with a TCP RST rather than a FIN, so that the peer
// sees the connection fail, not end.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (p *Proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	_ = p.ln.Close()
	p.ReleaseResponses()
	p.DropAll()
	p.wg.Wait()
}
