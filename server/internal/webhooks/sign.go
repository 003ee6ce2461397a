// Package webhooks sends the account's events to the endpoints admins
// register, signed following the Standard Webhooks specification: an outbox
// written with the events, per-endpoint workers that deliver in order with
// retries, and the guard that keeps deliveries off private networks.
package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// secretPrefix marks Standard Webhooks secrets.
const secretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: whsec_ + base64 of 32 random
// bytes.
func NewSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b[:])
}

// secretKey is the HMAC key of a whsec_ secret: its base64-decoded part.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("webhook secret is not whsec_ + base64: %w", err)
	}
	return key, nil
}

// Sign returns the `webhook-signature` value for one secret:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func Sign(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(timestamp.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Headers returns the Standard Webhooks headers of a delivery signed with
// every given secret (several during a rotation), space-separated.
func Headers(secrets []string, msgID string, timestamp time.Time, body []byte) (map[string]string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, msgID, timestamp, body)
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, sig)
	}
	return map[string]string{
		"webhook-id":        msgID,
		"webhook-timestamp": strconv.FormatInt(timestamp.Unix(), 10),
		"webhook-signature": strings.Join(sigs, " "),
	}, nil
}
