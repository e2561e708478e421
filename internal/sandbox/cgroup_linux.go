//go:build linux && (amd64 || arm64)

package sandbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where cgroup file systems are mounted.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupHost describes the cgroup hierarchy sandboxes are created in: below the cgroup seance itself
// runs in (so a sandbox can never escape the limits seance runs under).
type cgroupHost struct {
	version string // "v1", "v2" or "" when none is usable
	// v1: the directories of the memory, pids and cpuacct controllers seance is in (cpuacct is
	// optional); v2: the one directory in all three.
	memory, pids, cpuacct string
	err                   error // why no cgroup is usable
}

var cgroupSeq atomic.Uint64

// detectCgroups finds a usable hierarchy: cgroup v2 when /sys/fs/cgroup is cgroup2, else the v1
// memory and pids controllers (a hybrid system's cgroup2 "unified" mount carries no controllers).
func detectCgroups() cgroupHost {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return cgroupHost{err: err}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return cgroupHost{err: err}
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		p, ok := cgroupPath(self, "")
		if !ok {
			return cgroupHost{err: errors.New("no cgroup v2 entry in /proc/self/cgroup")}
		}
		dir := filepath.Join(cgroupRoot, p)
		return cgroupHost{version: "v2", memory: dir, pids: dir, cpuacct: dir}
	}
	h := cgroupHost{version: "v1"}
	for _, c := range []struct {
		name string
		dst  *string
	}{{"memory", &h.memory}, {"pids", &h.pids}} {
		p, ok := cgroupPath(self, c.name)
		if !ok {
			return cgroupHost{err: fmt.Errorf("no cgroup v1 %s controller", c.name)}
		}
		// The controller may be co-mounted (cpu,cpuacct); find its mount by the name first.
		dir := filepath.Join(cgroupRoot, c.name, p)
		if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
			return cgroupHost{err: fmt.Errorf("cgroup v1 %s controller: %w", c.name, err)}
		}
		*c.dst = dir
	}
	if p, ok := cgroupPath(self, "cpuacct"); ok {
		for _, mnt := range []string{"cpuacct", "cpu,cpuacct", "cpuacct,cpu"} {
			dir := filepath.Join(cgroupRoot, mnt, p)
			if _, err := os.Stat(filepath.Join(dir, "cpuacct.usage")); err == nil {
				h.cpuacct = dir
				break
			}
		}
	}
	return h
}

// cgroupPath returns the path of this process's cgroup for a v1 controller, or the v2 path when
// controller is empty.
func cgroupPath(self []byte, controller string) (string, bool) {
	sc := bufio.NewScanner(bytes.NewReader(self))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" {
			if parts[0] == "0" && parts[1] == "" {
				return parts[2], true
			}
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == controller {
				return parts[2], true
			}
		}
	}
	return "", false
}

// cgroup is the cgroup (v2) or the per-controller cgroups (v1) of one sandbox.
type cgroup struct {
	version               string
	memory, pids, cpuacct string   // cpuacct is empty when CPU time cannot be accounted
	dirs                  []string // every directory created, for clean-up
}

// newCgroup creates the cgroups of one sandbox with the memory and pids limits.
func (h cgroupHost) newCgroup(memory int64, pids int) (*cgroup, error) {
	if h.version == "" {
		return nil, h.err
	}
	name := fmt.Sprintf("seance-sandbox-%d-%d", os.Getpid(), cgroupSeq.Add(1))
	cg := &cgroup{version: h.version}
	mk := func(parent string) (string, error) {
		d := filepath.Join(parent, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			return "", err
		}
		cg.dirs = append(cg.dirs, d)
		return d, nil
	}
	fail := func(err error) (*cgroup, error) {
		cg.destroy()
		return nil, err
	}
	mem := strconv.FormatInt(memory, 10)
	if h.version == "v2" {
		// Best effort: the controllers must be enabled for children of seance's cgroup.
		_ = os.WriteFile(filepath.Join(h.memory, "cgroup.subtree_control"), []byte("+memory +pids"), 0)
		d, err := mk(h.memory)
		if err != nil {
			return fail(err)
		}
		cg.memory, cg.pids, cg.cpuacct = d, d, d
		for _, w := range [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"pids.max", strconv.Itoa(pids)}} {
			if err := writeCgroup(d, w[0], w[1], w[0] == "memory.swap.max"); err != nil {
				return fail(err)
			}
		}
		return cg, nil
	}
	md, err := mk(h.memory)
	if err != nil {
		return fail(err)
	}
	cg.memory = md
	if err := writeCgroup(md, "memory.limit_in_bytes", mem, false); err != nil {
		return fail(err)
	}
	// Without swap accounting the memsw file is absent; the memory limit alone then applies.
	if err := writeCgroup(md, "memory.memsw.limit_in_bytes", mem, true); err != nil {
		return fail(err)
	}
	pd, err := mk(h.pids)
	if err != nil {
		return fail(err)
	}
	cg.pids = pd
	if err := writeCgroup(pd, "pids.max", strconv.Itoa(pids), false); err != nil {
		return fail(err)
	}
	if h.cpuacct != "" {
		cd, err := mk(h.cpuacct)
		if err != nil {
			return fail(err)
		}
		cg.cpuacct = cd
	}
	return cg, nil
}

func writeCgroup(dir, file, value string, optional bool) error {
	err := os.WriteFile(filepath.Join(dir, file), []byte(value), 0)
	if err != nil && optional && errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", file, err)
	}
	return nil
}

// oomKills returns how many processes the memory limit killed.
func (cg *cgroup) oomKills() int64 {
	if cg.version == "v2" {
		return statField(filepath.Join(cg.memory, "memory.events"), "oom_kill")
	}
	return statField(filepath.Join(cg.memory, "memory.oom_control"), "oom_kill")
}

// pidsRefused returns how many forks the pids limit refused.
func (cg *cgroup) pidsRefused() int64 {
	return statField(filepath.Join(cg.pids, "pids.events"), "max")
}

// cpuUsage returns the CPU time used by every process that ran in the cgroup, and false when it is
// not accounted.
func (cg *cgroup) cpuUsage() (time.Duration, bool) {
	switch {
	case cg.cpuacct == "":
		return 0, false
	case cg.version == "v2":
		us := statField(filepath.Join(cg.cpuacct, "cpu.stat"), "usage_usec")
		return time.Duration(us) * time.Microsecond, true
	}
	b, err := os.ReadFile(filepath.Join(cg.cpuacct, "cpuacct.usage"))
	if err != nil {
		return 0, false
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(ns), err == nil
}

// statField reads "key value" lines and returns the value of key, or 0.
func statField(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+" "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// destroy removes the cgroups. The process tree is gone by then (its pid namespace died with its
// init), but the kernel may take a moment to release the last task.
func (cg *cgroup) destroy() error {
	var errs []error
	for _, d := range cg.dirs {
		var err error
		for i := 0; i < 50; i++ {
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
				err = nil
				break
			}
			if !errors.Is(err, unix.EBUSY) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
		}
	}
	cg.dirs = nil
	return errors.Join(errs...)
}
