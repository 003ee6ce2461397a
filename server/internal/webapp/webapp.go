// Package webapp serves the browser apps built from clients/web (`make
// web`) and embedded in the binary: the customer's web chat at /p/<portal>
// and the advisor console at /console, on the API's own origin.
package webapp

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// contentSecurityPolicy allows only what the pages need: their own
// scripts, styles and API calls, and the chat-history form posted to the
// same origin. No inline script or style, no frames, no other origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Apps serves the built apps. Built is false when `make web` has not run:
// every page then says so.
type Apps struct {
	files fs.FS
	Built bool
}

// New returns the embedded apps.
func New() *Apps {
	files, err := fs.Sub(dist, "dist/app")
	if err != nil {
		return &Apps{}
	}
	return FromFS(files)
}

// FromFS returns the apps built into files (customer.html, console.html,
// assets/...).
func FromFS(files fs.FS) *Apps {
	_, err := fs.Stat(files, "customer.html")
	return &Apps{files: files, Built: err == nil}
}

// Mount registers the pages and their assets on mux.
func (a *Apps) Mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /p/{portal}", a.page("customer.html"))
	mux.HandleFunc("GET /console", a.page("console.html"))
	mux.HandleFunc("GET /console/", a.page("console.html"))
	mux.HandleFunc("GET /assets/", a.asset)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		w.WriteHeader(http.StatusNoContent)
	})
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// page serves an HTML entry point. HTML is never cached, so a new build
// reaches browsers at once; the hashed assets it names are.
func (a *Apps) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		if !a.Built {
			notBuilt(w)
			return
		}
		body, err := fs.ReadFile(a.files, name)
		if err != nil {
			notBuilt(w)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	}
}

// asset serves a file of assets/: their names carry a content hash, so
// browsers may keep them for a year.
func (a *Apps) asset(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if !a.Built || !strings.HasPrefix(name, "assets/") {
		http.NotFound(w, r)
		return
	}
	if _, err := fs.Stat(a.files, name); err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeFileFS(w, r, a.files, name)
}

func notBuilt(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`<!doctype html><html lang="en"><meta charset="utf-8"><title>Assist: apps not built</title>` +
		`<h1>The browser apps are not built</h1><p>Run <code>make web</code> (or <code>make run</code>, which builds them), then reload.</p></html>`))
}
