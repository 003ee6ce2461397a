package main

import (
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeToken is a JWT-shaped opener naming server as its issuer.
func fakeToken(server string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"EdDSA","kid":"k"}`)) + "." + enc([]byte(`{"iss":"`+server+`","sid":"s"}`)) + ".c2ln"
}

func appendOpener(t *testing.T, path, token string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := append([]byte(token), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(token):], uint32(len(token)))
	if _, err := f.Write(append(b, trailerMagic...)); err != nil {
		t.Fatal(err)
	}
}

func TestTheAppFindsItsOpenerInEveryForm(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tok := fakeToken("https://assist.example")
	bin := filepath.Join(dir, "Assist-Customer-1234")
	if err := os.WriteFile(bin, []byte(strings.Repeat("\x7fELF binary bytes ", 1000)), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := readTrailer(bin); err != errNoTrailer {
		t.Errorf("a binary without opener: %v, want errNoTrailer", err)
	}
	appendOpener(t, bin, tok)
	assistFile := filepath.Join(dir, "opener.assist")
	if err := os.WriteFile(assistFile, []byte("assist://open?token="+tok+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(dir, "bare.assist")
	if err := os.WriteFile(bare, []byte(tok), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arg := range []string{bin, assistFile, bare, "assist://open?token=" + tok} {
		got, err := openerFrom(arg)
		if err != nil || got != tok {
			t.Errorf("openerFrom(%s) = %q, %v; want the token", arg, got, err)
		}
	}
	if got, err := issuer(tok); err != nil || got != "https://assist.example" {
		t.Errorf("issuer = %q, %v; want the server the opener names", got, err)
	}
	for _, bad := range []string{"assist://open", "assist://open?token=", filepath.Join(dir, "missing")} {
		if _, err := openerFrom(bad); err == nil {
			t.Errorf("openerFrom(%q) found an opener", bad)
		}
	}
	for _, bad := range []string{"x", "a.b.c", fakeToken("ftp://x"), fakeToken("")} {
		if _, err := issuer(bad); err == nil {
			t.Errorf("issuer(%q) accepted it", bad)
		}
	}
}
