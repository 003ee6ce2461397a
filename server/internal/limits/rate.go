// Package limits bounds what one client can take from the server: request
// rates per client address and per credential, connections per address,
// requests in flight, and the time to send a unary request's body. Refused
// calls get ResourceExhausted with a retry delay, and are counted.
package limits

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a sustained rate with a burst of the same size: "30/m" allows
// 30 calls at once, then one every two seconds. Off (N < 0, or the zero
// Rate where no default applies) limits nothing.
type Rate struct {
	N      int
	Period time.Duration
}

// RateOff turns a limit off where the zero Rate means a default.
var RateOff = Rate{N: -1}

// Off reports whether the rate limits nothing.
func (r Rate) Off() bool { return r.N <= 0 || r.Period <= 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "m", time.Hour: "h"}[r.Period]
	return fmt.Sprintf("%d/%s", r.N, unit)
}

// ParseRate reads "N/s", "N/m", "N/h" or "off".
func ParseRate(s string) (Rate, error) {
	if s == "off" || s == "0" {
		return RateOff, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	period, known := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok || err != nil || count <= 0 || !known {
		return Rate{}, fmt.Errorf("want N/s, N/m, N/h or off (e.g. 30/m), got %q", s)
	}
	return Rate{N: count, Period: period}, nil
}

// keyed holds one token bucket per key (a client address, a credential),
// forgetting keys idle long enough to be full again.
type keyed struct {
	rate Rate
	mu   sync.Mutex
	m    map[string]*bucket
	last time.Time // last sweep
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newKeyed(r Rate) *keyed { return &keyed{rate: r, m: map[string]*bucket{}} }

// allow takes one token for key, or says how long until one is free.
func (k *keyed) allow(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	if k == nil || k.rate.Off() {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.Sub(k.last) > k.rate.Period {
		// A bucket idle for a whole period is full: forgetting it changes
		// nothing, and keeps the map as small as the active clients.
		for key, b := range k.m {
			if now.Sub(b.seen) > k.rate.Period {
				delete(k.m, key)
			}
		}
		k.last = now
	}
	b := k.m[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(k.rate.N)/k.rate.Period.Seconds()), k.rate.N)}
		k.m[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
