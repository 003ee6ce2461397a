package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrBinariesNotFound reports that no usable PostgreSQL server binaries
// (initdb and postgres side by side) were found. Start wraps it.
var ErrBinariesNotFound = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

const installHint = "install them with `apt-get install postgresql`, or set ASSIST_DATABASE_URL to use an existing server"

// binaries is a directory holding initdb and postgres of one major version.
type binaries struct {
	dir     string
	version string // major version as PG_VERSION spells it: "15", "9.6"
}

func (b binaries) path(name string) string { return filepath.Join(b.dir, name) }

// findBinaries picks the server binaries. override (Options.BinDir) is the
// only candidate when set; otherwise PATH, `pg_config --bindir` and
// /usr/lib/postgresql/*/bin (highest first) are tried in that order.
//
// want is the major version an existing data directory was created with, or
// "" for a new one. A matching version wins over the first found, because
// Debian installs a new major version next to the old one and its binaries
// cannot open the old cluster (that takes pg_upgrade).
func findBinaries(ctx context.Context, override, want string) (binaries, error) {
	var candidates []string
	if override != "" {
		candidates = []string{override}
	} else {
		candidates = binDirCandidates(ctx)
	}

	var found []binaries
	for _, dir := range candidates {
		b, ok := probe(ctx, dir)
		if !ok || slices.ContainsFunc(found, func(f binaries) bool { return f.dir == b.dir }) {
			continue
		}
		if want == "" || b.version == want {
			return b, nil
		}
		found = append(found, b)
	}
	if len(found) > 0 {
		return binaries{}, fmt.Errorf("pgembed: the data directory was created by PostgreSQL %s, but only PostgreSQL %s was found (in %s): install postgresql-%s, or upgrade the cluster with pg_upgrade",
			want, found[0].version, found[0].dir, want)
	}
	where := "PATH, pg_config --bindir, /usr/lib/postgresql/*/bin"
	if override != "" {
		where = override
	}
	return binaries{}, fmt.Errorf("pgembed: %w (looked in %s): %s", ErrBinariesNotFound, where, installHint)
}

func binDirCandidates(ctx context.Context) []string {
	var dirs []string
	if p, err := exec.LookPath("postgres"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	// On Debian pg_config is a wrapper script; it still answers --bindir.
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	installed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(installed, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	return append(dirs, installed...)
}

// probe reports whether dir holds a usable initdb and postgres, and their
// version. Symlinks are resolved because initdb looks for postgres next to
// its real path (/usr/local/bin/initdb may point into /usr/lib/postgresql).
// Scripts are rejected: a wrapper (Debian's pg_wrapper, a sudo shim) would
// sit between us and the postmaster and swallow its signals.
func probe(ctx context.Context, dir string) (binaries, bool) {
	real, err := filepath.EvalSymlinks(filepath.Join(dir, "postgres"))
	if err != nil {
		return binaries{}, false
	}
	b := binaries{dir: filepath.Dir(real)}
	for _, name := range []string{"postgres", "initdb"} {
		if !isExecutableBinary(b.path(name)) {
			return binaries{}, false
		}
	}
	out, err := exec.CommandContext(ctx, b.path("postgres"), "--version").Output()
	if err != nil {
		return binaries{}, false
	}
	b.version = majorVersion(string(out))
	return b, b.version != ""
}

func isExecutableBinary(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer func() { _ = f.Close() }()
	head := make([]byte, 2)
	_, err = f.Read(head)
	return err == nil && !bytes.Equal(head, []byte("#!"))
}

// majorVersion turns "postgres (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)"
// into "15", and a 9.x version into "9.6", matching PG_VERSION.
func majorVersion(versionOutput string) string {
	fields := strings.Fields(versionOutput)
	if len(fields) < 3 {
		return ""
	}
	parts := strings.Split(fields[2], ".")
	major, err := strconv.Atoi(parts[0])
	if err != nil {
		return ""
	}
	if major < 10 && len(parts) > 1 {
		return parts[0] + "." + parts[1]
	}
	return parts[0]
}

// compareVersions compares dotted numeric versions ("9.6" < "15").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}
