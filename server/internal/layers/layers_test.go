// Package layers holds the test that keeps the server's layering honest:
// handlers stay thin, rules stay in the domain, SQL stays in the store. An
// import that climbs a layer fails it.
package layers

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/assist-chat/assist/"

// allowed lists, for each package under server/internal, the internal
// packages it may import. Test files are not checked: tests may reach
// across layers.
var allowed = map[string][]string{
	"failure":    {},
	"limits":     {},
	"readahead":  {},
	"store":      {"failure", "store/dbq"},
	"store/dbq":  {},
	"pgembed":    {},
	"pgtest":     {"pgembed"},
	"auth":       {"failure", "store", "store/dbq"},
	"sessionlog": {"failure", "store", "store/dbq"},
	"sessions":   {"auth", "failure", "sessionlog", "store", "store/dbq"},
	"chat":       {"auth", "failure", "sessionlog", "sessions", "upgrade"},
	"opener":     {"failure", "store", "store/dbq"},
	"upgrade":    {"auth", "failure", "opener", "sessionlog", "sessions", "store", "store/dbq"},
	"accounts":   {"auth", "failure", "store", "store/dbq"},
	"feed":       {"auth", "failure", "store", "store/dbq"},
	"webhooks":   {"auth", "failure", "feed", "store", "store/dbq"},
	"demo":       {"auth", "store", "store/dbq"},
	"reports":    {"auth", "failure", "sessionlog", "sessions", "store", "store/dbq"},
	"admin":      {"auth", "failure", "store", "store/dbq"},
	"webapp":     {},
	// The protocol layer decodes, calls the domain and maps errors: no SQL,
	// no direct log writes.
	"api":        {"accounts", "admin", "auth", "chat", "failure", "feed", "reports", "sessions", "upgrade", "webhooks"},
	"assistd":    {"accounts", "admin", "api", "auth", "chat", "demo", "feed", "limits", "opener", "pgembed", "readahead", "reports", "sessionlog", "sessions", "store", "upgrade", "webapp", "webhooks"},
	"assisttest": {"assistd", "demo", "limits", "pgtest"},
	// The bench: a separate load client (through the API only; demo for
	// its credentials) and the runner that starts the cluster.
	"bench/benchrun":   {"pgembed"},
	"bench/loadclient": {"demo"},
}

func TestImportsFollowTheLayers(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	err = filepath.WalkDir(root, func(dir string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, dir)
		rel = filepath.ToSlash(rel)
		if rel == "." || rel == "layers" || rel == "e2e" || rel == "bench" {
			return nil // test-only packages
		}
		ok, known := allowed[rel]
		if !known {
			t.Errorf("package server/internal/%s has no entry in the layering table: add one", rel)
			return nil
		}
		checked++
		for _, imp := range pkg.Imports {
			internal, isInternal := strings.CutPrefix(imp, module+"server/internal/")
			if !isInternal {
				// The load client is a client: it drives the server through
				// the Go client, as integrators do.
				goClient := rel == "bench/loadclient" && imp == module+"clients/go/assist"
				if strings.HasPrefix(imp, module+"server/") || (strings.HasPrefix(imp, module+"clients/") && !goClient) {
					t.Errorf("server/internal/%s imports %s", rel, imp)
				}
				continue
			}
			if !slices.Contains(ok, internal) {
				t.Errorf("server/internal/%s imports server/internal/%s, which its layer may not use", rel, internal)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < len(allowed) {
		t.Errorf("checked %d packages, the table lists %d: a package moved or vanished", checked, len(allowed))
	}
}
