package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/limits"
	"github.com/assist-chat/assist/server/internal/opener"
)

// options are assistd's settings. Each is a flag with an environment
// variable; a flag given on the command line wins over its variable. Every
// default is defined once, here, and --help prints those defaults, never
// the environment's values (which may hold secrets).
type options struct {
	addr, databaseURL, dataDir, corsOrigins string
	maxMessageBytes                         int
	demo                                    string
	logLevel, logFormat                     string
	startSessionRate, loginRate, credRate   rateValue
	maxConnsPerAddress, maxStreamsPerConn   int
	maxInFlight                             int
	unaryBodyTimeout                        time.Duration
	publicURL, appsDir, keyEncryptionKey    string
	webhooksAllowPrivate                    bool
	pprofAddr                               string
}

// setting ties a flag to its environment variable.
type setting struct {
	name, env string
}

var settings = []setting{
	{"addr", "ASSIST_ADDR"},
	{"database-url", "ASSIST_DATABASE_URL"},
	{"data-dir", "ASSIST_DATA_DIR"},
	{"cors-origins", "ASSIST_CORS_ORIGINS"},
	{"max-message-bytes", "ASSIST_MAX_MESSAGE_BYTES"},
	{"demo", "ASSIST_DEMO"},
	{"log-level", "ASSIST_LOG_LEVEL"},
	{"log-format", "ASSIST_LOG_FORMAT"},
	{"rate-start-session", "ASSIST_RATE_START_SESSION"},
	{"rate-login", "ASSIST_RATE_LOGIN"},
	{"rate-per-credential", "ASSIST_RATE_PER_CREDENTIAL"},
	{"max-conns-per-address", "ASSIST_MAX_CONNS_PER_ADDRESS"},
	{"max-streams-per-conn", "ASSIST_MAX_STREAMS_PER_CONN"},
	{"max-in-flight", "ASSIST_MAX_IN_FLIGHT"},
	{"unary-body-timeout", "ASSIST_UNARY_BODY_TIMEOUT"},
	{"public-url", "ASSIST_PUBLIC_URL"},
	{"apps-dir", "ASSIST_APPS_DIR"},
	{"key-encryption-key", "ASSIST_KEY_ENCRYPTION_KEY"},
	{"webhooks-allow-private", "ASSIST_WEBHOOKS_ALLOW_PRIVATE"},
	{"pprof-addr", "ASSIST_PPROF_ADDR"},
}

func (o *options) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("assistd", flag.ContinueOnError)
	fs.Usage = func() {
		_, _ = fmt.Fprintf(fs.Output(), "Usage: assistd [flags]\n       assistd keys rotate [flags]   (see assistd keys --help)\n\nServes the Assist API on one port (Connect, gRPC, gRPC-Web).\nEach flag can also be set with the environment variable shown; a flag given\non the command line wins. Defaults are shown as (default ...).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	env := map[string]string{}
	for _, s := range settings {
		env[s.name] = s.env
	}
	help := func(name, text string) string { return text + " (" + env[name] + ")" }
	o.startSessionRate = rateValue(assistd.DefaultStartSessionRate)
	o.loginRate = rateValue(assistd.DefaultLoginRate)
	o.credRate = rateValue(assistd.DefaultCredentialRate)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", help("addr", "listen address"))
	fs.StringVar(&o.databaseURL, "database-url", "", help("database-url", "PostgreSQL URL; empty runs an embedded cluster in the data dir"))
	fs.StringVar(&o.dataDir, "data-dir", ".assist-data", help("data-dir", "data directory of the embedded PostgreSQL"))
	fs.StringVar(&o.corsOrigins, "cors-origins", "", help("cors-origins", "comma-separated browser origins allowed to call the API, or *"))
	fs.IntVar(&o.maxMessageBytes, "max-message-bytes", 1<<20, help("max-message-bytes", "largest request message accepted, in bytes"))
	fs.StringVar(&o.demo, "demo", "auto", help("demo", "create the demo account (published passwords) on start if missing: true, false, or auto = only with the embedded database"))
	fs.StringVar(&o.logLevel, "log-level", "info", help("log-level", "debug, info, warn or error"))
	fs.StringVar(&o.logFormat, "log-format", "text", help("log-format", "text or json"))
	fs.Var(&o.startSessionRate, "rate-start-session", help("rate-start-session", "StartSession calls per client address, as N/s, N/m, N/h, or off"))
	fs.Var(&o.loginRate, "rate-login", help("rate-login", "Login calls per client address, as N/s, N/m, N/h, or off"))
	fs.Var(&o.credRate, "rate-per-credential", help("rate-per-credential", "calls per bearer token or API key, as N/s, N/m, N/h, or off"))
	fs.IntVar(&o.maxConnsPerAddress, "max-conns-per-address", 512, help("max-conns-per-address", "connections one client address may hold; 0 for no limit"))
	fs.IntVar(&o.maxStreamsPerConn, "max-streams-per-conn", 250, help("max-streams-per-conn", "concurrent HTTP/2 streams per connection"))
	fs.IntVar(&o.maxInFlight, "max-in-flight", 20_000, help("max-in-flight", "requests served at once, streams included; 0 for no limit"))
	fs.DurationVar(&o.unaryBodyTimeout, "unary-body-timeout", 10*time.Second, help("unary-body-timeout", "time a unary call may take to send its request body"))
	fs.StringVar(&o.publicURL, "public-url", "", help("public-url", "base URL customers reach the server at, for opener links; empty: http://<addr>"))
	fs.StringVar(&o.appsDir, "apps-dir", assistd.DefaultAppsDir(), help("apps-dir", "folder of the customer app binaries served by opener links"))
	fs.StringVar(&o.keyEncryptionKey, "key-encryption-key", "", help("key-encryption-key", "32-byte key (hex or base64) that encrypts the opener signing keys stored in the database; empty stores them in clear"))
	fs.BoolVar(&o.webhooksAllowPrivate, "webhooks-allow-private", false, help("webhooks-allow-private", "let webhook endpoints resolve to loopback, private and link-local addresses"))
	fs.StringVar(&o.pprofAddr, "pprof-addr", "", help("pprof-addr", "serve Go's profiler (net/http/pprof) on this separate address, e.g. 127.0.0.1:6060; off when empty"))
	return fs
}

// fromEnvironment applies the environment variables of the flags not given
// on the command line. A bad value is refused, naming the variable.
func (o *options) fromEnvironment(fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range settings {
		v, ok := os.LookupEnv(s.env)
		if !ok || given[s.name] {
			continue
		}
		if err := fs.Set(s.name, v); err != nil {
			shown := v
			if s.name == "database-url" || s.name == "key-encryption-key" {
				shown = "(hidden)"
			}
			return fmt.Errorf("%s=%s: %w", s.env, shown, err)
		}
	}
	return nil
}

func (o *options) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", o.logLevel)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch o.logFormat {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want text or json, got %q", o.logFormat)
}

func (o *options) config(logger *slog.Logger) (assistd.Config, error) {
	seed := o.databaseURL == ""
	if o.demo != "auto" {
		b, err := strconv.ParseBool(o.demo)
		if err != nil {
			return assistd.Config{}, fmt.Errorf("--demo: want true, false or auto, got %q", o.demo)
		}
		seed = b
	}
	if o.maxMessageBytes < 1024 {
		return assistd.Config{}, fmt.Errorf("--max-message-bytes: want at least 1024, got %d", o.maxMessageBytes)
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"max-conns-per-address", o.maxConnsPerAddress}, {"max-in-flight", o.maxInFlight}, {"max-streams-per-conn", o.maxStreamsPerConn - 1}} {
		if c.v < 0 {
			return assistd.Config{}, fmt.Errorf("--%s: must not be negative", c.name)
		}
	}
	if o.unaryBodyTimeout <= 0 {
		return assistd.Config{}, fmt.Errorf("--unary-body-timeout: must be positive, got %s", o.unaryBodyTimeout)
	}
	var kek []byte
	if o.keyEncryptionKey != "" {
		var err error
		if kek, err = opener.ParseEncryptionKey(o.keyEncryptionKey); err != nil {
			return assistd.Config{}, fmt.Errorf("--key-encryption-key: %w", err)
		}
	}
	noLimit := func(n int) int {
		if n == 0 {
			return -1
		}
		return n
	}
	return assistd.Config{
		Addr:               o.addr,
		DatabaseURL:        o.databaseURL,
		DataDir:            o.dataDir,
		CORSAllowedOrigins: splitList(o.corsOrigins),
		MaxMessageBytes:    o.maxMessageBytes,
		SeedDemo:           seed,
		StartSessionRate:   limits.Rate(o.startSessionRate),
		LoginRate:          limits.Rate(o.loginRate),
		CredentialRate:     limits.Rate(o.credRate),
		MaxConnsPerAddress: noLimit(o.maxConnsPerAddress),
		MaxStreamsPerConn:  o.maxStreamsPerConn,
		MaxInFlight:        noLimit(o.maxInFlight),
		UnaryBodyTimeout:   o.unaryBodyTimeout,
		PublicURL:          o.publicURL,
		AppsDir:            o.appsDir,
		KeyEncryptionKey:   kek,
		Integrations:       assistd.Integrations{WebhooksAllowPrivate: o.webhooksAllowPrivate},
		Logger:             logger,
	}, nil
}

// rateValue is a flag holding a limits.Rate.
type rateValue limits.Rate

func (r *rateValue) String() string { return limits.Rate(*r).String() }

func (r *rateValue) Set(s string) error {
	v, err := limits.ParseRate(s)
	if err != nil {
		return err
	}
	*r = rateValue(v)
	return nil
}
