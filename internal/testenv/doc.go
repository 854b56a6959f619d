// Package testenv is the harness for tests that use real parts: a private
// containerd, test images built from the host's static busybox, and a local
// Docker Distribution registry. It is imported by tests only.
//
// Every helper takes a testing.TB, registers its own t.Cleanup and fails the
// test loudly (never skips) when a precondition is missing; the tests run as
// root after `make deps`.
//
//	ctd := testenv.Containerd(t)      // containerd under /tmp/ecsd-ctd-*, killed, unmounted and removed on cleanup
//	set := testenv.Images(t)          // ecsd.test/busybox:{shell,entrypoint,user,health} as OCI archives
//	reg := testenv.Registry(t, testenv.RegistryOptions{Auth: true})
//	refs := reg.Push(t, set)          // tag → 127.0.0.1:PORT/ecsd-test/busybox:TAG
//
// The private containerd runs in its own mount namespace in which
// /run/containerd/s (shim sockets) and /run/containerd/runc (runc state) are
// bind mounts of directories inside the instance directory. Parallel test
// binaries therefore never share runc state or shim sockets with each other or
// with a system containerd, and every mount containerd or its shims make
// disappears with them. The price: container root filesystems are not visible
// at their host paths from the test process; look inside a container through
// the containerd API (exec) instead.
//
// If a test binary dies without running its cleanups (a -timeout panic, a
// SIGKILL), the next Containerd call sweeps the instance directories whose
// owner process is gone.
package testenv
