package assist

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// The Standard Webhooks reference vector: secret, id, timestamp, body and
// the signature every conforming implementation computes.
const (
	specSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTimestamp = "1614265330"
	specBody      = `{"test": 2432232314}`
	specSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

var specTime = time.Unix(1614265330, 0)

func specHeaders(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", specID)
	h.Set("webhook-timestamp", specTimestamp)
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyWebhookAcceptsTheSpecificationsVector(t *testing.T) {
	t.Parallel()
	if err := verifyWebhookAt(specTime, []string{specSecret}, specHeaders(specSignature), []byte(specBody), 0); err != nil {
		t.Fatalf("the Standard Webhooks reference vector was refused: %v", err)
	}
}

func TestVerifyWebhookAcceptsAnyOfSeveralSignaturesAndSecretsDuringARotation(t *testing.T) {
	t.Parallel()
	other := "whsec_" + "c2VjcmV0LW9mLWFub3RoZXIta2V5LTEyMzQ1Njc4OTA="
	// The sender signs with the new and the old secret; the receiver may
	// still know only the old one, or already only the new one.
	both := "v1,Zm9yZWlnbg== " + specSignature
	for name, secrets := range map[string][]string{
		"old secret only":         {specSecret},
		"new then old secret":     {other, specSecret},
		"old secret listed first": {specSecret, other},
	} {
		if err := verifyWebhookAt(specTime, secrets, specHeaders(both), []byte(specBody), 0); err != nil {
			t.Errorf("%s: refused a delivery carrying a valid signature among several: %v", name, err)
		}
	}
}

func TestVerifyWebhookRefusesForgeriesReplaysAndMissingHeaders(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		now     time.Time
		secrets []string
		headers http.Header
		body    string
		want    error
	}{
		{"tampered body", specTime, []string{specSecret}, specHeaders(specSignature), `{"test": 2432232315}`, ErrWebhookSignature},
		{"wrong secret", specTime, []string{"whsec_c2VjcmV0LW9mLWFub3RoZXIta2V5LTEyMzQ1Njc4OTA="}, specHeaders(specSignature), specBody, ErrWebhookSignature},
		{"unknown version", specTime, []string{specSecret}, specHeaders("v2," + specSignature[3:]), specBody, ErrWebhookSignature},
		{"replayed an hour later", specTime.Add(time.Hour), []string{specSecret}, specHeaders(specSignature), specBody, ErrWebhookTimestamp},
		{"from the future", specTime.Add(-time.Hour), []string{specSecret}, specHeaders(specSignature), specBody, ErrWebhookTimestamp},
		{"no signature", specTime, []string{specSecret}, specHeaders(""), specBody, ErrWebhookMissingHeaders},
		{"bad secret", specTime, []string{"whsec_!!!"}, specHeaders(specSignature), specBody, ErrWebhookSecret},
	}
	for _, c := range cases {
		err := verifyWebhookAt(c.now, c.secrets, c.headers, []byte(c.body), 0)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}
