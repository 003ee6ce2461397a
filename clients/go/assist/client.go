// Package assist is the Go client of Assist, for native customer apps and
// integrators.
//
// A [Client] exposes every service of the contract (assist/v1) as a
// generated client, plus the parts that are easy to get wrong by hand:
//
//   - [Client.SendMessage] retries a send after a transient failure with the
//     same client message id, so a retry never stores a second message;
//   - [Client.Follow] reads a session's log and resumes from its cursor after
//     a dropped stream, delivering each stored event once, in order;
//   - [Client.OpenChat] runs the bidi Chat stream of native apps, resuming
//     it and re-sending unacknowledged messages after a drop;
//   - [Client.FollowAccount] reads an account's event stream (integrators)
//     and resumes from its position after a dropped stream;
//   - [VerifyWebhook] checks a webhook delivery's Standard Webhooks
//     signature and timestamp.
//
// The session log is the contract these rely on: stored events carry
// contiguous seqs (1, 2, 3 …) per session, Subscribe and Chat replay
// exactly the events after a cursor, and a repeated client message id
// returns the stored event instead of writing a new one.
package assist

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"

	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
)

// Protocol is the wire protocol a Client speaks. assistd serves all three
// on one port.
type Protocol int

const (
	// Connect is the Connect protocol, the default.
	Connect Protocol = iota
	// GRPC is gRPC (HTTP/2 only).
	GRPC
	// GRPCWeb is gRPC-Web.
	GRPCWeb
)

// String returns the protocol's name.
func (p Protocol) String() string {
	switch p {
	case GRPC:
		return "grpc"
	case GRPCWeb:
		return "grpcweb"
	default:
		return "connect"
	}
}

// Client calls an Assist server. It is safe for concurrent use; create one
// per server and credential and share it.
type Client struct {
	// The generated service clients. Calls through them carry the token
	// but are not retried: use SendMessage, Follow and OpenChat for that.
	Auth        assistv1connect.AuthServiceClient
	Portal      assistv1connect.PortalServiceClient
	Chat        assistv1connect.ChatServiceClient
	Session     assistv1connect.SessionServiceClient
	CustomerApp assistv1connect.CustomerAppServiceClient
	Report      assistv1connect.ReportServiceClient
	Admin       assistv1connect.AdminServiceClient
	Event       assistv1connect.EventServiceClient
	Webhook     assistv1connect.WebhookServiceClient

	token atomic.Pointer[string]
	retry RetryPolicy
}

type config struct {
	token        string
	protocol     Protocol
	httpClient   *http.Client
	retry        RetryPolicy
	interceptors []connect.ClientInterceptor
}

// Option configures a Client.
type Option func(*config)

// WithToken authenticates every call with "Authorization: Bearer token":
// a customer, customer app, advisor or API key token. Default: none, for
// the anonymous procedures (Login, StartSession, RedeemOpener).
func WithToken(token string) Option {
	return func(c *config) { c.token = token }
}

// WithProtocol selects the wire protocol. Default Connect.
func WithProtocol(p Protocol) Option {
	return func(c *config) { c.protocol = p }
}

// WithHTTPClient sends calls through hc. Bidi streams (OpenChat) and gRPC
// need HTTP/2: over plain http:// that means an hc whose transport enables
// unencrypted HTTP/2 (h2c). Default: a client that speaks h2c to http://
// URLs and HTTP/2 or HTTP/1.1 over TLS to https:// URLs, and pings idle
// HTTP/2 connections so that a silently dead one fails its streams instead
// of hanging them.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) { c.httpClient = hc }
}

// WithRetry sets how SendMessage retries and how Follow and OpenChat
// reconnect. Zero fields keep their defaults (see RetryPolicy).
func WithRetry(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithInterceptors adds client interceptors (logging, tracing, metrics)
// around every call, inside the one that adds the token. Default: none.
func WithInterceptors(interceptors ...connect.ClientInterceptor) Option {
	return func(c *config) { c.interceptors = append(c.interceptors, interceptors...) }
}

// New returns a client of the server at baseURL (e.g.
// "https://assist.example.com").
func New(baseURL string, opts ...Option) *Client {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.httpClient == nil {
		cfg.httpClient = defaultHTTPClient(baseURL)
	}
	// Streams read their bodies a burst at a time (see burstReads), on
	// the caller's client as on the default one.
	hc := *cfg.httpClient
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = burstReads{next}
	cfg.httpClient = &hc
	var transportOpts []connecthttp.Option
	switch cfg.protocol {
	case GRPC:
		transportOpts = append(transportOpts, connecthttp.WithGRPC())
	case GRPCWeb:
		transportOpts = append(transportOpts, connecthttp.WithGRPCWeb())
	}
	c := &Client{retry: cfg.retry.withDefaults()}
	c.SetToken(cfg.token)
	interceptors := append([]connect.ClientInterceptor{c.bearer}, cfg.interceptors...)
	cc := connect.NewClient(connecthttp.NewTransport(cfg.httpClient, baseURL, transportOpts...), interceptors...)
	c.Auth = assistv1connect.NewAuthServiceClient(cc)
	c.Portal = assistv1connect.NewPortalServiceClient(cc)
	c.Chat = assistv1connect.NewChatServiceClient(cc)
	c.Session = assistv1connect.NewSessionServiceClient(cc)
	c.CustomerApp = assistv1connect.NewCustomerAppServiceClient(cc)
	c.Report = assistv1connect.NewReportServiceClient(cc)
	c.Admin = assistv1connect.NewAdminServiceClient(cc)
	c.Event = assistv1connect.NewEventServiceClient(cc)
	c.Webhook = assistv1connect.NewWebhookServiceClient(cc)
	return c
}

// SetToken replaces the token for calls started from now on, e.g. with
// the access token Login returned. Calls in flight keep the old one;
// streams that reconnect (Follow, OpenChat) pick up the new one. Safe to
// call concurrently with calls.
func (c *Client) SetToken(token string) {
	c.token.Store(&token)
}

// bearer adds the current token to each call. It reads the token per call,
// not per client, so that SetToken applies to reconnecting streams.
func (c *Client) bearer(next connect.ClientFunc) connect.ClientFunc {
	return func(ctx context.Context, spec connect.Spec) (connect.ClientStream, error) {
		if token := *c.token.Load(); token != "" {
			// connect.Client attaches a CallInfo before interceptors run.
			if info, ok := connect.CallInfoForClientContext(ctx); ok {
				info.RequestHeader().Set("Authorization", "Bearer "+token)
			}
		}
		return next(ctx, spec)
	}
}

// defaultHTTPClient speaks h2c to http:// servers: Go's transport would
// otherwise use HTTP/1.1, on which bidi streams and gRPC cannot work.
func defaultHTTPClient(baseURL string) *http.Client {
	protocols := new(http.Protocols)
	transport := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		Protocols:           protocols,
		// Chat streams are long and often quiet: ping, so that a connection
		// that died without a FIN fails its streams and they reconnect.
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     15 * time.Second,
			// The server writes a replay's events in runs of up to 64 KB:
			// let each run come as one DATA frame rather than four of
			// HTTP/2's default 16 KB (fewer system calls on both sides).
			MaxReadFrameSize: 256 << 10,
		},
	}
	if strings.HasPrefix(strings.ToLower(baseURL), "http://") {
		// Only h2c: with HTTP/1.1 enabled too, http:// would use HTTP/1.1.
		protocols.SetUnencryptedHTTP2(true)
	} else {
		protocols.SetHTTP1(true)
		protocols.SetHTTP2(true)
		transport.Proxy = http.ProxyFromEnvironment
	}
	return &http.Client{Transport: transport}
}
