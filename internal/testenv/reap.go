package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one process as read from /proc.
type proc struct {
	pid   int
	ppid  int
	state byte // 'Z' for a zombie
	start uint64
	args  []string
	cwd   string
}

// listProcs reads every process in /proc. Processes that end while being
// read are left out.
func listProcs() []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var procs []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		p, ok := readProc(pid)
		if ok {
			procs = append(procs, p)
		}
	}
	return procs
}

// readProc reads one process; ok is false when it no longer exists.
func readProc(pid int) (proc, bool) {
	dir := "/proc/" + strconv.Itoa(pid)
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return proc{}, false
	}
	// "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt
	// majflt cmajflt utime stime cutime cstime priority nice threads
	// itrealvalue starttime ..."; comm may itself contain ") ".
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return proc{}, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return proc{}, false
	}
	p := proc{pid: pid, state: fields[0][0]}
	p.ppid, _ = strconv.Atoi(fields[1])
	p.start, _ = strconv.ParseUint(fields[19], 10, 64)
	if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil {
		p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	p.cwd, _ = os.Readlink(dir + "/cwd")
	return p, true
}

// alive reports whether a process with this pid and start time still runs.
func alive(pid int, start uint64) bool {
	p, ok := readProc(pid)
	return ok && p.state != 'Z' && p.start == start
}

// refersTo reports whether a process names dir (or something in it) in its
// command line or works inside it.
func (p proc) refersTo(dir string) bool {
	cwd := strings.TrimSuffix(p.cwd, " (deleted)")
	if cwd == dir || strings.HasPrefix(cwd, dir+"/") {
		return true
	}
	for _, a := range p.args {
		// Compare on a path boundary: /tmp/ecsd-ctd-12 is not in
		// /tmp/ecsd-ctd-123/c.sock.
		if strings.Contains(a+"/", dir+"/") {
			return true
		}
	}
	return false
}

// killInstanceProcs kills, with SIGKILL, every process that refers to dir,
// which covers containerd itself, its shims and ctr commands, and all their
// descendants, which covers the containers' processes. It then waits up to
// ten seconds for them to be gone.
func killInstanceProcs(dir string) error {
	self := os.Getpid()
	procs := listProcs()
	children := map[int][]int{}
	for _, p := range procs {
		children[p.ppid] = append(children[p.ppid], p.pid)
	}
	victims := map[int]bool{}
	var mark func(pid int)
	mark = func(pid int) {
		if pid <= 1 || pid == self || victims[pid] {
			return
		}
		victims[pid] = true
		for _, c := range children[pid] {
			mark(c)
		}
	}
	starts := map[int]uint64{}
	for _, p := range procs {
		starts[p.pid] = p.start
		if p.state != 'Z' && p.refersTo(dir) {
			mark(p.pid)
		}
	}
	for pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for pid := range victims {
			if alive(pid, starts[pid]) {
				left = append(left, strconv.Itoa(pid))
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes of %s still running after SIGKILL: %s", dir, strings.Join(left, ", "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deleteRuncContainers force-deletes, with runc, every container whose runc
// state lives in runcRoot (laid out <root>/<namespace>/<id>, as the runc shim
// does). This kills containers whose shim is already gone.
func deleteRuncContainers(runcRoot string) error {
	runc, err := lookPath("runc")
	if err != nil {
		return err
	}
	nss, err := os.ReadDir(runcRoot)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range nss {
		root := filepath.Join(runcRoot, ns.Name())
		ids, err := os.ReadDir(root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, id := range ids {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			out, err := exec.CommandContext(ctx, runc, "--root", root, "delete", "--force", id.Name()).CombinedOutput()
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("runc delete --force %s/%s: %v: %s", ns.Name(), id.Name(), err, strings.TrimSpace(string(out))))
			}
		}
	}
	return errors.Join(errs...)
}

// unmountUnder lazily unmounts every mount at or below dir in this mount
// namespace, deepest first.
func unmountUnder(dir string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// mountsUnder lists the mount points at or below dir, deepest first.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var mounts []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw"
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountPath(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.SliceStable(mounts, func(i, j int) bool {
		di, dj := strings.Count(mounts[i], "/"), strings.Count(mounts[j], "/")
		if di != dj {
			return di > dj
		}
		return len(mounts[i]) > len(mounts[j])
	})
	return mounts, nil
}

// unescapeMountPath undoes the octal escapes (\040 for a space) that
// mountinfo uses.
func unescapeMountPath(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
