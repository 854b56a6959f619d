package testenv

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// HostLock holds an exclusive lock named name, shared by every test
// process on the host, until t ends. Tests that change host-global state
// (a sysctl such as net.ipv4.conf.all.route_localnet) take it so that two
// packages' tests, which go test runs in parallel, do not undo each
// other's changes.
func HostLock(t testing.TB, name string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "ecsd-test-"+name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatalf("testenv: host lock %s: %v", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("testenv: host lock %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
