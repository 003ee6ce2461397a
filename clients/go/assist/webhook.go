package assist

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Errors VerifyWebhook returns. Answer a request that fails verification
// with 401 (or 400) and do not act on it.
var (
	ErrWebhookMissingHeaders = errors.New("webhook: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrWebhookTimestamp      = errors.New("webhook: timestamp outside the tolerance (replayed or clock skew)")
	ErrWebhookSignature      = errors.New("webhook: no valid signature")
	ErrWebhookSecret         = errors.New("webhook: secret is not whsec_ + base64")
)

// DefaultWebhookTolerance is the Standard Webhooks recommendation for how
// far a webhook's timestamp may be from now.
const DefaultWebhookTolerance = 5 * time.Minute

// VerifyWebhook checks a webhook delivery following the Standard Webhooks
// specification: the `webhook-signature` header must hold at least one
// `v1,<base64 HMAC-SHA256>` over "<webhook-id>.<webhook-timestamp>.<body>"
// keyed with one of secrets (the `whsec_…` values; pass both the new and
// the old one during a rotation), and `webhook-timestamp` must be within
// tolerance of now (0: DefaultWebhookTolerance), which defeats replays.
// Deduplicate on `webhook-id`: delivery is at least once.
func VerifyWebhook(secrets []string, headers http.Header, body []byte, tolerance time.Duration) error {
	return verifyWebhookAt(time.Now(), secrets, headers, body, tolerance)
}

func verifyWebhookAt(now time.Time, secrets []string, headers http.Header, body []byte, tolerance time.Duration) error {
	id, ts, sigs := headers.Get("webhook-id"), headers.Get("webhook-timestamp"), headers.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookMissingHeaders
	}
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrWebhookTimestamp
	}
	for _, secret := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		if err != nil {
			return ErrWebhookSecret
		}
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range strings.Fields(sigs) {
			version, value, ok := strings.Cut(sig, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(value)
			if err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrWebhookSignature
}
