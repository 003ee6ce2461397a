package webapp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/assist-chat/assist/server/internal/webapp"
)

func serve(t *testing.T, apps *webapp.Apps, path string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	apps.Mount(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

func TestPagesSayToRunMakeWebWhenTheAppsAreNotBuilt(t *testing.T) {
	t.Parallel()
	apps := webapp.FromFS(fstest.MapFS{})
	for _, path := range []string{"/p/demo", "/console"} {
		rec := serve(t, apps, path)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make web") {
			t.Fatalf("%s without built apps: %d %q, want 503 saying to run make web", path, rec.Code, rec.Body.String())
		}
	}
}

func TestPagesAreNeverCachedAndHashedAssetsAreCachedForAYear(t *testing.T) {
	t.Parallel()
	apps := webapp.FromFS(fstest.MapFS{
		"customer.html":       {Data: []byte("<!doctype html><title>customer</title>")},
		"console.html":        {Data: []byte("<!doctype html><title>console</title>")},
		"assets/app-1234.js":  {Data: []byte("console.log(1)")},
		"assets/app-1234.css": {Data: []byte("body{}")},
	})
	for path, want := range map[string]string{"/p/demo": "customer", "/console": "console", "/console/": "console"} {
		rec := serve(t, apps, path)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) || rec.Header().Get("Cache-Control") != "no-cache" {
			t.Fatalf("%s: %d %q cache %q; want the %s page, no-cache", path, rec.Code, rec.Body.String(), rec.Header().Get("Cache-Control"), want)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Fatalf("%s: Content-Security-Policy %q is not strict", path, csp)
		}
	}
	rec := serve(t, apps, "/assets/app-1234.js")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Cache-Control"), "max-age=31536000") || !strings.Contains(rec.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("asset: %d cache %q type %q; want 200, a year, JavaScript", rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
	}
	if rec := serve(t, apps, "/assets/../customer.html"); rec.Code == http.StatusOK && strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("a path that climbs out of assets/ is served as an asset")
	}
	if rec := serve(t, apps, "/assets/missing.js"); rec.Code != http.StatusNotFound {
		t.Fatalf("a missing asset: %d, want 404", rec.Code)
	}
}
