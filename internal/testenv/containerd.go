package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
)

const (
	containerdBin = "/usr/bin/containerd"

	// containerdStartTimeout bounds the wait for a new containerd to answer.
	containerdStartTimeout = 20 * time.Second
	// containerdStopGrace is how long containerd gets after SIGTERM.
	containerdStopGrace = 10 * time.Second
	// containerdClearTimeout bounds killing and deleting what tests left.
	containerdClearTimeout = 30 * time.Second

	// instancePrefix names instance directories in os.TempDir; the sweep of
	// stale instances looks for it.
	instancePrefix = "ecsd-ctd-"
	// ownerFile holds "pid starttime" of the test binary owning an instance.
	ownerFile = "owner"
	// staleUnowned is how old an instance directory without an owner file
	// must be before a sweep treats it as abandoned.
	staleUnowned = time.Minute

	// hostShimDir and hostRuncDir are where the runc shim keeps its sockets
	// and runc its state. The private containerd sees instance directories
	// there instead.
	hostShimDir = "/run/containerd/s"
	hostRuncDir = "/run/containerd/runc"
)

// disabledPlugins are containerd plugins a test never needs: CRI, and
// snapshotters that would load kernel modules or need special filesystems.
var disabledPlugins = []string{
	"io.containerd.grpc.v1.cri",
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.zfs",
}

// ContainerdInstance is a private containerd daemon owned by one test. All of
// its files live in Dir, a short path in os.TempDir so the sockets fit the
// 108-byte limit on unix socket paths.
type ContainerdInstance struct {
	Dir      string // instance directory; removed on cleanup
	Address  string // gRPC socket, for client.New or ctr --address
	Root     string // containerd root (content, metadata, snapshots)
	State    string // containerd state (task bundles)
	RuncRoot string // runc state; the shims see it as /run/containerd/runc
	LogPath  string // containerd's standard output and error
	Version  string // version the daemon reported, e.g. "1.6.20~ds1"
	// NetNSDir is a shared mount point whose mounts (network namespaces)
	// containerd's private mount namespace also sees; tests that give
	// containers namespaces keep them here.
	NetNSDir string

	d *daemon
}

// Containerd starts a private containerd for the test and waits until it
// answers. On cleanup it kills and deletes every task and container in every
// namespace, stops the daemon, kills any shim or container process still
// referring to the instance, unmounts what is left and removes Dir.
//
// It fails the test, never skips it, when not run as root or when
// containerd, runc or containerd-shim-runc-v2 is missing.
func Containerd(t testing.TB) *ContainerdInstance {
	t.Helper()
	requireContainerd(t)
	sweepStale(t)

	dir, err := os.MkdirTemp("", instancePrefix)
	if err != nil {
		t.Fatalf("testenv: create containerd dir: %v", err)
	}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		dir = resolved
	}
	c := &ContainerdInstance{
		Dir:      dir,
		Address:  filepath.Join(dir, "c.sock"),
		Root:     filepath.Join(dir, "root"),
		State:    filepath.Join(dir, "state"),
		RuncRoot: filepath.Join(dir, "runc"),
		LogPath:  filepath.Join(dir, "containerd.log"),
		NetNSDir: filepath.Join(dir, "netns"),
	}
	t.Cleanup(func() { c.cleanup(t) })

	if err := c.prepare(); err != nil {
		t.Fatalf("testenv: prepare containerd in %s: %v", dir, err)
	}
	if err := c.start(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	c.waitReady(t)
	return c
}

// Client returns a client of the instance, closed on cleanup.
func (c *ContainerdInstance) Client(t testing.TB, opts ...client.Opt) *client.Client {
	t.Helper()
	cl, err := client.New(c.Address, opts...)
	if err != nil {
		t.Fatalf("testenv: connect to containerd at %s: %v", c.Address, err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// requireContainerd fails the test unless it runs as root with containerd,
// runc and the runc shim installed.
func requireContainerd(t testing.TB) {
	t.Helper()
	if euid := os.Geteuid(); euid != 0 {
		t.Fatalf("testenv: a private containerd needs root but euid is %d; run the tests as root (sudo go test ./...) after `make deps`", euid)
	}
	var missing []string
	if _, err := os.Stat(containerdBin); err != nil {
		missing = append(missing, containerdBin)
	}
	for _, name := range []string{"runc", "containerd-shim-runc-v2", "mount"} {
		if _, err := lookPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("testenv: %s not installed; run `make deps` (containerd, runc, busybox-static, docker-registry) and run the tests as root", strings.Join(missing, ", "))
	}
}

// prepare writes the owner file, the directories and config.toml.
func (c *ContainerdInstance) prepare() error {
	self, ok := readProc(os.Getpid())
	if !ok {
		return errors.New("cannot read own /proc entry")
	}
	if err := os.WriteFile(filepath.Join(c.Dir, ownerFile), fmt.Appendf(nil, "%d %d\n", self.pid, self.start), 0o644); err != nil {
		return err
	}
	for _, d := range []string{c.Root, c.State, c.RuncRoot, c.shimDir(), filepath.Join(c.Dir, "opt"), hostShimDir, hostRuncDir, c.NetNSDir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return err
		}
	}
	return os.WriteFile(c.configPath(), []byte(c.config()), 0o644)
}

func (c *ContainerdInstance) configPath() string { return filepath.Join(c.Dir, "config.toml") }
func (c *ContainerdInstance) shimDir() string    { return filepath.Join(c.Dir, "s") }

// config renders config.toml (version 2, as containerd 1.6 reads it).
func (c *ContainerdInstance) config() string {
	quoted := make([]string, len(disabledPlugins))
	for i, p := range disabledPlugins {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf(`version = 2
root = %q
state = %q
disabled_plugins = [%s]

[grpc]
  address = %q

[ttrpc]
  address = %q

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = %q
`, c.Root, c.State, strings.Join(quoted, ", "), c.Address, c.Address+".ttrpc", filepath.Join(c.Dir, "opt"))
}

// shareNetNSDir makes NetNSDir a shared mount point before containerd's
// namespace is made, so that namespaces mounted there later reach it.
func (c *ContainerdInstance) shareNetNSDir() error {
	if err := syscall.Mount(c.NetNSDir, c.NetNSDir, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s: %w", c.NetNSDir, err)
	}
	if err := syscall.Mount("", c.NetNSDir, "", syscall.MS_SHARED, ""); err != nil {
		return fmt.Errorf("make %s shared: %w", c.NetNSDir, err)
	}
	return nil
}

// startScript runs as the first process of containerd's own mount namespace:
// it puts the instance's shim socket and runc state directories over the
// host's, then becomes containerd.
const startScript = `set -e
mount --bind "$1" "$2"
mount --bind "$3" "$4"
exec "$5" --config "$6"`

// start starts containerd in a new mount namespace and process group.
func (c *ContainerdInstance) start() error {
	if err := c.shareNetNSDir(); err != nil {
		return err
	}
	// unshare(1) with slave propagation: the bind mounts above and
	// containerd's own mounts stay inside the new namespace, while mounts
	// under the shared NetNSDir still arrive from outside.
	cmd := exec.Command("unshare", "--mount", "--propagation", "slave", "/bin/sh", "-c", startScript, "sh",
		c.shimDir(), hostShimDir, c.RuncRoot, hostRuncDir, containerdBin, c.configPath())
	cmd.Dir = c.Dir
	cmd.Env = withSbinPath(os.Environ())
	d, err := startDaemon("containerd", cmd, c.LogPath)
	if err != nil {
		return err
	}
	c.d = d
	return nil
}

// waitReady polls the socket until containerd answers Version.
func (c *ContainerdInstance) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(containerdStartTimeout)
	var lastErr error
	for {
		if c.d.exited() {
			t.Fatal(c.d.failure("exited before it answered on " + c.Address))
		}
		if _, err := os.Stat(c.Address); err == nil {
			v, err := pingContainerd(c.Address)
			if err == nil {
				c.Version = v
				return
			}
			lastErr = err
		}
		if time.Now().After(deadline) {
			t.Fatal(c.d.failure(fmt.Sprintf("did not answer on %s within %s (last error: %v)", c.Address, containerdStartTimeout, lastErr)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pingContainerd asks the daemon at address for its version.
func pingContainerd(address string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	cl, err := client.New(address, client.WithTimeout(time.Second))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	v, err := cl.Version(ctx)
	if err != nil {
		return "", err
	}
	return v.Version, nil
}

// cleanup takes the instance down; see Containerd.
func (c *ContainerdInstance) cleanup(t testing.TB) {
	if t.Failed() {
		t.Logf("testenv: end of containerd's log, which cleanup removes:\n%s", logTail(c.LogPath, 50))
	}
	if c.d != nil && !c.d.exited() {
		if err := c.clear(); err != nil {
			t.Logf("testenv: clear containerd %s (leftovers are killed below): %v", c.Dir, err)
		}
		if err := c.d.stop(containerdStopGrace); err != nil {
			t.Errorf("testenv: stop containerd: %v", err)
		}
	}
	if err := reapInstance(c.Dir); err != nil {
		t.Errorf("testenv: clean up containerd %s: %v", c.Dir, err)
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		t.Errorf("testenv: remove containerd dir: %v", err)
	}
}

// clear kills and deletes every task and deletes every container, with its
// snapshot, in every namespace.
func (c *ContainerdInstance) clear() error {
	ctx, cancel := context.WithTimeout(context.Background(), containerdClearTimeout)
	defer cancel()
	cl, err := client.New(c.Address)
	if err != nil {
		return err
	}
	defer cl.Close()
	nss, err := cl.NamespaceService().List(ctx)
	if err != nil {
		return fmt.Errorf("list namespaces: %w", err)
	}
	var errs []error
	for _, ns := range nss {
		nctx := namespaces.WithNamespace(ctx, ns)
		ctrs, err := cl.Containers(nctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list containers in %s: %w", ns, err))
			continue
		}
		for _, ctr := range ctrs {
			task, err := ctr.Task(nctx, nil)
			switch {
			case err == nil:
				if _, err := task.Delete(nctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("delete task %s/%s: %w", ns, ctr.ID(), err))
				}
			case !errdefs.IsNotFound(err):
				errs = append(errs, fmt.Errorf("load task %s/%s: %w", ns, ctr.ID(), err))
			}
			if err := ctr.Delete(nctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete container %s/%s: %w", ns, ctr.ID(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// reapInstance removes what a stopped (or vanished) containerd left behind
// in dir: containers still known to runc, shims and their children, and
// mounts. It does not remove dir.
func reapInstance(dir string) error {
	var errs []error
	if err := deleteRuncContainers(filepath.Join(dir, "runc")); err != nil {
		errs = append(errs, err)
	}
	if err := killInstanceProcs(dir); err != nil {
		errs = append(errs, err)
	}
	if err := unmountUnder(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sweepStale reaps and removes the instance directories of test binaries
// that died without cleaning up.
func sweepStale(t testing.TB) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), instancePrefix+"*"))
	for _, dir := range dirs {
		if resolved, err := filepath.EvalSymlinks(dir); err == nil {
			dir = resolved
		}
		if !staleInstance(dir) {
			continue
		}
		if err := reapInstance(dir); err != nil {
			t.Logf("testenv: reap stale containerd %s: %v", dir, err)
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Logf("testenv: remove stale containerd %s: %v", dir, err)
			continue
		}
		t.Logf("testenv: removed stale containerd instance %s", dir)
	}
}

// staleInstance reports whether the test binary owning dir is gone.
func staleInstance(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		fi, err := os.Stat(dir)
		return err == nil && fi.IsDir() && time.Since(fi.ModTime()) > staleUnowned
	}
	var pid int
	var start uint64
	if _, err := fmt.Sscanf(string(b), "%d %d", &pid, &start); err != nil {
		return true
	}
	return !alive(pid, start)
}
