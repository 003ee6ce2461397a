package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/store"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

// DefaultSchedule is the wait before each retry (the Standard Webhooks
// reference schedule): 8 attempts over about 28 hours.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// AttemptTimeout bounds one attempt, connection included.
const AttemptTimeout = 15 * time.Second

// maxRetryAfter caps a Retry-After an endpoint asks for.
const maxRetryAfter = 24 * time.Hour

// Delivery states, as stored (the WebhookDeliveryState values).
const (
	statePending   = int16(assistv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING)
	stateSucceeded = int16(assistv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_SUCCEEDED)
	stateFailed    = int16(assistv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_FAILED)
)

// Dispatcher delivers the outbox. Every replica runs one; each endpoint is
// leased to one replica's worker at a time (a lease row claimed with FOR
// UPDATE SKIP LOCKED and renewed before every attempt), which sends that
// endpoint's deliveries one by one, in order. Endpoints have workers of
// their own, so a slow or failing one delays only itself.
type Dispatcher struct {
	store  *store.Store
	logger *slog.Logger
	client *http.Client
	owner  string
	// Schedule is the wait before each retry; after the last, the
	// delivery fails. Default DefaultSchedule.
	Schedule []time.Duration
	// Lease is how long a claim lasts without renewal. Default 30s.
	Lease time.Duration
	// ClaimInterval is how often due work is looked for without a
	// wake-up. Default 1s.
	ClaimInterval time.Duration

	wake    chan struct{}
	mu      sync.Mutex
	running map[uuid.UUID]bool
	wg      sync.WaitGroup
}

// NewDispatcher returns a dispatcher whose connections obey guard.
func NewDispatcher(s *store.Store, guard *Guard, logger *slog.Logger) *Dispatcher {
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: guard.dialControl}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial for us, past the guard
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: AttemptTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Dispatcher{
		store: s, logger: logger, owner: uuid.NewString(),
		client: &http.Client{
			Transport: transport,
			// A redirect is an answer, not a place to follow: it could
			// lead anywhere the guard has not seen.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Schedule: DefaultSchedule, Lease: 30 * time.Second, ClaimInterval: time.Second,
		wake: make(chan struct{}, 1), running: map[uuid.UUID]bool{},
	}
}

// claimSpacing is the least time between two claims.
const claimSpacing = 50 * time.Millisecond

// Wake makes the dispatcher look for due deliveries now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run claims endpoints with due deliveries and runs their workers until
// ctx ends; then it waits for them and gives its leases back, so another
// replica (or this one restarted) carries on at once.
func (d *Dispatcher) Run(ctx context.Context) {
	tick := time.NewTicker(d.ClaimInterval)
	defer tick.Stop()
	for {
		d.claim(ctx)
		// Wakes come with every new feed position: under load, claim at
		// most every claimSpacing rather than once per commit.
		select {
		case <-ctx.Done():
		case <-time.After(claimSpacing):
		}
		select {
		case <-ctx.Done():
			d.wg.Wait()
			release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = d.store.Q.WebhookEndpointsReleaseAll(release, d.store.Pool, &d.owner)
			cancel()
			return
		case <-d.wake:
		case <-tick.C:
		}
	}
}

func (d *Dispatcher) claim(ctx context.Context) {
	ids, err := d.store.Q.WebhookEndpointsClaim(ctx, d.store.Pool, dbq.WebhookEndpointsClaimParams{
		Owner: &d.owner, LeaseSeconds: d.Lease.Seconds(), MaxEndpoints: 100,
	})
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Warn("webhook claim failed", "error", err)
		}
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range ids {
		if d.running[id] {
			continue
		}
		d.running[id] = true
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.work(ctx, id)
		}()
	}
}

// work delivers one endpoint's deliveries in order while it holds the
// lease and has some due.
func (d *Dispatcher) work(ctx context.Context, endpointID uuid.UUID) {
	defer func() {
		d.mu.Lock()
		delete(d.running, endpointID)
		d.mu.Unlock()
	}()
	for ctx.Err() == nil {
		ep, err := d.store.Q.WebhookEndpointRenew(ctx, d.store.Pool, dbq.WebhookEndpointRenewParams{
			ID: endpointID, Owner: &d.owner, LeaseSeconds: d.Lease.Seconds(),
		})
		if err != nil {
			if !store.IsNotFound(err) && ctx.Err() == nil {
				d.logger.Warn("webhook lease renewal failed", "endpoint", endpointID, "error", err)
			}
			return // lease lost, endpoint disabled or deleted
		}
		head, err := d.store.Q.WebhookDeliveryHead(ctx, d.store.Pool, endpointID)
		if store.IsNotFound(err) {
			d.release(ctx, endpointID)
			return
		}
		if err != nil {
			if ctx.Err() == nil {
				d.logger.Warn("webhook read failed", "endpoint", endpointID, "error", err)
			}
			return
		}
		if wait := time.Until(head.NextAttemptTime); wait > 0 {
			// In order: later deliveries wait for this one. Sleep in
			// slices short enough to keep the lease.
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(wait, d.Lease/3)):
			}
			continue
		}
		d.attempt(ctx, ep, head)
	}
}

func (d *Dispatcher) release(ctx context.Context, endpointID uuid.UUID) {
	_ = d.store.Q.WebhookEndpointRelease(context.WithoutCancel(ctx), d.store.Pool, dbq.WebhookEndpointReleaseParams{ID: endpointID, Owner: &d.owner})
}

// attempt sends one delivery once and records the outcome.
func (d *Dispatcher) attempt(ctx context.Context, ep dbq.WebhookEndpointRenewRow, del dbq.WebhookDelivery) {
	secrets := []string{ep.Secret}
	if ep.PreviousSecret != nil && ep.PreviousSecretExpireTime != nil && time.Now().Before(*ep.PreviousSecretExpireTime) {
		secrets = append(secrets, *ep.PreviousSecret)
	}
	start := time.Now()
	status, retryAfter, sendErr := d.send(ctx, ep.Url, secrets, del)
	if ctx.Err() != nil {
		return // shutting down: not an attempt; it is sent again later
	}
	number := del.AttemptCount + 1
	attempt := dbq.WebhookAttemptInsertParams{
		DeliveryID: del.ID, Number: number, AttemptTime: start,
		StatusCode: int32(status), DurationMs: int32(time.Since(start).Milliseconds()),
	}
	if sendErr != nil {
		attempt.Error = sendErr.Error()
	}
	err := d.store.InTx(ctx, func(tx pgx.Tx) error {
		if err := d.store.Q.WebhookAttemptInsert(ctx, tx, attempt); err != nil {
			return err
		}
		switch {
		case status >= 200 && status < 300:
			return d.store.Q.WebhookDeliveryFinish(ctx, tx, dbq.WebhookDeliveryFinishParams{ID: del.ID, State: stateSucceeded})
		case status == http.StatusGone:
			if err := d.store.Q.WebhookDeliveryFinish(ctx, tx, dbq.WebhookDeliveryFinishParams{ID: del.ID, State: stateFailed}); err != nil {
				return err
			}
			d.logger.Info("webhook endpoint disabled: it answered 410 Gone", "endpoint", del.EndpointID)
			return d.store.Q.WebhookEndpointDisable(ctx, tx, dbq.WebhookEndpointDisableParams{ID: del.EndpointID, Reason: "the endpoint answered 410 Gone"})
		case int(number) > len(d.Schedule):
			d.logger.Info("webhook delivery failed for good", "endpoint", del.EndpointID, "delivery", del.ID, "attempts", number)
			return d.store.Q.WebhookDeliveryFinish(ctx, tx, dbq.WebhookDeliveryFinishParams{ID: del.ID, State: stateFailed})
		default:
			wait := d.Schedule[number-1]
			if retryAfter > 0 {
				wait = min(retryAfter, maxRetryAfter)
			}
			return d.store.Q.WebhookDeliveryRetry(ctx, tx, dbq.WebhookDeliveryRetryParams{ID: del.ID, NextAttemptTime: time.Now().Add(wait)})
		}
	})
	if err != nil && ctx.Err() == nil {
		d.logger.Warn("recording a webhook attempt failed", "delivery", del.ID, "error", err)
	}
}

// send POSTs the delivery; it returns the status (0: no answer), the
// Retry-After asked for, and why there was no answer.
func (d *Dispatcher) send(ctx context.Context, url string, secrets []string, del dbq.WebhookDelivery) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	headers, err := Headers(secrets, del.MessageID, time.Now(), del.Body)
	if err != nil {
		return 0, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(del.Body))
	if err != nil {
		return 0, 0, errors.New("invalid endpoint URL")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Assist-Webhooks/1")
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, 0, fmt.Errorf("no answer within %s", AttemptTimeout)
		}
		return 0, 0, errors.New(trimURLError(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After")), nil
}

// trimURLError drops the URL that net/http repeats in its errors.
func trimURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		return ue.Unwrap().Error()
	}
	return err.Error()
}

// parseRetryAfter reads seconds or an HTTP date; 0 if absent or invalid.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
