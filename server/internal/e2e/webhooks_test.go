package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect/v2"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/assist-chat/assist/clients/go/assist"
	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assistd"
	"github.com/assist-chat/assist/server/internal/assisttest"
	"github.com/assist-chat/assist/server/internal/pgtest"
)

// intPatient is intFast with enough quick retries that no delivery fails
// for good during a test.
func intPatient(c *assistd.Config) {
	intFast(c)
	c.Integrations.WebhookRetrySchedule = slices.Repeat([]time.Duration{200 * time.Millisecond}, 300)
}

// hookRequest is one delivery attempt a receiver saw.
type hookRequest struct {
	header   http.Header
	body     []byte
	at       time.Time
	status   int
	typ      string
	position int64
}

// hookReceiver is a real HTTP receiver; respond decides each answer from
// the number of requests seen before.
type hookReceiver struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	all     []hookRequest
	respond func(n int, w http.ResponseWriter) int
}

func newHookReceiver(t *testing.T, respond func(n int, w http.ResponseWriter) int) *hookReceiver {
	r := &hookReceiver{t: t, respond: respond}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		var ev assistv1.AccountEvent
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("webhook body is not JSON: %v: %s", err, body)
		} else if err := protojson.Unmarshal(env.Data, &ev); err != nil {
			t.Errorf("webhook data is not an AccountEvent: %v: %s", err, env.Data)
		}
		r.mu.Lock()
		n := len(r.all)
		r.mu.Unlock()
		status := http.StatusOK
		if r.respond != nil {
			status = r.respond(n, w)
		}
		r.mu.Lock()
		r.all = append(r.all, hookRequest{header: req.Header.Clone(), body: body, at: time.Now(), status: status, typ: env.Type, position: ev.GetPosition()})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookRequest(nil), r.all...)
}

// succeeded returns the positions answered 2xx, in arrival order.
func (r *hookReceiver) succeeded() []int64 {
	var out []int64
	for _, q := range r.requests() {
		if q.status/100 == 2 {
			out = append(out, q.position)
		}
	}
	return out
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// storedCount is how many events the database holds.
func storedCount(t *testing.T, env *assisttest.Env) int64 {
	t.Helper()
	var n int64
	if err := env.Server.Store().Pool.QueryRow(context.Background(), "SELECT count(*) FROM session_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sendMessages(t *testing.T, ctx context.Context, env *assisttest.Env, sid, token, prefix string, n int) {
	t.Helper()
	chat := env.Services(assisttest.Connect, token).Chat
	for i := range n {
		if _, err := e2eSendText(ctx, chat, sid, fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("%s %d", prefix, i)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
}

// Deliveries reach a real receiver signed with the Standard Webhooks
// algorithm, each event once on success, in position order; a 503 with
// Retry-After and a 500 are retried (Retry-After honoured); the attempts
// are listed; a replay resends the same message; after a rotation both the
// new and the old secret verify.
func TestWebhooksAreSignedRetriedAndDeliveredInOrder(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intFast)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	recv := newHookReceiver(t, func(n int, w http.ResponseWriter) int {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			return http.StatusServiceUnavailable
		case 1:
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	admin := intHooks(env, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	created, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: recv.srv.URL + "/hooks", Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	secret := created.GetSecret()
	sid, customerToken, _ := env.ActiveSession(t)
	sendMessages(t, ctx, env, sid, customerToken, "hello", 10)
	want := storedCount(t, env)
	waitFor(t, 20*time.Second, "every event delivered", func() bool { return int64(len(recv.succeeded())) >= want })

	reqs := recv.requests()
	for i, q := range reqs {
		if err := assist.VerifyWebhook([]string{secret}, q.header, q.body, 0); err != nil {
			t.Errorf("request %d does not verify with the endpoint's secret: %v", i, err)
		}
		if err := assist.VerifyWebhook([]string{"whsec_" + "c2VjcmV0LW9mLWFub3RoZXIta2V5LTEyMzQ1Njc4OTA="}, q.header, q.body, 0); err == nil {
			t.Errorf("request %d verifies with a foreign secret", i)
		}
		if i > 0 && q.position < reqs[i-1].position {
			t.Errorf("request %d carries position %d after position %d: out of order", i, q.position, reqs[i-1].position)
		}
	}
	for i, p := range recv.succeeded() {
		if p != int64(i+1) {
			t.Fatalf("successful deliveries carry positions %v, want 1..%d once each in order", recv.succeeded(), want)
		}
	}
	if reqs[0].typ != "session.started" || reqs[0].header.Get("webhook-id") != reqs[1].header.Get("webhook-id") || reqs[1].header.Get("webhook-id") != reqs[2].header.Get("webhook-id") {
		t.Errorf("the first three requests: types %q, ids %q %q %q; want session.started retried under one webhook-id",
			reqs[0].typ, reqs[0].header.Get("webhook-id"), reqs[1].header.Get("webhook-id"), reqs[2].header.Get("webhook-id"))
	}
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 900*time.Millisecond {
		t.Errorf("the retry after a 503 with Retry-After: 1 came %v later, want about 1s", gap)
	}

	// The attempts are on record.
	list, err := admin.ListWebhookDeliveries(ctx, &assistv1.ListWebhookDeliveriesRequest{EndpointId: created.GetEndpoint().GetId(), PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	var first *assistv1.WebhookDelivery
	for _, d := range list.GetDeliveries() {
		if d.GetPosition() == 1 {
			first = d
		}
	}
	if first == nil || first.GetState() != assistv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_SUCCEEDED || len(first.GetAttempts()) != 3 ||
		first.GetAttempts()[0].GetStatusCode() != 503 || first.GetAttempts()[1].GetStatusCode() != 500 || first.GetAttempts()[2].GetStatusCode() != 204 {
		t.Fatalf("the first delivery: %v, want SUCCEEDED after attempts 503, 500, 204", first)
	}
	if int64(len(list.GetDeliveries())) != want {
		t.Errorf("%d deliveries listed, want %d", len(list.GetDeliveries()), want)
	}

	// A replay resends the same message.
	before := len(recv.requests())
	if _, err := admin.ReplayWebhookDelivery(ctx, &assistv1.ReplayWebhookDeliveryRequest{DeliveryId: first.GetId()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the replay delivered", func() bool { return len(recv.requests()) > before })
	replayed := recv.requests()[before]
	if replayed.header.Get("webhook-id") != first.GetMessageId() || string(replayed.body) != first.GetBody() {
		t.Errorf("the replay carried id %q and body %s, want the original %q and %s", replayed.header.Get("webhook-id"), replayed.body, first.GetMessageId(), first.GetBody())
	}

	// After a rotation, deliveries verify with the new secret and, during
	// the grace period, with the old one.
	rotated, err := admin.RotateWebhookSecret(ctx, &assistv1.RotateWebhookSecretRequest{EndpointId: created.GetEndpoint().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	before = len(recv.requests())
	sendMessages(t, ctx, env, sid, customerToken, "after-rotation", 1)
	waitFor(t, 10*time.Second, "a delivery after the rotation", func() bool { return len(recv.requests()) > before })
	q := recv.requests()[before]
	if err := assist.VerifyWebhook([]string{rotated.GetSecret()}, q.header, q.body, 0); err != nil {
		t.Errorf("after a rotation, the new secret does not verify: %v", err)
	}
	if err := assist.VerifyWebhook([]string{secret}, q.header, q.body, 0); err != nil {
		t.Errorf("during the rotation's grace period, the old secret does not verify: %v", err)
	}
}

// A hanging endpoint and a failing one delay only themselves: a healthy
// endpoint gets every event promptly; an endpoint answering 410 Gone is
// disabled.
func TestFailingWebhookEndpointsDoNotDelayAHealthyOne(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intPatient)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	release := make(chan struct{})
	hanging := newHookReceiver(t, func(int, http.ResponseWriter) int {
		select {
		case <-release:
		case <-time.After(30 * time.Second):
		}
		return http.StatusOK
	})
	t.Cleanup(func() { close(release) }) // runs before the receiver closes
	failing := newHookReceiver(t, func(int, http.ResponseWriter) int { return http.StatusInternalServerError })
	gone := newHookReceiver(t, func(int, http.ResponseWriter) int { return http.StatusGone })
	healthy := newHookReceiver(t, nil)
	admin := intHooks(env, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	ids := map[string]string{}
	for name, r := range map[string]*hookReceiver{"hanging": hanging, "failing": failing, "gone": gone, "healthy": healthy} {
		res, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: r.srv.URL, Description: name})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = res.GetEndpoint().GetId()
	}
	sid, customerToken, _ := env.ActiveSession(t)
	sendMessages(t, ctx, env, sid, customerToken, "m", 10)
	want := storedCount(t, env)
	start := time.Now()
	waitFor(t, 10*time.Second, "the healthy endpoint got every event", func() bool { return int64(len(healthy.succeeded())) >= want })
	t.Logf("healthy endpoint complete %v after the last send", time.Since(start))
	if n := len(hanging.requests()); n > 1 {
		t.Errorf("the hanging endpoint got %d requests, want its first delivery still in flight (in order)", n)
	}
	waitFor(t, 10*time.Second, "the failing endpoint retried", func() bool { return len(failing.requests()) >= 2 })
	for _, q := range failing.requests() {
		if q.position != 1 {
			t.Errorf("the failing endpoint got position %d before position 1 succeeded", q.position)
		}
	}
	waitFor(t, 10*time.Second, "the 410 endpoint disabled", func() bool {
		list, err := admin.ListWebhookEndpoints(ctx, &assistv1.ListWebhookEndpointsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ep := range list.GetEndpoints() {
			if ep.GetId() == ids["gone"] {
				return ep.GetDisabled() && ep.GetDisabledReason() != ""
			}
		}
		return false
	})
	if n := len(gone.requests()); n != 1 {
		t.Errorf("the 410 endpoint got %d requests, want 1 (then disabled)", n)
	}
}

// Deliveries queued while the receiver is down survive a restart of
// assistd: the next process on the same database sends every one.
func TestWebhookDeliveriesSurviveARestart(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	first := assisttest.StartOn(t, db, intPatient)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var down atomic.Bool
	down.Store(true)
	recv := newHookReceiver(t, func(int, http.ResponseWriter) int {
		if down.Load() {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	admin := intHooks(first, first.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	if _, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: recv.srv.URL}); err != nil {
		t.Fatal(err)
	}
	sid, customerToken, _ := first.ActiveSession(t)
	sendMessages(t, ctx, first, sid, customerToken, "before", 5)
	waitFor(t, 10*time.Second, "the receiver refused a first attempt", func() bool { return len(recv.requests()) > 0 })
	// These may not even be sequenced before the stop.
	sendMessages(t, ctx, first, sid, customerToken, "last", 3)
	if err := first.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	down.Store(false)
	second := assisttest.StartOn(t, db, intPatient)
	want := storedCount(t, second)
	waitFor(t, 30*time.Second, "every event delivered after the restart", func() bool {
		got := map[int64]bool{}
		for _, p := range recv.succeeded() {
			got[p] = true
		}
		return int64(len(got)) >= want
	})
	got := recv.succeeded()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	if got[0] != 1 || got[len(got)-1] != want {
		t.Errorf("positions delivered %v, want 1..%d", got, want)
	}
}

// Without --webhooks-allow-private, endpoints on loopback, private or
// link-local addresses are refused at registration and on update.
func TestWebhookEndpointsOnPrivateAddressesAreRefused(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin := intHooks(env, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	for _, u := range []string{"http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest", "http://[::1]/hook", "ftp://93.184.215.14/hook"} {
		_, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: u})
		e2eWantCode(t, err, connect.CodeInvalidArgument, "CreateWebhookEndpoint "+u)
	}
	res, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: "https://93.184.215.14/hook"})
	if err != nil {
		t.Fatalf("a public address was refused: %v", err)
	}
	_, err = admin.UpdateWebhookEndpoint(ctx, &assistv1.UpdateWebhookEndpointRequest{EndpointId: res.GetEndpoint().GetId(), Url: new("http://192.168.1.1/hook")})
	e2eWantCode(t, err, connect.CodeInvalidArgument, "UpdateWebhookEndpoint to a private address")
}

// Two replicas on one database deliver to an endpoint through one lease:
// never two requests at once, every event once, in order.
func TestWebhookDeliveriesFromTwoReplicasAreSerialPerEndpoint(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	a := assisttest.StartOn(t, db, intPatient)
	b := assisttest.StartOn(t, db, intPatient)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var inflight, maxInflight atomic.Int32
	recv := newHookReceiver(t, func(int, http.ResponseWriter) int {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
		return http.StatusOK
	})
	admin := intHooks(a, a.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	if _, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: recv.srv.URL}); err != nil {
		t.Fatal(err)
	}
	sa, ca, _ := a.ActiveSession(t)
	sb, cb, _ := b.ActiveSession(t)
	for i := range 10 {
		sendMessages(t, ctx, a, sa, ca, fmt.Sprintf("a%d", i), 1)
		sendMessages(t, ctx, b, sb, cb, fmt.Sprintf("b%d", i), 1)
	}
	want := storedCount(t, a)
	waitFor(t, 30*time.Second, "every event delivered", func() bool { return int64(len(recv.succeeded())) >= want })
	if m := maxInflight.Load(); m != 1 {
		t.Errorf("up to %d requests were in flight at once to one endpoint, want 1", m)
	}
	for i, p := range recv.succeeded() {
		if p != int64(i+1) {
			t.Fatalf("deliveries carried positions %v, want 1..%d once each in order", recv.succeeded(), want)
		}
	}
}

// An endpoint's URL, description, event types and state change with
// UpdateWebhookEndpoint; a disabled endpoint gets nothing, and only the
// types it wants once enabled again.
func TestWebhookEndpointUpdatesTakeEffect(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t, intPatient)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recv := newHookReceiver(t, nil)
	admin := intHooks(env, env.Login(t, assisttest.AdminEmail, assisttest.AdminPassword))
	created, err := admin.CreateWebhookEndpoint(ctx, &assistv1.CreateWebhookEndpointRequest{Url: "http://127.0.0.1:9/old"})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetEndpoint().GetId()
	upd, err := admin.UpdateWebhookEndpoint(ctx, &assistv1.UpdateWebhookEndpointRequest{EndpointId: id, Disabled: new(true)})
	if err != nil || !upd.GetEndpoint().GetDisabled() || upd.GetEndpoint().GetDisabledReason() == "" {
		t.Fatalf("disable: %v (%v), want a disabled endpoint with a reason", upd.GetEndpoint(), err)
	}
	sid, customerToken, _ := env.ActiveSession(t)
	sendMessages(t, ctx, env, sid, customerToken, "while-disabled", 2)
	// Deliveries follow the endpoint as it is when an event is sequenced:
	// wait for these to be.
	waitFor(t, 10*time.Second, "the messages sent while disabled sequenced", func() bool {
		var fed, last int64
		_ = env.Server.Store().Pool.QueryRow(ctx, "SELECT coalesce(f.fed_seq, 0), s.last_seq FROM sessions s LEFT JOIN feed_sessions f ON f.session_id = s.id WHERE s.id = $1", sid).Scan(&fed, &last)
		return last > 0 && fed == last
	})
	message := assistv1.AccountEventType_ACCOUNT_EVENT_TYPE_MESSAGE
	upd, err = admin.UpdateWebhookEndpoint(ctx, &assistv1.UpdateWebhookEndpointRequest{
		EndpointId: id, Url: new(recv.srv.URL), Description: new("messages only"),
		EventTypes: &assistv1.WebhookEventTypes{Types: []assistv1.AccountEventType{message}}, Disabled: new(false),
	})
	e := upd.GetEndpoint()
	if err != nil || e.GetDisabled() || e.GetDisabledReason() != "" || e.GetUrl() != recv.srv.URL || e.GetDescription() != "messages only" || len(e.GetEventTypes()) != 1 {
		t.Fatalf("update: %v (%v), want the new URL, description, types, enabled", e, err)
	}
	sendMessages(t, ctx, env, sid, customerToken, "after", 2)
	waitFor(t, 10*time.Second, "the two messages after enabling", func() bool { return len(recv.succeeded()) >= 2 })
	time.Sleep(300 * time.Millisecond)
	for _, q := range recv.requests() {
		if q.typ != "session.message" {
			t.Errorf("got a %s delivery, want messages only", q.typ)
		}
	}
	if n := len(recv.requests()); n != 2 {
		t.Errorf("got %d deliveries, want the 2 messages sent after enabling", n)
	}
}
