package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/assist-chat/assist/server/internal/failure"
	"github.com/assist-chat/assist/server/internal/store/dbq"
)

func TestSignMatchesTheStandardWebhooksReferenceVector(t *testing.T) {
	t.Parallel()
	got, err := Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %q, want the specification's %q", got, want)
	}
}

func TestHeadersCarryOneSignaturePerSecret(t *testing.T) {
	t.Parallel()
	h, err := Headers([]string{NewSecret(), NewSecret()}, "msg_1", time.Unix(1, 0), []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	if sigs := strings.Fields(h["webhook-signature"]); len(sigs) != 2 || !strings.HasPrefix(sigs[0], "v1,") {
		t.Fatalf("webhook-signature %q: want two space-separated v1 signatures", h["webhook-signature"])
	}
	if h["webhook-id"] != "msg_1" || h["webhook-timestamp"] != "1" {
		t.Fatalf("headers %v: want webhook-id msg_1 and webhook-timestamp 1", h)
	}
}

func TestRegistrationRefusesURLsThatAreNotPublicHTTP(t *testing.T) {
	t.Parallel()
	g := &Guard{}
	for _, u := range []string{
		"ftp://example.com/hook", "/relative", "http://", "http://127.0.0.1:8080/hook",
		"http://localhost/hook", "http://api.localhost/hook", "http://10.1.2.3/hook",
		"http://192.168.0.10/hook", "http://172.16.5.4/hook", "http://169.254.169.254/latest/meta-data",
		"http://[::1]/hook", "http://[fe80::1]/hook", "http://[fd00::1]/hook", "http://0.0.0.0/hook",
		"http://100.64.0.1/hook", "http://user:pw@93.184.215.14/hook",
	} {
		err := g.CheckURL(context.Background(), "url", u)
		if !failure.IsKind(err, failure.KindInvalidArgument) {
			t.Errorf("%s: got %v, want InvalidArgument", u, err)
		}
	}
	for _, u := range []string{"https://93.184.215.14/hook", "http://[2606:4700::1]:8443/x"} {
		if err := g.CheckURL(context.Background(), "url", u); err != nil {
			t.Errorf("%s: a public address was refused: %v", u, err)
		}
	}
	if err := (&Guard{AllowPrivate: true}).CheckURL(context.Background(), "url", "http://127.0.0.1:1/hook"); err != nil {
		t.Errorf("with private addresses allowed, loopback was refused: %v", err)
	}
}

// A host that resolved to a public address at registration may resolve to
// a private one later (DNS rebinding): the dialer checks every connection.
func TestDeliveriesNeverConnectToPrivateAddressesEvenIfRegistrationPassed(t *testing.T) {
	t.Parallel()
	hit := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit <- struct{}{} }))
	defer srv.Close()
	d := NewDispatcher(nil, &Guard{}, nil)
	status, _, err := d.send(context.Background(), srv.URL, []string{NewSecret()}, dbq.WebhookDelivery{MessageID: "msg_1", Body: []byte("{}")})
	if err == nil || status != 0 || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("delivery to %s: status %d, error %v; want the dial refused", srv.URL, status, err)
	}
	select {
	case <-hit:
		t.Fatal("the loopback receiver was reached")
	default:
	}
	allowed := NewDispatcher(nil, &Guard{AllowPrivate: true}, nil)
	if status, _, err := allowed.send(context.Background(), srv.URL, []string{NewSecret()}, dbq.WebhookDelivery{MessageID: "msg_1", Body: []byte("{}")}); err != nil || status != 200 {
		t.Fatalf("with private addresses allowed: status %d, error %v; want 200", status, err)
	}
}

func TestRetryAfterIsReadAsSecondsOrADate(t *testing.T) {
	t.Parallel()
	if got := parseRetryAfter("120"); got != 2*time.Minute {
		t.Errorf("Retry-After: 120 read as %v, want 2m", got)
	}
	if got := parseRetryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); got < 59*time.Minute || got > time.Hour {
		t.Errorf("Retry-After an hour ahead read as %v, want about 1h", got)
	}
	if got := parseRetryAfter("soon"); got != 0 {
		t.Errorf("Retry-After: soon read as %v, want 0 (ignored)", got)
	}
}
