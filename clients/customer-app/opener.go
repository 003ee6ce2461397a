package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// trailerMagic ends an app binary that carries an opener: the app, the
// opener token, its length (4 bytes, big-endian), then this marker. assistd
// appends it when it serves the opener (server/internal/api, same format).
const trailerMagic = "ASSIST-OPENER-01"

// maxToken bounds what is read as a token (the server refuses longer ones).
const maxToken = 4096

// errNoTrailer means the file carries no opener.
var errNoTrailer = errors.New("no opener appended to this file")

// readTrailer returns the opener appended to the file at path.
func readTrailer(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	tail := int64(len(trailerMagic) + 4)
	if st.Size() < tail {
		return "", errNoTrailer
	}
	buf := make([]byte, tail)
	if _, err := f.ReadAt(buf, st.Size()-tail); err != nil {
		return "", err
	}
	if string(buf[4:]) != trailerMagic {
		return "", errNoTrailer
	}
	n := int64(binary.BigEndian.Uint32(buf[:4]))
	if n == 0 || n > maxToken || n > st.Size()-tail {
		return "", errNoTrailer
	}
	tok := make([]byte, n)
	if _, err := f.ReadAt(tok, st.Size()-tail-n); err != nil {
		return "", err
	}
	return string(tok), nil
}

// openerFrom reads the opener from an argument of `open`: an
// assist://open?token=… URL, a .assist file (holding such a URL or the bare
// token), or an opener binary.
func openerFrom(arg string) (string, error) {
	if strings.HasPrefix(arg, "assist:") {
		return tokenFromURL(arg)
	}
	if tok, err := readTrailer(arg); err == nil {
		return tok, nil
	} else if !errors.Is(err, errNoTrailer) {
		return "", err
	}
	f, err := os.Open(arg)
	if err != nil {
		return "", err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, 2*maxToken))
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if strings.HasPrefix(s, "assist:") {
		return tokenFromURL(s)
	}
	if s == "" || strings.ContainsAny(s, " \n\t\x00") {
		return "", fmt.Errorf("%s holds no opener", arg)
	}
	return s, nil
}

func tokenFromURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "assist" {
		return "", fmt.Errorf("not an assist:// link")
	}
	tok := u.Query().Get("token")
	if tok == "" {
		return "", fmt.Errorf("the assist:// link carries no token")
	}
	return tok, nil
}

// issuer reads the server URL an opener names (its iss claim), without
// verifying it: the server does that when the app redeems it.
func issuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the opener is malformed")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", errors.New("the opener is malformed")
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&claims); err != nil || claims.Iss == "" {
		return "", errors.New("the opener names no server")
	}
	u, err := url.Parse(claims.Iss)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("the opener names no valid server")
	}
	return claims.Iss, nil
}
