package limits

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect/v2"
	"connectrpc.com/connect/v2/connecthttp"
	"connectrpc.com/connect/v2/connectproto"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Config sets the limits. Each zero Rate or count turns its limit off.
type Config struct {
	// PerAddress limits calls per client address, for the procedures
	// listed (anonymous ones, such as starting a session or logging in,
	// where there is no credential to limit).
	PerAddress map[string]Rate
	// PerCredential limits every call carrying a bearer credential, per
	// credential, before it is even looked up.
	PerCredential Rate
	// MaxInFlight bounds the requests being served at once, streams
	// included.
	MaxInFlight int
	// UnaryBodyTimeout bounds the time a unary call may take to send its
	// request body, so that a client cannot hold requests open by never
	// finishing them. Unary lists the unary procedures.
	UnaryBodyTimeout time.Duration
	Unary            map[string]bool
	Logger           *slog.Logger
}

// Refused counts what the limits refused, by reason.
type Refused struct {
	Address, Credential, InFlight, Connections atomic.Int64
}

// Limiter applies Config to HTTP requests.
type Limiter struct {
	cfg         Config
	perAddress  map[string]*keyed
	perCred     *keyed
	inFlight    atomic.Int64
	errorWriter *connecthttp.ErrorWriter
	// Refused counts refusals since start.
	Refused Refused
	now     func() time.Time
}

// New returns a limiter for cfg.
func New(cfg Config) *Limiter {
	l := &Limiter{cfg: cfg, perAddress: map[string]*keyed{}, perCred: newKeyed(cfg.PerCredential), errorWriter: connecthttp.NewErrorWriter(), now: time.Now}
	for proc, r := range cfg.PerAddress {
		l.perAddress[proc] = newKeyed(r)
	}
	if l.cfg.Logger == nil {
		l.cfg.Logger = slog.Default()
	}
	return l
}

// Wrap returns next behind the limits. Refusals happen before the request
// body is read.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := l.now()
		if n := l.inFlight.Add(1); l.cfg.MaxInFlight > 0 && n > int64(l.cfg.MaxInFlight) {
			l.inFlight.Add(-1)
			l.Refused.InFlight.Add(1)
			l.refuse(w, r, "the server is at its limit of requests in flight", time.Second)
			return
		}
		defer l.inFlight.Add(-1)
		proc := r.URL.Path
		if k := l.perAddress[proc]; k != nil {
			if ok, wait := k.allow(clientAddress(r), now); !ok {
				l.Refused.Address.Add(1)
				l.refuse(w, r, "too many calls from this address", wait)
				return
			}
		}
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && token != "" {
			sum := sha256.Sum256([]byte(token))
			if ok, wait := l.perCred.allow(string(sum[:16]), now); !ok {
				l.Refused.Credential.Add(1)
				l.refuse(w, r, "too many calls with this credential", wait)
				return
			}
		}
		if l.cfg.UnaryBodyTimeout > 0 && l.cfg.Unary[proc] && r.Body != nil && r.Body != http.NoBody {
			// The deadline bounds the body's arrival; it is lifted once the
			// body is read, so a slow handler is not cut off by it.
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(now.Add(l.cfg.UnaryBodyTimeout)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// refuse answers ResourceExhausted in the caller's protocol, with the delay
// after which a retry can succeed (a RetryInfo detail, and Retry-After).
func (l *Limiter) refuse(w http.ResponseWriter, r *http.Request, msg string, wait time.Duration) {
	l.cfg.Logger.Debug("request refused by a limit", "procedure", r.URL.Path, "address", clientAddress(r), "reason", msg, "retry_after", wait)
	wait = max(wait, time.Millisecond)
	cerr := connect.NewError(connect.CodeResourceExhausted, fmt.Sprintf("%s: retry in %s", msg, wait.Round(time.Millisecond)))
	if detail, err := connectproto.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
		cerr = cerr.WithDetail(detail)
	}
	w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(wait.Seconds()))))
	if l.errorWriter.IsSupported(r) {
		_ = l.errorWriter.Write(w, r, cerr)
		return
	}
	http.Error(w, cerr.Message(), http.StatusTooManyRequests)
}

// deadlineBody lifts the read deadline once the whole body has arrived.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// clientAddress is the request's peer IP (proxies are not trusted).
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ConnectionsPerAddress wraps a listener so that one client address holds
// at most max connections; further ones are closed at once and counted.
func (l *Limiter) ConnectionsPerAddress(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitedListener{Listener: ln, max: max, open: map[string]int{}, refused: &l.Refused.Connections}
}

type limitedListener struct {
	net.Listener
	max     int
	refused *atomic.Int64
	mu      sync.Mutex
	open    map[string]int
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		ll.mu.Lock()
		if ll.open[host] >= ll.max {
			ll.mu.Unlock()
			ll.refused.Add(1)
			_ = c.Close()
			continue
		}
		ll.open[host]++
		ll.mu.Unlock()
		return &countedConn{Conn: c, release: func() {
			ll.mu.Lock()
			if ll.open[host]--; ll.open[host] <= 0 {
				delete(ll.open, host)
			}
			ll.mu.Unlock()
		}}, nil
	}
}

type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
