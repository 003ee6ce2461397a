package pgembed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// waitNotInUse fails if a live postmaster owns dataDir. postgres refuses
// too, but its message would land in the log rather than in our error.
//
// A postmaster that is shutting down gets a few seconds: when a crashed
// assistd is restarted at once, the postgres it left behind is still
// finishing the shutdown its parent's death triggered.
//
// A stale postmaster.pid from a crash needs nothing: postgres sees its
// process is gone and replaces the file.
func waitNotInUse(ctx context.Context, dataDir string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pid, status, ok := livePostmaster(dataDir)
		if !ok {
			return nil
		}
		if status != "stopping" || time.Now().After(deadline) {
			return fmt.Errorf("pgembed: data directory %s is in use by a running PostgreSQL (pid %d, %s): is another assistd using it?", dataDir, pid, status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// livePostmaster reads postmaster.pid and reports its pid and status
// ("starting", "ready", "stopping") if that process is a running postgres.
func livePostmaster(dataDir string) (pid int, status string, ok bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, "", false
	}
	lines := strings.Split(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	// The pid of a crashed postmaster may since belong to anything, or to
	// its zombie where init does not reap. /proc/<pid>/stat: "pid (comm) state ...".
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	comm, state, _ := strings.Cut(string(stat), ") ")
	if !strings.HasSuffix(comm, "(postgres") || strings.HasPrefix(state, "Z") {
		return 0, "", false
	}
	// Line 8 is the status (PostgreSQL 10+), padded with spaces.
	status = "running"
	if len(lines) > 7 && strings.TrimSpace(lines[7]) != "" {
		status = strings.TrimSpace(lines[7])
	}
	return pid, status, true
}
