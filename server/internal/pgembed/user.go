package pgembed

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// owner is the OS user that owns the data directory and runs initdb and
// postgres. Both refuse to run as root, so a root process hands them to an
// unprivileged user; any other process runs them as itself.
type owner struct {
	name string
	cred *syscall.Credential // nil: run as the current user
}

func lookupOwner(name string) (*owner, error) {
	if os.Geteuid() != 0 {
		return &owner{name: "the current user"}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("pgembed: running as root, PostgreSQL must run as another user: %w (create it, or set Options.RunAsUser)", err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	// Give the user its own groups, as a login would, rather than root's.
	gids, _ := u.GroupIds()
	var groups []uint32
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			groups = append(groups, uint32(n))
		}
	}
	return &owner{
		name: name,
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups},
	}, nil
}

// prepare creates dataDir for the owner and checks the owner can reach it.
func (o *owner) prepare(dataDir string) error {
	if err := os.MkdirAll(filepath.Dir(dataDir), 0o755); err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if err := os.Mkdir(dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("pgembed: %w", err)
	}
	if o.cred == nil {
		return nil
	}
	if err := o.checkSearchable(dataDir); err != nil {
		return err
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return fmt.Errorf("pgembed: %w", err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != o.cred.Uid {
		// Taking over someone else's cluster would only half work: the files
		// inside would keep their owner.
		if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); err == nil {
			return fmt.Errorf("pgembed: data directory %s holds a cluster owned by uid %d, not by %s", dataDir, st.Uid, o.name)
		}
		if err := os.Chown(dataDir, int(o.cred.Uid), int(o.cred.Gid)); err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
	}
	return nil
}

// checkSearchable fails on the first parent of dataDir the owner cannot
// enter, naming it: postgres would otherwise die with a bare "permission
// denied". A typical culprit is t.TempDir(), which is 0700 and root's.
func (o *owner) checkSearchable(dataDir string) error {
	var parents []string
	for p := filepath.Dir(dataDir); ; p = filepath.Dir(p) {
		parents = append(parents, p)
		if p == filepath.Dir(p) {
			break
		}
	}
	slices.Reverse(parents)
	for _, p := range parents {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("pgembed: %w", err)
		}
		if !o.canSearch(fi) {
			return fmt.Errorf("pgembed: PostgreSQL runs as user %s, which cannot enter %s (mode %v, uid %d, gid %d); every parent of the data directory %s must be searchable by it: choose another directory or `chmod o+x %s` (t.TempDir() is 0700, so tests must not use it)",
				o.name, p, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, fi.Sys().(*syscall.Stat_t).Gid, dataDir, p)
		}
	}
	return nil
}

// canSearch applies the kernel's rule: the owner bits alone decide for the
// owner, the group bits for members, the other bits for everyone else.
func (o *owner) canSearch(fi fs.FileInfo) bool {
	st := fi.Sys().(*syscall.Stat_t)
	mode := fi.Mode().Perm()
	switch {
	case st.Uid == o.cred.Uid:
		return mode&0o100 != 0
	case st.Gid == o.cred.Gid || slices.Contains(o.cred.Groups, st.Gid):
		return mode&0o010 != 0
	default:
		return mode&0o001 != 0
	}
}

// chown hands a file or directory created by a root process to the owner.
func (o *owner) chown(path string) error {
	if o.cred == nil {
		return nil
	}
	return os.Chown(path, int(o.cred.Uid), int(o.cred.Gid))
}

// Reachable returns nil if the cluster's OS user can reach dataDir: always
// when the process is not root; as root, when every existing parent is
// searchable by runAsUser (default "postgres"). Missing parents do not
// count: Start creates them searchable.
func Reachable(dataDir, runAsUser string) error {
	if runAsUser == "" {
		runAsUser = defaultRunAsUser
	}
	o, err := lookupOwner(runAsUser)
	if err != nil || o.cred == nil {
		return err
	}
	existing := filepath.Dir(dataDir)
	for {
		if _, err := os.Stat(existing); err == nil || existing == filepath.Dir(existing) {
			break
		}
		existing = filepath.Dir(existing)
	}
	return o.checkSearchable(filepath.Join(existing, "cluster"))
}

// defaultRunAsUser runs the cluster when the process is root.
const defaultRunAsUser = "postgres"
