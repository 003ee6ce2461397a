package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/uuid"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/demo"
)

// assistBackend drives assistd with the generated Connect clients: the demo
// advisor picks up sessions that customers start on the demo portal.
type assistBackend struct {
	url string
	// api is how parties chat: "chat" (one bidi Chat stream each, through
	// the Go client) or "unary" (Send calls and a Subscribe stream).
	api string

	once         sync.Once
	advisorToken string
	setupErr     error
	setup        *connect.Client // shared, for setup calls only
}

func newAssist(o options) *assistBackend {
	return &assistBackend{url: o.url, api: o.assistAPI, setup: newAssistClient(o.url, "")}
}

// newAssistClient is a client on its own h2c connection.
func newAssistClient(url, token string) *connect.Client {
	return connect.NewClient(connecthttp.NewTransport(h2cClient(), url), bearer(token))
}

// h2cClient is an HTTP client with its own h2c connection.
func h2cClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:       protocols,
		TLSClientConfig: &tls.Config{},
		DialContext:     (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// bearer adds "Authorization: Bearer token" to every call.
func bearer(token string) connect.ClientInterceptor {
	return func(next connect.ClientFunc) connect.ClientFunc {
		return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
			if token != "" {
				if info, ok := connect.CallInfoForClientContext(ctx); ok {
					info.RequestHeader().Set("Authorization", "Bearer "+token)
				}
			}
			return next(ctx, spec)
		}
	}
}

func (b *assistBackend) login(ctx context.Context) (string, error) {
	b.once.Do(func() {
		res, err := assistv1connect.NewAuthServiceClient(b.setup).Login(ctx, &assistv1.LoginRequest{Email: demo.AdvisorEmail, Password: demo.AdvisorPassword})
		if err != nil {
			b.setupErr = fmt.Errorf("advisor login: %w", err)
			return
		}
		b.advisorToken = res.GetAccessToken()
	})
	return b.advisorToken, b.setupErr
}

// start starts a session on the demo portal and has the advisor pick it up.
func (b *assistBackend) start(ctx context.Context, name string) (sessionID, customerToken, advisorToken string, err error) {
	advisorToken, err = b.login(ctx)
	if err != nil {
		return "", "", "", err
	}
	res, err := assistv1connect.NewPortalServiceClient(b.setup).StartSession(ctx, &assistv1.StartSessionRequest{
		PortalSlug: demo.PortalSlug,
		Customer:   &assistv1.CustomerInfo{DisplayName: name},
		RequestId:  uuid.NewString(),
	})
	if err != nil {
		return "", "", "", fmt.Errorf("start session: %w", err)
	}
	sessionID = res.GetSession().GetId()
	adv := assistv1connect.NewSessionServiceClient(newAssistClientShared(b, advisorToken))
	if _, err := adv.PickUpSession(ctx, &assistv1.PickUpSessionRequest{SessionId: sessionID}); err != nil {
		return "", "", "", fmt.Errorf("pick up: %w", err)
	}
	return sessionID, res.GetCustomerToken(), advisorToken, nil
}

var (
	sharedMu      sync.Mutex
	sharedClients = map[string]*connect.Client{}
)

// newAssistClientShared is one setup client per token.
func newAssistClientShared(b *assistBackend, token string) *connect.Client {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	c, ok := sharedClients[token]
	if !ok {
		c = newAssistClient(b.url, token)
		sharedClients[token] = c
	}
	return c
}

func (b *assistBackend) session(ctx context.Context, i int) (party, party, error) {
	id, customerToken, advisorToken, err := b.start(ctx, fmt.Sprintf("Bench customer %d", i))
	if err != nil {
		return nil, nil, err
	}
	// Followers start at the log's current end: they see only new messages.
	got, err := assistv1connect.NewSessionServiceClient(newAssistClientShared(b, advisorToken)).GetSession(ctx, &assistv1.GetSessionRequest{SessionId: id})
	if err != nil {
		return nil, nil, fmt.Errorf("get session: %w", err)
	}
	after := got.GetSession().GetLastSeq()
	if b.api == "unary" {
		c := newAssistParty(b.url, id, customerToken, assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER)
		a := newAssistParty(b.url, id, advisorToken, assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR)
		c.after, a.after = after, after
		return c, a, nil
	}
	c := &chatParty{url: b.url, session: id, token: customerToken, role: assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER, after: after}
	a := &chatParty{url: b.url, session: id, token: advisorToken, role: assistv1.ParticipantRole_PARTICIPANT_ROLE_ADVISOR, after: after}
	return c, a, nil
}

// chatParty is a customer or the advisor of one session talking through
// the Go client's ChatConn: one bidi ChatService.Chat stream on its own
// connection carries its messages, their acknowledgements and the
// session's events, as Centrifugo's party does over its WebSocket.
type chatParty struct {
	url, session, token string
	role                assistv1.ParticipantRole
	after               int64

	mu     sync.Mutex
	client *assist.Client     // one connection
	conns  []*assist.ChatConn // the first one sends
}

func (p *chatParty) follow(ctx context.Context, deliver func(id string)) error {
	p.mu.Lock()
	if p.client == nil {
		p.client = assist.New(p.url, assist.WithToken(p.token), assist.WithHTTPClient(h2cClient()))
	}
	c := p.client
	p.mu.Unlock()
	conn, err := c.OpenChat(ctx, p.session, p.after)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.conns = append(p.conns, conn)
	p.mu.Unlock()
	go func() {
		for ev := range conn.Events() {
			if ev.GetMessage() == nil || ev.GetAuthor().GetRole() == p.role {
				continue
			}
			deliver(ev.GetClientMessageId())
		}
		if err := conn.Err(); err != nil && ctx.Err() == nil {
			fmt.Printf("progress chat ended: %v\n", err)
		}
	}()
	return nil
}

func (p *chatParty) send(ctx context.Context, id, text string) error {
	p.mu.Lock()
	var conn *assist.ChatConn
	if len(p.conns) > 0 {
		conn = p.conns[0]
	}
	p.mu.Unlock()
	if conn == nil {
		return errors.New("send before the chat is open")
	}
	ack, err := conn.SendWithID(ctx, id, text)
	if err != nil {
		return err
	}
	if r := ack.GetRejection(); r != nil {
		return fmt.Errorf("rejected: %s: %s", r.GetCode(), r.GetMessage())
	}
	return nil
}

func (p *chatParty) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// assistParty is a customer or the advisor of one session, on its own
// connection.
type assistParty struct {
	session string
	role    assistv1.ParticipantRole
	after   int64 // follow from here
	chat    assistv1connect.ChatServiceClient
}

func newAssistParty(url, session, token string, role assistv1.ParticipantRole) *assistParty {
	return &assistParty{session: session, role: role, chat: assistv1connect.NewChatServiceClient(newAssistClient(url, token))}
}

func (p *assistParty) send(ctx context.Context, id, text string) error {
	_, err := p.chat.Send(ctx, &assistv1.SendRequest{SessionId: p.session, Content: &assistv1.SendRequest_Message{
		Message: &assistv1.ChatSend{ClientMessageId: id, Text: text}}})
	return err
}

// follow subscribes from the log's current end and reports the other
// party's messages until ctx ends.
func (p *assistParty) follow(ctx context.Context, deliver func(id string)) error {
	stream, err := p.chat.Subscribe(ctx, &assistv1.SubscribeRequest{SessionId: p.session, AfterSeq: p.after})
	if err != nil {
		return err
	}
	go func() {
		defer stream.Close()
		for {
			res, err := stream.Receive()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					fmt.Printf("progress stream ended: %v\n", err)
				}
				return
			}
			ev := res.GetEvent()
			if ev.GetMessage() == nil || ev.GetAuthor().GetRole() == p.role {
				continue
			}
			deliver(ev.GetClientMessageId())
		}
	}()
	return nil
}

func (p *assistParty) close() {}

// replay stores events messages in one session, then times reading the
// whole log from the start, rounds times.
func (b *assistBackend) replay(ctx context.Context, events, rounds int, progress func(string), mark func(string)) ([]time.Duration, error) {
	id, customerToken, advisorToken, err := b.start(ctx, "Bench replay")
	if err != nil {
		return nil, err
	}
	customer := newAssistParty(b.url, id, customerToken, assistv1.ParticipantRole_PARTICIPANT_ROLE_CUSTOMER)
	// The reader replays through the Go client and its default transport,
	// as integrators and the customer app read a session's log.
	reader := assist.New(b.url, assist.WithToken(advisorToken))
	sess := assistv1connect.NewSessionServiceClient(newAssistClientShared(b, advisorToken))
	got, err := sess.GetSession(ctx, &assistv1.GetSessionRequest{SessionId: id})
	if err != nil {
		return nil, err
	}
	last := got.GetSession().GetLastSeq()
	text := strings.Repeat("x", 150)
	for k := last; k < int64(events); k++ {
		if err := customer.send(ctx, fmt.Sprintf("r-%d", k), text); err != nil {
			return nil, err
		}
		last = k + 1
	}
	progress(fmt.Sprintf("%d events stored; replaying %d times", last, rounds))
	// once reads the whole log once: how long it took, and when the first
	// event came.
	once := func(r int) (took, first time.Duration, err error) {
		start := time.Now()
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := reader.Chat.Subscribe(rctx, &assistv1.SubscribeRequest{SessionId: id, AfterSeq: 0})
		if err != nil {
			return 0, 0, err
		}
		defer stream.Close()
		for n := 0; ; n++ {
			res, err := stream.Receive()
			if err != nil {
				return 0, 0, fmt.Errorf("replay %d: after %d events: %w", r, n, err)
			}
			if n == 0 {
				first = time.Since(start)
			}
			if res.GetEvent().GetSeq() >= last {
				return time.Since(start), first, nil
			}
		}
	}
	// One replay first, untimed, as every other mode warms up: the
	// server's first one opens database connections and prepares its
	// statements.
	if _, _, err := once(-1); err != nil {
		return nil, err
	}
	var all []time.Duration
	mark("start")
	defer mark("end")
	for r := range rounds {
		took, first, err := once(r)
		if err != nil {
			return nil, err
		}
		all = append(all, took)
		if took > 30*time.Millisecond {
			progress(fmt.Sprintf("replay %d took %.1f ms (the first event after %.1f ms)", r, float64(took.Microseconds())/1000, float64(first.Microseconds())/1000))
		}
	}
	return all, nil
}
