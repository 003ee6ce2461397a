// Package assisttest starts real assistd servers on a real PostgreSQL for
// tests and benchmarks, and builds clients for each wire protocol. Use it
// from packages whose TestMain calls pgtest.Main.
package assisttest

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/demo"
	"github.com/assist-chat/assist/server/internal/limits"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// Protocol is a wire protocol a client speaks.
type Protocol string

// The three protocols assistd serves on one port.
const (
	Connect Protocol = "connect"
	GRPC    Protocol = "grpc"
	GRPCWeb Protocol = "grpcweb"
)

// Protocols lists every protocol, for table tests.
var Protocols = []Protocol{Connect, GRPC, GRPCWeb}

// Env is a running server on its own database.
type Env struct {
	Server      *assistd.Server
	URL         string
	DatabaseURL string
}

// Option adjusts the server's configuration.
type Option func(*assistd.Config)

// WithCORSOrigins allows browser origins.
func WithCORSOrigins(origins ...string) Option {
	return func(c *assistd.Config) { c.CORSAllowedOrigins = origins }
}

// WithCredentialCheckInterval sets how often open streams re-check their
// caller's credential.
func WithCredentialCheckInterval(d time.Duration) Option {
	return func(c *assistd.Config) { c.CredentialCheckInterval = d }
}

// WithRateLimits sets the rate limits (off by default in tests).
func WithRateLimits(startSession, login, credential limits.Rate) Option {
	return func(c *assistd.Config) {
		c.StartSessionRate, c.LoginRate, c.CredentialRate = startSession, login, credential
	}
}

// WithConfig lets a test set any other server setting.
func WithConfig(set func(*assistd.Config)) Option { return Option(set) }

// WithMaxMessageBytes caps request messages.
func WithMaxMessageBytes(n int) Option {
	return func(c *assistd.Config) { c.MaxMessageBytes = n }
}

// Start starts a server with the demo account on a fresh database, and
// shuts it down when the test ends.
func Start(tb testing.TB, opts ...Option) *Env {
	tb.Helper()
	return StartOn(tb, pgtest.NewDatabase(tb), opts...)
}

// StartOn starts a server (a replica) on an existing database.
func StartOn(tb testing.TB, databaseURL string, opts ...Option) *Env {
	tb.Helper()
	return StartOnConfig(tb, databaseURL, opts...)
}

// StartOnConfig is StartOn with options that may set any field.
func StartOnConfig(tb testing.TB, databaseURL string, opts ...Option) *Env {
	tb.Helper()
	cfg := assistd.Config{
		Addr:        "127.0.0.1:0",
		DatabaseURL: databaseURL,
		SeedDemo:    true,
		MaxDBConns:  40,
		// bcrypt's lowest cost: hashing at the real cost takes seconds
		// under the race detector, and is not what these tests measure.
		PasswordCost: bcrypt.MinCost,
		Logger:       Logger(),
		// Tests start many sessions and send fast from one address: the
		// rate limits are tested on their own (WithRateLimits).
		StartSessionRate: limits.RateOff,
		LoginRate:        limits.RateOff,
		CredentialRate:   limits.RateOff,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := assistd.Start(ctx, cfg)
	if err != nil {
		tb.Fatalf("start assistd: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return &Env{Server: srv, URL: srv.URL(), DatabaseURL: databaseURL}
}

// Logger discards server logs unless ASSIST_TEST_LOG is set.
func Logger() *slog.Logger {
	if os.Getenv("ASSIST_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// HTTPClient speaks HTTP/2 without TLS (h2c), as native apps do: needed for
// gRPC and for bidi streams.
func HTTPClient() *http.Client {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:       protocols,
		TLSClientConfig: &tls.Config{},
		DialContext:     (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
}

// HTTP1Client speaks HTTP/1.1 only, as a browser's fetch may.
func HTTP1Client() *http.Client {
	return &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: false}}
}

// Bearer adds "Authorization: Bearer token" to every call.
func Bearer(token string) connect.ClientInterceptor {
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

// Client returns a connect client for the protocol, authenticated with
// token ("" for anonymous), over h2c.
func (e *Env) Client(p Protocol, token string) *connect.Client {
	return e.ClientWith(HTTPClient(), p, token)
}

// ClientWith is Client over a given HTTP client.
func (e *Env) ClientWith(hc *http.Client, p Protocol, token string) *connect.Client {
	var opts []connecthttp.Option
	switch p {
	case GRPC:
		opts = append(opts, connecthttp.WithGRPC())
	case GRPCWeb:
		opts = append(opts, connecthttp.WithGRPCWeb())
	}
	return connect.NewClient(connecthttp.NewTransport(hc, e.URL, opts...), Bearer(token))
}

// Clients bundles the generated service clients.
type Clients struct {
	Auth        assistv1connect.AuthServiceClient
	Portal      assistv1connect.PortalServiceClient
	Chat        assistv1connect.ChatServiceClient
	Session     assistv1connect.SessionServiceClient
	CustomerApp assistv1connect.CustomerAppServiceClient
	Report      assistv1connect.ReportServiceClient
	Admin       assistv1connect.AdminServiceClient
}

// Services returns every service client for protocol p and token.
func (e *Env) Services(p Protocol, token string) *Clients {
	c := e.Client(p, token)
	return &Clients{
		Auth:        assistv1connect.NewAuthServiceClient(c),
		Portal:      assistv1connect.NewPortalServiceClient(c),
		Chat:        assistv1connect.NewChatServiceClient(c),
		Session:     assistv1connect.NewSessionServiceClient(c),
		CustomerApp: assistv1connect.NewCustomerAppServiceClient(c),
		Report:      assistv1connect.NewReportServiceClient(c),
		Admin:       assistv1connect.NewAdminServiceClient(c),
	}
}

// Demo credentials, re-exported for tests.
const (
	AdvisorEmail     = demo.AdvisorEmail
	AdvisorPassword  = demo.AdvisorPassword
	Advisor2Email    = demo.Advisor2Email
	Advisor2Password = demo.Advisor2Password
	AdminEmail       = demo.AdminEmail
	AdminPassword    = demo.AdminPassword
	PortalSlug       = demo.PortalSlug
)

// Login logs a demo advisor in and returns the token.
func (e *Env) Login(tb testing.TB, email, password string) string {
	tb.Helper()
	res, err := e.Services(Connect, "").Auth.Login(context.Background(), &assistv1.LoginRequest{Email: email, Password: password})
	if err != nil {
		tb.Fatalf("login %s: %v", email, err)
	}
	return res.GetAccessToken()
}

// StartSession starts a session on the demo portal as customer name and
// returns it with the customer token.
func (e *Env) StartSession(tb testing.TB, name string) (*assistv1.Session, string) {
	tb.Helper()
	res, err := e.Services(Connect, "").Portal.StartSession(context.Background(), &assistv1.StartSessionRequest{
		PortalSlug: PortalSlug,
		Customer:   &assistv1.CustomerInfo{DisplayName: name},
		RequestId:  uuid.NewString(),
	})
	if err != nil {
		tb.Fatalf("start session: %v", err)
	}
	return res.GetSession(), res.GetCustomerToken()
}

// ActiveSession starts a session and has the advisor pick it up. It
// returns the session id, the customer token and the advisor token.
func (e *Env) ActiveSession(tb testing.TB) (sessionID, customerToken, advisorToken string) {
	tb.Helper()
	advisorToken = e.Login(tb, AdvisorEmail, AdvisorPassword)
	sess, customerToken := e.StartSession(tb, "Ada")
	_, err := e.Services(Connect, advisorToken).Session.PickUpSession(context.Background(), &assistv1.PickUpSessionRequest{SessionId: sess.GetId()})
	if err != nil {
		tb.Fatalf("pick up: %v", err)
	}
	return sess.GetId(), customerToken, advisorToken
}
