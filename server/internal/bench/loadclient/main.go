// Command loadclient is the bench's load: N sessions × 2 parties (a
// customer and an advisor), each party on its own connection, following its
// session and sending 150-byte messages, against either assistd (Connect
// over h2c, the generated Go client) or Centrifugo (its JSON protocol over
// WebSocket). It is run by benchrun, out of the server's process.
//
// It talks to benchrun on stdin/stdout: a line "MARK name" means "take a
// snapshot now" and waits for a line on stdin before going on; the marks are
// "base" (setup done, before any stream opens; idle mode only), "start"
// (every stream open and proven live, measuring begins) and "end". Lines
// starting with "progress" are for the operator. The last line is
// "RESULT {json}".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// options are the command-line flags.
type options struct {
	target          string
	url             string
	sessions        int
	streamsPerParty int
	mode            string
	duration        time.Duration
	rate            float64
	msgBytes        int
	replayEvents    int
	replayRounds    int
	secret          string
	assistAPI       string
}

// Result is what one run measured; benchrun decodes it.
type Result struct {
	Mode        string  `json:"mode"`
	Sessions    int     `json:"sessions"`
	Streams     int     `json:"streams"`
	Seconds     float64 `json:"seconds"`
	Acked       int64   `json:"acked"`
	Delivered   int64   `json:"delivered"`
	Undelivered int64   `json:"undelivered"`
	Errors      int64   `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	PerSecond   float64 `json:"per_second"`
	P50Ms       float64 `json:"p50_ms"`
	P90Ms       float64 `json:"p90_ms"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// Over20Ms is the share of deliveries (of replays, in replay mode)
	// that took longer than 20 ms, in percent: how wide the tail is.
	Over20Ms float64 `json:"over_20ms_pct"`
	Offered  float64 `json:"offered,omitempty"`
	Dropped  int64   `json:"dropped,omitempty"` // open loop: sends skipped, their party had too many pending
}

// party is one side of a session on its own connection.
type party interface {
	// send stores a message with that id and returns once it is acknowledged.
	send(ctx context.Context, id, text string) error
	// follow opens a stream (several for idle mode) that calls deliver with
	// the id of every message the other party sends.
	follow(ctx context.Context, deliver func(id string)) error
	close()
}

// backend creates sessions and their parties.
type backend interface {
	// session prepares session i and returns its two parties.
	session(ctx context.Context, i int) (customer, advisor party, err error)
	// replay measures reading events stored events from the start of one
	// session's log, rounds times.
	// It calls mark("start") and mark("end") around the timed replays.
	replay(ctx context.Context, events, rounds int, progress func(string), mark func(string)) ([]time.Duration, error)
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "assist", "assist or centrifugo")
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080", "server base URL")
	flag.IntVar(&o.sessions, "sessions", 1, "sessions, each with two parties on their own connections")
	flag.IntVar(&o.streamsPerParty, "streams-per-party", 1, "streams each party opens (idle mode)")
	flag.StringVar(&o.mode, "mode", "closed", "closed (back to back), open (fixed rate), idle (streams only) or replay")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time")
	flag.Float64Var(&o.rate, "rate", 2000, "offered messages per second over all parties (open mode)")
	flag.IntVar(&o.msgBytes, "bytes", 150, "message text size")
	flag.IntVar(&o.replayEvents, "replay-events", 1000, "stored events to replay (replay mode)")
	flag.IntVar(&o.replayRounds, "replay-rounds", 100, "replays to time (replay mode)")
	flag.StringVar(&o.secret, "secret", "", "Centrifugo's HMAC token secret")
	flag.StringVar(&o.assistAPI, "assist-api", "chat", "how Assist parties chat: chat (one bidi Chat stream each, through the Go client) or unary (Send calls and a Subscribe stream)")
	flag.Parse()
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadclient:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", b)
}

var stdin = bufio.NewScanner(os.Stdin)

// mark asks benchrun for a snapshot and waits for it.
func mark(name string) {
	fmt.Printf("MARK %s\n", name)
	stdin.Scan()
}

func progress(format string, args ...any) {
	fmt.Printf("progress "+format+"\n", args...)
}

func run(o options) (*Result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var be backend
	switch o.target {
	case "assist":
		be = newAssist(o)
	case "centrifugo":
		be = newCentrifugo(o)
	default:
		return nil, fmt.Errorf("-target: want assist or centrifugo, got %q", o.target)
	}
	if o.mode == "replay" {
		all, err := be.replay(ctx, o.replayEvents, o.replayRounds, func(s string) { progress("%s", s) }, mark)
		if err != nil {
			return nil, err
		}
		res := &Result{Mode: o.mode, Sessions: 1}
		res.setLatencies(all)
		return res, nil
	}

	// Sessions and their parties, a few at a time.
	parties := make([][2]party, o.sessions)
	{
		var wg sync.WaitGroup
		var firstErr error
		var mu sync.Mutex
		var done atomic.Int64
		sem := make(chan struct{}, 16)
		for i := range o.sessions {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c, a, err := be.session(ctx, i)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = fmt.Errorf("session %d: %w", i, err)
					}
					return
				}
				parties[i] = [2]party{c, a}
				if n := done.Add(1); n%100 == 0 {
					progress("%d/%d sessions ready", n, o.sessions)
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return nil, firstErr
		}
	}
	defer func() {
		for _, p := range parties {
			p[0].close()
			p[1].close()
		}
	}()
	if o.mode == "idle" {
		mark("base")
	}

	// Delivery bookkeeping: id → send time; a message counts when the other
	// party's stream shows it.
	var (
		sentAt     sync.Map
		latMu      sync.Mutex
		lats       []time.Duration
		delivered  atomic.Int64
		warmupLeft atomic.Int64
		warmDone   = make(chan struct{})
	)
	streamsPerParty := 1
	if o.mode == "idle" {
		streamsPerParty = o.streamsPerParty
	}
	// Every stream of the other party must see the warm-up message.
	warmupLeft.Store(int64(2 * o.sessions * streamsPerParty))
	deliver := func(id string) {
		if strings.HasPrefix(id, "warm-") {
			if warmupLeft.Add(-1) == 0 {
				close(warmDone)
			}
			return
		}
		v, ok := sentAt.LoadAndDelete(id)
		if !ok {
			return
		}
		d := time.Since(v.(time.Time))
		delivered.Add(1)
		latMu.Lock()
		lats = append(lats, d)
		latMu.Unlock()
	}
	{
		var wg sync.WaitGroup
		errs := make(chan error, 2*o.sessions*streamsPerParty)
		sem := make(chan struct{}, 32)
		for _, pp := range parties {
			for _, p := range pp {
				for range streamsPerParty {
					wg.Add(1)
					sem <- struct{}{}
					go func() {
						defer wg.Done()
						defer func() { <-sem }()
						if err := p.follow(ctx, deliver); err != nil {
							errs <- err
						}
					}()
				}
			}
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("open streams: %w", err)
		}
		progress("%d streams open; warming up", 2*o.sessions*streamsPerParty)
	}
	// Warm-up: one message from each party, seen on every stream of the
	// other one, proves every stream live before measuring.
	{
		var wg sync.WaitGroup
		errs := make(chan error, 2*o.sessions)
		sem := make(chan struct{}, 32)
		for i, pp := range parties {
			for j, p := range pp {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					if err := p.send(ctx, fmt.Sprintf("warm-%d-%d", i, j), "warm-up"); err != nil {
						errs <- err
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
		select {
		case <-warmDone:
		case <-time.After(2 * time.Minute):
			return nil, fmt.Errorf("warm-up: %d stream deliveries missing after 2 minutes", warmupLeft.Load())
		}
		progress("every stream live")
	}

	text := strings.Repeat("x", o.msgBytes)
	res := &Result{Mode: o.mode, Sessions: o.sessions, Streams: 2 * o.sessions * streamsPerParty}
	var acked, errCount atomic.Int64
	var firstErr atomic.Value
	fail := func(err error) {
		if errCount.Add(1) == 1 {
			firstErr.Store(err.Error())
		}
	}
	var sentInWindow, dropped atomic.Int64
	stop := make(chan struct{})
	var senders sync.WaitGroup
	tick := time.NewTicker(time.Second)
	defer tick.Stop()

	mark("start")
	start := time.Now()
	var partyN int
	switch o.mode {
	case "closed":
		for i, pp := range parties {
			for j, p := range pp {
				senders.Add(1)
				go func() {
					defer senders.Done()
					for k := 0; ; k++ {
						select {
						case <-stop:
							return
						default:
						}
						id := fmt.Sprintf("m-%d-%d-%d", i, j, k)
						sentAt.Store(id, time.Now())
						sentInWindow.Add(1)
						if err := p.send(ctx, id, text); err != nil {
							if _, ok := sentAt.LoadAndDelete(id); ok { // else delivered all the same
								sentInWindow.Add(-1)
							}
							fail(err)
							time.Sleep(10 * time.Millisecond)
							continue
						}
						select {
						case <-stop: // acknowledged after the window
						default:
							acked.Add(1)
						}
					}
				}()
			}
		}
	case "open":
		partyN = 2 * o.sessions
		interval := time.Duration(float64(partyN) / o.rate * float64(time.Second))
		res.Offered = o.rate
		// A saturated server must not turn the run into an endless backlog:
		// a party with maxInflight sends pending (2s of its schedule at
		// 2,000 msgs/s over 500 sessions) skips its turn (counted as
		// dropped), and sends still pending 5s after the window are
		// abandoned.
		const maxInflight = 4
		sendCtx, cancelSends := context.WithCancel(ctx)
		go func() {
			<-stop
			time.Sleep(5 * time.Second)
			cancelSends()
		}()
		for i, pp := range parties {
			for j, p := range pp {
				senders.Add(1)
				go func() {
					defer senders.Done()
					// A random phase spreads the parties over the interval.
					next := time.Now().Add(time.Duration(rand.Int64N(int64(interval))))
					var inflight sync.WaitGroup
					var pending atomic.Int64
					defer inflight.Wait()
					for k := 0; ; k++ {
						select {
						case <-stop:
							return
						case <-time.After(time.Until(next)):
						}
						at := next
						next = next.Add(interval)
						if pending.Load() >= maxInflight {
							dropped.Add(1)
							continue
						}
						id := fmt.Sprintf("m-%d-%d-%d", i, j, k)
						// Latency counts from the scheduled time: a late
						// sender is not excused.
						sentAt.Store(id, at)
						sentInWindow.Add(1)
						inflight.Add(1)
						pending.Add(1)
						go func() {
							defer inflight.Done()
							defer pending.Add(-1)
							if err := p.send(sendCtx, id, text); err != nil {
								if _, ok := sentAt.LoadAndDelete(id); ok { // else delivered all the same
									sentInWindow.Add(-1)
								}
								if sendCtx.Err() == nil {
									fail(err)
								}
								return
							}
							select {
							case <-stop:
							default:
								acked.Add(1)
							}
						}()
					}
				}()
			}
		}
	case "idle":
	default:
		return nil, fmt.Errorf("-mode: want closed, open, idle or replay, got %q", o.mode)
	}
	deadline := time.After(o.duration)
wait:
	for {
		select {
		case <-deadline:
			break wait
		case <-tick.C:
			if o.mode != "idle" {
				progress("%4.0fs  %d acked  %d delivered", time.Since(start).Seconds(), acked.Load(), delivered.Load())
			}
		}
	}
	close(stop)
	elapsed := time.Since(start)
	mark("end")
	senders.Wait()
	// Deliveries of messages sent in the window may still be on their way.
	for range 100 {
		if delivered.Load() >= sentInWindow.Load() {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.Seconds = elapsed.Seconds()
	res.Acked = acked.Load()
	res.Delivered = delivered.Load()
	res.Undelivered = sentInWindow.Load() - res.Delivered
	res.Errors = errCount.Load()
	res.Dropped = dropped.Load()
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	res.PerSecond = float64(res.Acked) / res.Seconds
	latMu.Lock()
	res.setLatencies(lats)
	latMu.Unlock()
	return res, nil
}

// setLatencies sets the quantiles, in milliseconds, and the share over
// 20 ms of the latencies all.
func (res *Result) setLatencies(all []time.Duration) {
	if len(all) == 0 {
		return
	}
	s := slices.Clone(all)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	at := func(q float64) float64 { return ms(s[int(q*float64(len(s)-1))]) }
	res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs = at(0.50), at(0.90), at(0.99), ms(s[len(s)-1])
	within, _ := slices.BinarySearch(s, 20*time.Millisecond+1)
	res.Over20Ms = 100 * float64(len(s)-within) / float64(len(s))
}
