package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// snapshot is what /proc says at one instant: the machine's CPU time and
// that of the processes a run cares about.
type snapshot struct {
	machineBusy, machineTotal uint64 // all cores, ticks
	client, server, postgres  uint64 // ticks
	serverRSS                 uint64 // bytes
}

// machineCPU reads the first line of /proc/stat: busy and total ticks over
// every core.
func machineCPU() (busy, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total
}

// procStat returns a process's parent, its own CPU ticks and those of its
// children it has waited for.
func procStat(pid int) (ppid int, own, children uint64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// The command name may hold spaces: fields start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, so f[11].
	if len(f) < 15 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	ut, _ := strconv.ParseUint(f[11], 10, 64)
	st, _ := strconv.ParseUint(f[12], 10, 64)
	cut, _ := strconv.ParseUint(f[13], 10, 64)
	cst, _ := strconv.ParseUint(f[14], 10, 64)
	return ppid, ut + st, cut + cst, true
}

// processCPU is a process's CPU ticks.
func processCPU(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	_, own, _, _ := procStat(pid)
	return own
}

// treeCPU is the CPU ticks of root and every live descendant, plus what
// root's exited children used (PostgreSQL backends come and go; the
// postmaster waits for them, so their time lands in its children's total).
func treeCPU(root int) uint64 {
	if root <= 0 {
		return 0
	}
	parent := map[int]int{}
	own := map[int]uint64{}
	entries, _ := filepath.Glob("/proc/[0-9]*")
	for _, e := range entries {
		pid, err := strconv.Atoi(filepath.Base(e))
		if err != nil {
			continue
		}
		pp, o, _, ok := procStat(pid)
		if ok {
			parent[pid], own[pid] = pp, o
		}
	}
	_, rootOwn, rootChildren, ok := procStat(root)
	if !ok {
		return 0
	}
	total := rootOwn + rootChildren
	for pid := range own {
		if pid == root {
			continue
		}
		for p := parent[pid]; p > 1; p = parent[p] {
			if p == root {
				total += own[pid]
				break
			}
		}
	}
	return total
}

// rss is a process's resident set in bytes.
func rss(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				kb, _ := strconv.ParseUint(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// postmasterPID reads the cluster's postmaster.pid.
func postmasterPID(dataDir string) int {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	return pid
}

// cpuSplit is CPU use over an interval, in cores (1.0 = one core busy).
type cpuSplit struct {
	Client, Server, Postgres, Other, MachineBusy float64
	Cores                                        int
}

func split(a, b snapshot, seconds float64) cpuSplit {
	cores := func(t uint64) float64 { return float64(t) / clockTicks / seconds }
	d := func(x, y uint64) uint64 {
		if y < x {
			return 0
		}
		return y - x
	}
	s := cpuSplit{
		Client:   cores(d(a.client, b.client)),
		Server:   cores(d(a.server, b.server)),
		Postgres: cores(d(a.postgres, b.postgres)),
	}
	busyTicks, totalTicks := d(a.machineBusy, b.machineBusy), d(a.machineTotal, b.machineTotal)
	if totalTicks > 0 {
		// /proc/stat counts every core: busy/total × cores is cores busy.
		n := float64(numCPU())
		s.Cores = int(n)
		s.MachineBusy = float64(busyTicks) / float64(totalTicks) * n
	}
	s.Other = max(0, s.MachineBusy-s.Client-s.Server-s.Postgres)
	return s
}

func numCPU() int {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 1
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "cpu") && len(line) > 3 && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return max(n, 1)
}
