package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	assistv1 "github.com/assist-chat/assist/gen/go/assist/v1"
	"github.com/assist-chat/assist/server/internal/assisttest"
)

func chatHistoryPost(t *testing.T, env *assisttest.Env, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := http.PostForm(env.URL+"/chat-history", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body)
}

// "Save the chat history" is a form POST (the token in the body, never in
// a URL): the session's customer gets the .txt file after the end, in
// their language and zone, the same bytes each time; before the end,
// advisors, other tokens and GETs are refused.
func TestCustomerSavesTheChatHistoryAfterTheEndOnly(t *testing.T) {
	t.Parallel()
	env := assisttest.Start(t)
	ctx := context.Background()
	sid, customerToken, advisorToken := env.ActiveSession(t)
	if _, err := e2eSendText(ctx, env.Services(assisttest.Connect, customerToken).Chat, sid, "c1", "Bonjour, mon imprimante"); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"session_id": {sid}, "token": {customerToken}, "lang": {"fr"}, "time_zone": {"Europe/Paris"}}

	if res, body := chatHistoryPost(t, env, form); res.StatusCode != http.StatusConflict {
		t.Fatalf("before the end: got %s %q, want 409 Conflict", res.Status, body)
	}
	if _, err := env.Services(assisttest.Connect, advisorToken).Session.EndSession(ctx, &assistv1.EndSessionRequest{SessionId: sid, Outcome: assistv1.SessionOutcome_SESSION_OUTCOME_RESOLVED}); err != nil {
		t.Fatal(err)
	}
	res, body := chatHistoryPost(t, env, form)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("after the end: got %s %q, want 200", res.Status, body)
	}
	for header, want := range map[string]string{
		"Content-Type":           "text/plain; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := res.Header.Get(header); got != want {
			t.Errorf("%s: got %q, want %q", header, got, want)
		}
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="chat-history-`) || !strings.HasSuffix(cd, `.txt"`) {
		t.Errorf("Content-Disposition %q is not an attachment named chat-history-….txt", cd)
	}
	for _, want := range []string{"Historique de la discussion", "Portail: Demo support", "Europe/Paris", "Ada: Bonjour, mon imprimante", "La session est terminée"} {
		if !strings.Contains(body, want) {
			t.Errorf("the history lacks %q:\n%s", want, body)
		}
	}
	if _, again := chatHistoryPost(t, env, form); again != body {
		t.Errorf("the same log gave different bytes:\n%s\n---\n%s", body, again)
	}

	other := url.Values{"session_id": {sid}, "token": {advisorToken}}
	if res, body := chatHistoryPost(t, env, other); res.StatusCode != http.StatusForbidden {
		t.Errorf("an advisor's token: got %s %q, want 403", res.Status, body)
	}
	_, strangerToken := env.StartSession(t, "Stranger")
	if res, body := chatHistoryPost(t, env, url.Values{"session_id": {sid}, "token": {strangerToken}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("another customer's token: got %s %q, want 404", res.Status, body)
	}
	if res, body := chatHistoryPost(t, env, url.Values{"session_id": {sid}, "token": {"ast_cus_nope"}}); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unknown token: got %s %q, want 401", res.Status, body)
	}
	if res, body := chatHistoryPost(t, env, url.Values{"session_id": {"x"}, "token": {customerToken}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad session id: got %s %q, want 400", res.Status, body)
	}
	get, err := http.Get(env.URL + "/chat-history?session_id=" + sid + "&token=" + url.QueryEscape(customerToken))
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode == http.StatusOK {
		t.Errorf("a GET with the token in the URL is served; want it refused")
	}
}

// assistd serves the built apps on its own origin: HTML never cached,
// hashed assets cached for a year, and a strict Content-Security-Policy.
func TestAssistdServesTheAppsWithCachingAndAStrictPolicy(t *testing.T) {
	t.Parallel()
	webappRequire(t, browserRepoRoot(t))
	env := assisttest.Start(t)
	for _, path := range []string{"/p/demo", "/console"} {
		res, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %s, Cache-Control %q; want 200 no-cache", path, res.Status, res.Header.Get("Cache-Control"))
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("%s: Content-Security-Policy %q is not strict", path, csp)
		}
		asset := strings.SplitN(strings.SplitN(string(body), `src="`, 2)[1], `"`, 2)[0]
		res, err = http.Get(env.URL + asset)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("%s: %s, Cache-Control %q; want 200 and a long immutable cache", asset, res.Status, res.Header.Get("Cache-Control"))
		}
	}
}
