// Package assistd assembles the server: database (embedded or external),
// the session log and its fan-out, the domain services, and one HTTP port
// serving Connect, gRPC and gRPC-Web with health and reflection.
package assistd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	connectv1 "connectrpc.com/connect"
	"connectrpc.com/connect/v2/connecthttp"
	connectcors "connectrpc.com/cors"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect/v2"
	"connectrpc.com/validate"
	"github.com/rs/cors"

	"github.com/assist-chat/assist/gen/go/assist/v1/assistv1connect"
	"github.com/assist-chat/assist/server/internal/accounts"
	"github.com/assist-chat/assist/server/internal/admin"
	"github.com/assist-chat/assist/server/internal/api"
	"github.com/assist-chat/assist/server/internal/auth"
	"github.com/assist-chat/assist/server/internal/chat"
	"github.com/assist-chat/assist/server/internal/demo"
	"github.com/assist-chat/assist/server/internal/limits"
	"github.com/assist-chat/assist/server/internal/opener"
	"github.com/assist-chat/assist/server/internal/pgembed"
	"github.com/assist-chat/assist/server/internal/readahead"
	"github.com/assist-chat/assist/server/internal/reports"
	"github.com/assist-chat/assist/server/internal/sessionlog"
	"github.com/assist-chat/assist/server/internal/sessions"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/upgrade"
	"github.com/assist-chat/assist/server/internal/webapp"
)

// Config configures a server. The zero value of each field means its
// documented default.
type Config struct {
	// Addr is the address to listen on. Default "127.0.0.1:8080"; use
	// "127.0.0.1:0" for any free port.
	Addr string
	// DatabaseURL is an external PostgreSQL. Default: an embedded cluster in
	// DataDir/postgres, started and stopped with the server.
	DatabaseURL string
	// DataDir holds the embedded cluster. Default ".assist-data".
	DataDir string
	// CORSAllowedOrigins are the browser origins allowed to call the API;
	// "*" allows any. Default: none (same-origin only).
	CORSAllowedOrigins []string
	// MaxMessageBytes caps one request message. Default 1 MiB.
	MaxMessageBytes int
	// MaxDBConns caps the connection pool. Default 32.
	MaxDBConns int32
	// SeedDemo creates the demo account on start if missing.
	SeedDemo bool
	// CredentialCheckInterval is how often open streams re-check that their
	// caller's credential still works (logout, expiry). Default 30s.
	CredentialCheckInterval time.Duration
	// ReleaseGrace is how long the advisor a code- or web-mode session
	// waits for may stay offline before the session goes back to its
	// portal's queue (checked every ReleaseInterval). Defaults 2 min and
	// 15 s.
	ReleaseGrace, ReleaseInterval time.Duration
	// StartSessionRate limits StartSession per client address. Default
	// 30/m; limits.RateOff for none.
	StartSessionRate limits.Rate
	// LoginRate limits Login per client address, so passwords cannot be
	// guessed quickly. Default 20/m; limits.RateOff for none.
	LoginRate limits.Rate
	// CredentialRate limits calls per bearer credential (token or API
	// key). Default 100/s; limits.RateOff for none.
	CredentialRate limits.Rate
	// MaxConnsPerAddress bounds the connections of one client address.
	// Default 512; negative for no limit.
	MaxConnsPerAddress int
	// MaxStreamsPerConn bounds the concurrent HTTP/2 streams of one
	// connection. Default 250.
	MaxStreamsPerConn int
	// MaxInFlight bounds the requests served at once, streams included.
	// Default 20,000; negative for no limit.
	MaxInFlight int
	// UnaryBodyTimeout bounds the time a unary call may take to send its
	// request body. Default 10s.
	UnaryBodyTimeout time.Duration
	// PasswordCost is bcrypt's work factor for stored passwords. Default
	// auth.DefaultPasswordCost; tests lower it.
	PasswordCost int
	// Logger receives the server's logs. Default slog.Default().
	Logger *slog.Logger
	// PublicURL is the server's base URL as customers reach it: opener
	// links point there and openers name it as their issuer. Default
	// "http://" + the listen address.
	PublicURL string
	// AppsDir holds the customer app binaries that opener links serve
	// (assist-customer-<goos>-<goarch>[.exe], as `make build` writes them).
	// Default DefaultAppsDir().
	AppsDir string
	// KeyEncryptionKey (32 bytes) encrypts the opener signing keys stored in
	// the database. Default: none, keys are stored in clear.
	KeyEncryptionKey []byte
	// Integrations tunes the account feed, webhooks and log retention.
	Integrations Integrations
}

// DefaultAppsDir is the apps folder next to the assistd executable
// (bin/apps after `make build`) if it exists, else ./bin/apps (`make run`).
func DefaultAppsDir() string {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Join(filepath.Dir(exe), "apps")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	return filepath.Join("bin", "apps")
}

func (c *Config) applyDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DataDir == "" {
		c.DataDir = ".assist-data"
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = 1 << 20
	}
	if c.MaxDBConns == 0 {
		c.MaxDBConns = 32
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	defaultRate := func(r *limits.Rate, def limits.Rate) {
		if *r == (limits.Rate{}) {
			*r = def
		}
	}
	defaultRate(&c.StartSessionRate, DefaultStartSessionRate)
	defaultRate(&c.LoginRate, DefaultLoginRate)
	defaultRate(&c.CredentialRate, DefaultCredentialRate)
	if c.MaxConnsPerAddress == 0 {
		c.MaxConnsPerAddress = 512
	}
	if c.MaxStreamsPerConn == 0 {
		c.MaxStreamsPerConn = 250
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = 20_000
	}
	if c.UnaryBodyTimeout == 0 {
		c.UnaryBodyTimeout = 10 * time.Second
	}
	if c.ReleaseGrace == 0 {
		c.ReleaseGrace = sessions.DefaultReleaseGrace
	}
	if c.ReleaseInterval == 0 {
		c.ReleaseInterval = 15 * time.Second
	}
	if c.AppsDir == "" {
		c.AppsDir = DefaultAppsDir()
	}
}

// The default rate limits: generous for people, tight for scripts.
var (
	DefaultStartSessionRate = limits.Rate{N: 30, Period: time.Minute}
	DefaultLoginRate        = limits.Rate{N: 20, Period: time.Minute}
	DefaultCredentialRate   = limits.Rate{N: 100, Period: time.Second}
)

// ErrListen is returned by Start when the address cannot be listened on.
var ErrListen = errors.New("cannot listen")

// Server is a running assistd.
type Server struct {
	cfg      Config
	logger   *slog.Logger
	cluster  *pgembed.Cluster
	store    *store.Store
	log      *sessionlog.Log
	http     *http.Server
	listener net.Listener
	stopping chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	serveErr chan error
	once     sync.Once
	limiter  *limits.Limiter
	services []string // served services, for reflection and health
}

// Failed delivers an error if the server stops serving on its own (its
// listener failed); the process should then exit.
func (s *Server) Failed() <-chan error { return s.serveErr }

// Start prepares the database, listens on cfg.Addr and serves in the
// background until Shutdown.
func Start(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.applyDefaults()
	s := &Server{cfg: cfg, logger: cfg.Logger, stopping: make(chan struct{}), serveErr: make(chan error, 1)}
	defer func() {
		if err != nil {
			if s.listener != nil {
				_ = s.listener.Close()
			}
			s.release(context.WithoutCancel(ctx))
		}
	}()
	// The port first: a busy port is reported at once, before the database
	// is started and migrated.
	s.listener, err = net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("%w on %s: %w", ErrListen, cfg.Addr, err)
	}

	url := cfg.DatabaseURL
	if url == "" {
		dir, err := clusterDir(cfg.DataDir, s.logger)
		if err != nil {
			return nil, err
		}
		s.cluster, err = pgembed.Start(ctx, pgembed.Options{DataDir: dir, Logger: s.logger})
		if err != nil {
			return nil, fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		if err := s.cluster.CreateDatabase(ctx, "assist"); err != nil {
			return nil, fmt.Errorf("embedded PostgreSQL: %w", err)
		}
		url = s.cluster.ConnString("assist")
		s.logger.Info("embedded PostgreSQL running", "data_dir", dir)
	}
	s.store, err = store.Open(ctx, url, cfg.MaxDBConns, s.logger)
	if err != nil {
		return nil, err
	}
	keys, err := opener.NewKeys(s.store, cfg.KeyEncryptionKey)
	if err != nil {
		return nil, err
	}
	if err := keys.Ensure(ctx); err != nil {
		return nil, fmt.Errorf("opener signing key: %w", err)
	}
	if cfg.SeedDemo {
		if _, err := demo.Seed(ctx, s.store, cfg.PasswordCost); err != nil {
			return nil, fmt.Errorf("seed demo account: %w", err)
		}
	}

	hub := sessionlog.NewHub()
	s.log = sessionlog.New(s.store, hub, s.logger)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.log.RunWriters(runCtx)
	}()
	listening := make(chan struct{})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.log.Listen(runCtx, listening)
	}()
	select {
	case <-listening:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(30 * time.Second):
		return nil, errors.New("could not LISTEN on the database within 30s")
	}

	authn := auth.NewService(s.store, cfg.PasswordCost)
	authn.Revoked = s.log.RevokeCredential
	// The credential cache forgets what is revoked, on every replica.
	hub.OnRevoked(authn.Forget)
	sess := sessions.NewService(s.store, s.log, authn, s.logger)
	guard := sessions.NewGuard(sess, cfg.CredentialCheckInterval)
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		guard.Run(runCtx)
	}()
	go func() {
		defer s.wg.Done()
		sess.RunPresence(runCtx)
	}()
	go func() {
		defer s.wg.Done()
		sess.RunRelease(runCtx, cfg.ReleaseGrace, cfg.ReleaseInterval)
	}()
	administration := admin.NewService(s.store, cfg.PasswordCost, s.logger)
	administration.Revoked = s.log.RevokeCredential
	integrations := s.startIntegrations(runCtx, hub, cfg.Integrations)
	domain := &api.Domain{
		Auth:         authn,
		Sessions:     sess,
		Conversation: chat.NewService(s.log, sess),
		Reports:      reports.NewService(s.store, s.log),
		Admin:        administration,
		Upgrade:      upgrade.NewService(s.store, s.log, sess, authn, keys, s.PublicURL, s.logger),
		Accounts:     accounts.NewService(s.store),
		Feed:         integrations.feed,
		Webhooks:     integrations.webhooks,
		Logger:       s.logger,
		Guard:        guard,
		Stopping:     s.stopping,
	}
	handler := s.handler(domain, authn)

	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true) // h2c: gRPC and bidi streams without TLS
	s.http = &http.Server{
		Handler:   handler,
		Protocols: protocols,
		// No ReadTimeout/WriteTimeout: chat streams last for hours. Headers
		// and idle connections are bounded, and HTTP/2 pings find dead peers.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		HTTP2: &http.HTTP2Config{
			MaxConcurrentStreams: cfg.MaxStreamsPerConn,
			// A ping per quiet connection a minute finds a dead peer
			// within 75 s; at 10,000 open streams pinging twice as often
			// cost a visible share of an idle server's CPU.
			SendPingTimeout: 60 * time.Second,
			PingTimeout:     15 * time.Second,
		},
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug),
	}
	listener := s.limiter.ConnectionsPerAddress(readahead.Listener(s.listener), cfg.MaxConnsPerAddress)
	go func() {
		if err := s.http.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- err
		}
	}()
	s.logger.Info("assistd listening", "addr", s.listener.Addr().String())
	return s, nil
}

func (s *Server) handler(domain *api.Domain, authn *auth.Service) http.Handler {
	server := api.NewConnectServer(domain, authn, validate.NewServerInterceptor())
	// One list of services for reflection and health alike.
	names := append(api.ServiceNames(server), grpchealth.HealthV1ServiceName)
	grpcreflect.Register(server, grpcreflect.WithNamer(grpcreflect.NamerFunc(func() []string { return names })))
	s.services = names

	s.limiter = limits.New(limits.Config{
		PerAddress: map[string]limits.Rate{
			"/" + assistv1connect.PortalServiceName + "/StartSession": s.cfg.StartSessionRate,
			"/" + assistv1connect.AuthServiceName + "/Login":          s.cfg.LoginRate,
		},
		PerCredential:    s.cfg.CredentialRate,
		MaxInFlight:      s.cfg.MaxInFlight,
		UnaryBodyTimeout: s.cfg.UnaryBodyTimeout,
		Unary:            api.UnaryProcedures(server),
		Logger:           s.logger,
	})

	mux := http.NewServeMux()
	connecthttp.Mount(mux, server,
		connecthttp.WithReadMaxBytes(s.cfg.MaxMessageBytes),
		// Chat messages are small: compressing them costs more CPU than it
		// saves bytes. Large replies (transcripts) are still compressed.
		connecthttp.WithCompressMinBytes(1024),
	)
	mux.Handle(grpchealth.NewHandler(&healthChecker{server: s}))
	mux.Handle("GET /metrics", http.HandlerFunc(s.metrics))
	// The browser apps and the customer's chat-history download, same origin.
	mux.Handle("POST "+api.ChatHistoryPath, api.ChatHistoryHandler(domain))
	webapp.New().Mount(mux)
	mux.Handle("GET "+upgrade.OpenerPath+"{id}", api.OpenerDownload(domain, s.cfg.AppsDir))

	h := api.GateStreamFlushes(mux)
	if len(s.cfg.CORSAllowedOrigins) > 0 {
		h = cors.New(cors.Options{
			AllowedOrigins: s.cfg.CORSAllowedOrigins,
			AllowedMethods: connectcors.AllowedMethods(),
			AllowedHeaders: append(connectcors.AllowedHeaders(), "Authorization"),
			ExposedHeaders: append(connectcors.ExposedHeaders(), "Retry-After"),
			MaxAge:         7200,
		}).Handler(h)
	}
	return s.limiter.Wrap(h)
}

// metrics reports, in Prometheus' text format, what the limits refused.
func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	r := &s.limiter.Refused
	_, _ = fmt.Fprintf(w, "# HELP assist_refused_total Requests and connections refused by a limit.\n# TYPE assist_refused_total counter\n")
	for _, c := range []struct {
		reason string
		n      int64
	}{{"address_rate", r.Address.Load()}, {"credential_rate", r.Credential.Load()}, {"in_flight", r.InFlight.Load()}, {"connections", r.Connections.Load()}} {
		_, _ = fmt.Fprintf(w, "assist_refused_total{reason=%q} %d\n", c.reason, c.n)
	}
}

// healthChecker answers gRPC health checks: SERVING while the database
// answers and the server is not shutting down, so that a load balancer
// stops sending customers to a replica that cannot store their messages.
type healthChecker struct{ server *Server }

func (h *healthChecker) Check(ctx context.Context, req *grpchealth.CheckRequest) (*grpchealth.CheckResponse, error) {
	if req.Service != "" && !slices.Contains(h.server.services, req.Service) {
		return nil, connectv1.NewError(connectv1.CodeNotFound, fmt.Errorf("unknown service %s", req.Service))
	}
	select {
	case <-h.server.stopping:
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := h.server.store.Pool.Exec(ctx, "SELECT 1"); err != nil {
		h.server.logger.Warn("health check: database unreachable", "error", err)
		return &grpchealth.CheckResponse{Status: grpchealth.StatusNotServing}, nil
	}
	return &grpchealth.CheckResponse{Status: grpchealth.StatusServing}, nil
}

// clusterDir is where the embedded cluster lives: dataDir/postgres, unless
// we run as root and PostgreSQL's OS user cannot reach it (a checkout under
// /root, which is 0700): then a directory of its own under /var/lib/assist,
// named after dataDir so that each checkout keeps its own cluster.
func clusterDir(dataDir string, logger *slog.Logger) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(abs, "postgres")
	if err := pgembed.Reachable(dir, ""); err == nil {
		return dir, nil
	} else {
		sum := sha256.Sum256([]byte(abs))
		alt := filepath.Join("/var/lib/assist", "postgres-"+hex.EncodeToString(sum[:6]))
		logger.Info("the data directory is out of reach of PostgreSQL's OS user; the embedded cluster lives elsewhere", "data_dir", abs, "cluster_dir", alt, "reason", err)
		return alt, nil
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// PublicURL is the server's base URL as customers reach it (Config.PublicURL).
func (s *Server) PublicURL() string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return s.URL()
}

// Store exposes the database, for tests and tools.
func (s *Server) Store() *store.Store { return s.store }

// EmbeddedDatabaseURL is the embedded cluster's URL, or "" with an
// external database.
func (s *Server) EmbeddedDatabaseURL() string {
	if s.cluster == nil {
		return ""
	}
	return s.cluster.ConnString("assist")
}

// Done is closed if the embedded database exits on its own; nil otherwise.
func (s *Server) Done() <-chan struct{} {
	if s.cluster == nil {
		return nil
	}
	return s.cluster.Done()
}

// Shutdown stops accepting calls, ends open streams cleanly (clients resume
// from their cursor), waits for calls in flight, then stops the database.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		close(s.stopping)
		if s.http != nil {
			err = s.http.Shutdown(ctx)
			if err != nil {
				_ = s.http.Close()
			}
		}
		s.release(ctx)
	})
	return err
}

func (s *Server) release(ctx context.Context) {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.store != nil {
		s.store.Close()
	}
	if s.cluster != nil {
		if err := s.cluster.Stop(ctx); err != nil {
			s.logger.Warn("stopping embedded PostgreSQL", "error", err)
		}
	}
}
