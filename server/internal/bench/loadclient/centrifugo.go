package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// centrifugoBackend drives Centrifugo with its JSON protocol over
// WebSocket: each party connects with its own HS256 token, subscribes to its
// session's channel (namespace "chat", history on) and publishes into it.
type centrifugoBackend struct {
	url    string
	secret string
}

func newCentrifugo(o options) *centrifugoBackend {
	return &centrifugoBackend{url: o.url, secret: o.secret}
}

func (b *centrifugoBackend) session(ctx context.Context, i int) (party, party, error) {
	channel := fmt.Sprintf("chat:s%d-%d", i, time.Now().UnixNano())
	c := &cfParty{b: b, channel: channel, user: fmt.Sprintf("c%d", i)}
	a := &cfParty{b: b, channel: channel, user: fmt.Sprintf("a%d", i)}
	return c, a, nil
}

func (b *centrifugoBackend) replay(ctx context.Context, events, rounds int, progress func(string), mark func(string)) ([]time.Duration, error) {
	return nil, errors.New("replay is measured for assistd only")
}

// token is an HS256 JWT for user, valid for a day.
func (b *centrifugoBackend) token(user string) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": user, "exp": time.Now().Add(24 * time.Hour).Unix()})
	signing := header + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, []byte(b.secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// cfParty is one WebSocket connection with one subscription. Streams
// beyond the first (idle mode) are further connections of the same user.
type cfParty struct {
	b       *centrifugoBackend
	channel string
	user    string

	mu    sync.Mutex
	conns []*cfConn
}

// data is a publication's payload.
type data struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Text string `json:"text"`
}

func (p *cfParty) follow(ctx context.Context, deliver func(id string)) error {
	c, err := dialCentrifugo(ctx, p.b.url, p.b.token(p.user), func(pub json.RawMessage) {
		var d data
		if json.Unmarshal(pub, &d) == nil && d.From != p.user {
			deliver(d.ID)
		}
	})
	if err != nil {
		return err
	}
	if _, err := c.call(ctx, "subscribe", map[string]any{"channel": p.channel}); err != nil {
		c.close()
		return fmt.Errorf("subscribe: %w", err)
	}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	return nil
}

func (p *cfParty) send(ctx context.Context, id, text string) error {
	p.mu.Lock()
	if len(p.conns) == 0 {
		p.mu.Unlock()
		return errors.New("send before follow")
	}
	c := p.conns[0]
	p.mu.Unlock()
	_, err := c.call(ctx, "publish", map[string]any{"channel": p.channel, "data": data{ID: id, From: p.user, Text: text}})
	return err
}

func (p *cfParty) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.close()
	}
}

// cfConn is a Centrifugo client connection (protocol v2, JSON).
type cfConn struct {
	conn    net.Conn
	br      *bufio.Reader
	wmu     sync.Mutex
	nextID  atomic.Uint32
	pmu     sync.Mutex
	pending map[uint32]chan reply
	onPub   func(json.RawMessage)
	closed  atomic.Bool
}

type reply struct {
	result json.RawMessage
	err    error
}

// frame is one reply or push of the JSON protocol.
type frame struct {
	ID    uint32 `json:"id"`
	Error *struct {
		Code    int
		Message string
	} `json:"error"`
	Push *struct {
		Pub *struct {
			Data json.RawMessage `json:"data"`
		} `json:"pub"`
	} `json:"push"`
	Connect   json.RawMessage `json:"connect"`
	Subscribe json.RawMessage `json:"subscribe"`
	Publish   json.RawMessage `json:"publish"`
}

func dialCentrifugo(ctx context.Context, base, token string, onPub func(json.RawMessage)) (*cfConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET /connection/websocket HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " +
		base64.StdEncoding.EncodeToString(key[:]) + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(conn, 16<<10)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("websocket handshake: %s", res.Status)
	}
	c := &cfConn{conn: conn, br: br, pending: map[uint32]chan reply{}, onPub: onPub}
	go c.readLoop()
	if _, err := c.call(ctx, "connect", map[string]any{"token": token, "name": "bench"}); err != nil {
		c.close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// call sends one command and waits for its reply.
func (c *cfConn) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	id := c.nextID.Add(1)
	ch := make(chan reply, 1)
	c.pmu.Lock()
	c.pending[id] = ch
	c.pmu.Unlock()
	cmd, err := json.Marshal(map[string]any{"id": id, method: params})
	if err != nil {
		return nil, err
	}
	if err := c.write(cmd); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.result, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// write sends a masked text frame, as a client must.
func (c *cfConn) write(payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var hdr [14]byte
	hdr[0] = 0x81 // FIN, text
	n := 2
	switch l := len(payload); {
	case l < 126:
		hdr[1] = 0x80 | byte(l)
	case l < 1<<16:
		hdr[1] = 0x80 | 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(l))
		n = 4
	default:
		hdr[1] = 0x80 | 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(l))
		n = 10
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	copy(hdr[n:], mask[:])
	n += 4
	buf := make([]byte, n+len(payload))
	copy(buf, hdr[:n])
	for i, b := range payload {
		buf[n+i] = b ^ mask[i%4]
	}
	_, err := c.conn.Write(buf)
	return err
}

func (c *cfConn) readLoop() {
	defer c.failAll(errors.New("connection closed"))
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			return
		}
		op := h[0] & 0x0f
		l := uint64(h[1] & 0x7f)
		switch l {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return
			}
			l = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.br, b[:]); err != nil {
				return
			}
			l = binary.BigEndian.Uint64(b[:])
		}
		payload := make([]byte, l)
		if _, err := io.ReadFull(c.br, payload); err != nil {
			return
		}
		switch op {
		case 0x8: // close
			return
		case 0x9: // ping → pong
			c.wmu.Lock()
			_, _ = c.conn.Write([]byte{0x8a, 0x80, 0, 0, 0, 0})
			c.wmu.Unlock()
			continue
		case 0xa:
			continue
		}
		msg = append(msg, payload...)
		if h[0]&0x80 == 0 {
			continue // more fragments
		}
		c.handle(msg)
		msg = nil
	}
}

// handle dispatches one message: replies and pushes, one JSON object a line.
func (c *cfConn) handle(msg []byte) {
	for line := range bytes.SplitSeq(msg, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if string(line) == "{}" { // server ping: answer with a pong
			_ = c.write([]byte("{}"))
			continue
		}
		var f frame
		if err := json.Unmarshal(line, &f); err != nil {
			continue
		}
		if f.ID == 0 {
			if f.Push != nil && f.Push.Pub != nil {
				c.onPub(f.Push.Pub.Data)
			}
			continue
		}
		c.pmu.Lock()
		ch := c.pending[f.ID]
		delete(c.pending, f.ID)
		c.pmu.Unlock()
		if ch == nil {
			continue
		}
		if f.Error != nil {
			ch <- reply{err: fmt.Errorf("centrifugo error %d: %s", f.Error.Code, f.Error.Message)}
			continue
		}
		ch <- reply{result: json.RawMessage(strings.TrimSpace(string(line)))}
	}
}

func (c *cfConn) failAll(err error) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	for id, ch := range c.pending {
		ch <- reply{err: err}
		delete(c.pending, id)
	}
}

func (c *cfConn) close() {
	if c.closed.CompareAndSwap(false, true) {
		c.conn.Close()
	}
}
