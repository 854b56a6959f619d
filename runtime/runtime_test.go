package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"

	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
)

// env is one private containerd with the test images imported.
type env struct {
	rt     *runtime.Runtime
	ctd    *testenv.ContainerdInstance
	images *testenv.ImageSet
	state  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctd := testenv.Containerd(t)
	imgs := testenv.Images(t)
	e := &env{ctd: ctd, images: imgs, state: t.TempDir()}
	e.rt = e.open(t)
	f, err := os.Open(imgs.Archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := e.rt.ImportImages(context.Background(), f); err != nil {
		t.Fatalf("import test images: %v", err)
	}
	return e
}

// open makes a new Runtime on the same containerd and state, as a
// restarted ecsd would.
func (e *env) open(t *testing.T) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Config{
		Address:  e.ctd.Address,
		StateDir: e.state,
		Log:      slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// syncBuffer collects a container's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var idSeq struct {
	sync.Mutex
	n int
}

var unsafeID = regexp.MustCompile(`[^a-z0-9]+`)

func newID(t *testing.T) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	name := unsafeID.ReplaceAllString(strings.ToLower(t.Name()), "-")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	return fmt.Sprintf("t%d-%s", idSeq.n, strings.Trim(name, "-"))
}

// run creates, starts and waits for a container, then removes it, and
// returns its output and exit status.
func (e *env) run(t *testing.T, spec runtime.ContainerSpec) (string, runtime.ExitStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if spec.ID == "" {
		spec.ID = newID(t)
	}
	if spec.Image == "" {
		spec.Image = e.images.Ref("shell")
	}
	if err := e.rt.Create(ctx, spec); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { e.rt.Remove(context.Background(), spec.ID) })
	var out syncBuffer
	if err := e.rt.Start(ctx, spec.ID, &out, &out); err != nil {
		t.Fatalf("start: %v", err)
	}
	st, err := e.rt.Wait(ctx, spec.ID)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := e.rt.Remove(ctx, spec.ID); err != nil {
		t.Fatalf("remove: %v", err)
	}
	return out.String(), st
}

// sh runs a shell command in the shell image with the given spec.
func (e *env) sh(t *testing.T, spec runtime.ContainerSpec, script string) string {
	t.Helper()
	spec.Command = []string{"sh", "-c", script}
	out, st := e.run(t, spec)
	if st.Code != 0 {
		t.Fatalf("%q exited %d: %s", script, st.Code, out)
	}
	return out
}

// hostCapEff is this process's effective capability mask: a privileged
// container gets exactly the host's.
func hostCapEff(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:\t"); ok {
			return v
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return ""
}

func cgroupV2() bool { return cgroups.Mode() == cgroups.Unified }

func cgFile(v1, v2 string) string {
	if cgroupV2() {
		return "/sys/fs/cgroup/" + v2
	}
	return "/sys/fs/cgroup/" + v1
}

func TestSpecEffectsInsideContainer(t *testing.T) {
	e := newEnv(t)
	swappiness := uint64(17)
	hostDir := t.TempDir()
	os.WriteFile(filepath.Join(hostDir, "from-host"), []byte("host file\n"), 0o644)
	roDir := t.TempDir()

	tests := []struct {
		name   string
		spec   runtime.ContainerSpec
		script string
		want   []string // each must appear in the output
		reject []string // none may appear
	}{
		{name: "env merged over image", spec: runtime.ContainerSpec{Image: e.images.Ref("entrypoint"),
			Entrypoint: []string{"/bin/env"}, Env: []string{"SHARED=task", "NEW=1"}},
			want: []string{"IMAGE_ONLY=image", "SHARED=task", "NEW=1"}, reject: []string{"SHARED=image"}},
		{name: "working dir from image", spec: runtime.ContainerSpec{Image: e.images.Ref("entrypoint"), Entrypoint: []string{"/bin/pwd"}},
			want: []string{"/srv"}},
		{name: "working dir override", spec: runtime.ContainerSpec{WorkingDir: "/tmp"}, script: "pwd", want: []string{"/tmp"}},
		{name: "user by name", spec: runtime.ContainerSpec{User: "app"}, script: "id",
			want: []string{"uid=1000(app)", "gid=1000(app)", "50(staff)"}},
		{name: "user by uid", spec: runtime.ContainerSpec{User: "1000"}, script: "id -u; id -g", want: []string{"1000\n1000"}},
		{name: "user uid:gid", spec: runtime.ContainerSpec{User: "1000:50"}, script: "id -u; id -g", want: []string{"1000\n50"}},
		{name: "image user", spec: runtime.ContainerSpec{Image: e.images.Ref("user")}, script: "id -un", want: []string{"app"}},
		{name: "memory hard limit", spec: runtime.ContainerSpec{MemoryLimit: 64 << 20},
			script: "cat " + cgFile("memory/memory.limit_in_bytes", "memory.max"), want: []string{strconv.Itoa(64 << 20)}},
		{name: "memory reservation", spec: runtime.ContainerSpec{MemoryLimit: 128 << 20, MemoryReservation: 32 << 20},
			script: "cat " + cgFile("memory/memory.soft_limit_in_bytes", "memory.low"), want: []string{strconv.Itoa(32 << 20)}},
		{name: "cpu shares", spec: runtime.ContainerSpec{CPUShares: 512},
			script: "cat " + cgFile("cpu/cpu.shares", "cpu.weight"), want: []string{map[bool]string{false: "512", true: "20"}[cgroupV2()]}},
		{name: "pids limit", spec: runtime.ContainerSpec{PidsLimit: 42},
			script: "cat " + cgFile("pids/pids.max", "pids.max"), want: []string{"42"}},
		{name: "swappiness", spec: runtime.ContainerSpec{MemoryLimit: 64 << 20, Swappiness: &swappiness},
			script: "cat " + cgFile("memory/memory.swappiness", "memory.swap.max") + " || true", want: []string{map[bool]string{false: "17", true: ""}[cgroupV2()]}},
		{name: "max swap", spec: runtime.ContainerSpec{MemoryLimit: 64 << 20, MemorySwap: 96 << 20},
			script: "cat " + cgFile("memory/memory.memsw.limit_in_bytes", "memory.swap.max"), want: []string{map[bool]string{false: strconv.Itoa(96 << 20), true: strconv.Itoa(32 << 20)}[cgroupV2()]}},
		{name: "ulimits", spec: runtime.ContainerSpec{Ulimits: []runtime.Ulimit{{Name: "nofile", Soft: 1000, Hard: 2000}}},
			script: "ulimit -n; ulimit -Hn", want: []string{"1000\n2000"}},
		{name: "cap drop", spec: runtime.ContainerSpec{CapDrop: []string{"CHOWN"}}, script: "chown 1000 /tmp && echo chowned || echo denied",
			want: []string{"denied"}},
		{name: "cap add", spec: runtime.ContainerSpec{CapAdd: []string{"NET_ADMIN"}}, script: "ip link set lo mtu 1400 && echo changed",
			want: []string{"changed"}},
		{name: "no cap by default", script: "ip link set lo mtu 1400 2>&1 || echo refused", want: []string{"refused"}},
		{name: "device", spec: runtime.ContainerSpec{Devices: []runtime.Device{{HostPath: "/dev/zero", ContainerPath: "/dev/myzero", Permissions: "rw"}}},
			script: "head -c 5 /dev/myzero | wc -c", want: []string{"5"}},
		{name: "init process", spec: runtime.ContainerSpec{Init: true}, script: "tr '\\0' ' ' < /proc/1/cmdline", want: []string{"init"}},
		{name: "shm size", spec: runtime.ContainerSpec{ShmSize: 16 << 20}, script: "grep /dev/shm /proc/mounts", want: []string{"size=16384k"}},
		{name: "tmpfs", spec: runtime.ContainerSpec{Tmpfs: []runtime.Tmpfs{{Destination: "/scratch", SizeBytes: 8 << 20, Options: []string{"noexec"}}}},
			script: "grep /scratch /proc/mounts", want: []string{"tmpfs /scratch", "noexec", "size=8192k"}},
		{name: "readonly rootfs", spec: runtime.ContainerSpec{ReadonlyRootfs: true}, script: "touch /x 2>&1 || echo read-only", want: []string{"read-only"}},
		{name: "default security", script: "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status",
			want: []string{"NoNewPrivs:\t1", "Seccomp:\t2"}},
		{name: "privileged", spec: runtime.ContainerSpec{Privileged: true}, script: "grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status",
			want: []string{"NoNewPrivs:\t0", "Seccomp:\t0", "CapEff:\t" + hostCapEff(t)}},
		{name: "hostname", spec: runtime.ContainerSpec{Hostname: "web-1"}, script: "hostname; cat /etc/hostname", want: []string{"web-1\nweb-1"}},
		{name: "extra hosts", spec: runtime.ContainerSpec{ExtraHosts: []runtime.HostEntry{{Hostname: "db.internal", IPAddress: "10.1.2.3"}}},
			script: "cat /etc/hosts", want: []string{"10.1.2.3\tdb.internal", "localhost"}},
		{name: "dns", spec: runtime.ContainerSpec{DNSServers: []string{"192.0.2.53"}, DNSSearch: []string{"corp.example"}},
			script: "cat /etc/resolv.conf", want: []string{"nameserver 192.0.2.53", "search corp.example"}},
		{name: "bind mount", spec: runtime.ContainerSpec{Mounts: []runtime.Mount{{Source: hostDir, Destination: "/data"}}},
			script: "cat /data/from-host; echo written > /data/from-container", want: []string{"host file"}},
		{name: "readonly mount", spec: runtime.ContainerSpec{Mounts: []runtime.Mount{{Source: roDir, Destination: "/ro", ReadOnly: true}}},
			script: "touch /ro/x 2>&1 || echo ro-refused", want: []string{"ro-refused"}},
		{name: "sysctls", spec: runtime.ContainerSpec{Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "80"}},
			script: "cat /proc/sys/net/ipv4/ip_unprivileged_port_start", want: []string{"80"}},
		{name: "no network is loopback only", script: "ls /sys/class/net", want: []string{"lo"}, reject: []string{"eth", "ens"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out string
			if tc.script != "" {
				out = e.sh(t, tc.spec, tc.script)
			} else {
				var st runtime.ExitStatus
				out, st = e.run(t, tc.spec)
				if st.Code != 0 {
					t.Fatalf("exit %d: %s", st.Code, out)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, r := range tc.reject {
				if strings.Contains(out, r) {
					t.Errorf("output has %q:\n%s", r, out)
				}
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(hostDir, "from-container")); err != nil || string(b) != "written\n" {
		t.Errorf("bind mount write not visible on host: %q %v", b, err)
	}
}

func TestEntrypointAndCommandRules(t *testing.T) {
	e := newEnv(t)
	img := e.images.Ref("entrypoint")
	tests := []struct {
		name       string
		entrypoint []string
		command    []string
		want       string
	}{
		{"image defaults", nil, nil, "from-entrypoint default-cmd\n"},
		{"command replaces CMD", nil, []string{"given"}, "from-entrypoint given\n"},
		{"entrypoint clears CMD", []string{"/bin/echo", "own"}, nil, "own\n"},
		{"both given", []string{"/bin/echo", "own"}, []string{"arg"}, "own arg\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, st := e.run(t, runtime.ContainerSpec{Image: img, Entrypoint: tc.entrypoint, Command: tc.command})
			if st.Code != 0 || out != tc.want {
				t.Errorf("got %q (exit %d), want %q", out, st.Code, tc.want)
			}
		})
	}
}

func TestHostNetwork(t *testing.T) {
	e := newEnv(t)
	hostIfaces, _ := os.ReadDir("/sys/class/net")
	out := e.sh(t, runtime.ContainerSpec{HostNetwork: true}, "ls /sys/class/net")
	for _, i := range hostIfaces {
		if !strings.Contains(out, i.Name()) {
			t.Errorf("host interface %s not visible in host mode: %s", i.Name(), out)
		}
	}
}

func TestTaskCgroup(t *testing.T) {
	e := newEnv(t)
	taskID := "task-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	parent, err := e.rt.CreateTaskCgroup(taskID, runtime.TaskResources{CPUQuota: 50000, MemoryLimit: 256 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.RemoveTaskCgroup(taskID) })
	out := e.sh(t, runtime.ContainerSpec{CgroupParent: parent}, "cat /proc/self/cgroup")
	if !strings.Contains(out, parent+"/") {
		t.Errorf("container cgroup is not under %s:\n%s", parent, out)
	}
	quota := "/sys/fs/cgroup/cpu" + parent + "/cpu.cfs_quota_us"
	mem := "/sys/fs/cgroup/memory" + parent + "/memory.limit_in_bytes"
	wantQuota, wantMem := "50000", strconv.Itoa(256<<20)
	if cgroupV2() {
		quota, mem = "/sys/fs/cgroup"+parent+"/cpu.max", "/sys/fs/cgroup"+parent+"/memory.max"
		wantQuota = "50000 100000"
	}
	for f, want := range map[string]string{quota: wantQuota, mem: wantMem} {
		b, err := os.ReadFile(f)
		if err != nil || strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q (%v), want %q", f, b, err, want)
		}
	}
	if err := e.rt.RemoveTaskCgroup(taskID); err != nil {
		t.Errorf("remove task cgroup: %v", err)
	}
}

func TestDockerLabelsOnContainer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := newID(t)
	labels := map[string]string{runtime.LabelTaskARN: "arn:aws:ecs:us-east-1:1:task/c/abc", "team": "web"}
	if err := e.rt.Create(ctx, runtime.ContainerSpec{ID: id, Image: e.images.Ref("shell"), Labels: labels}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.Remove(ctx, id) })
	list, err := e.rt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != id || list[0].Labels["team"] != "web" || list[0].Labels[runtime.LabelTaskARN] != labels[runtime.LabelTaskARN] {
		t.Fatalf("List = %+v", list)
	}
	if list[0].Status != runtime.StatusCreated {
		t.Errorf("status %s, want created", list[0].Status)
	}
}

func TestOutputOfQuickExitIsComplete(t *testing.T) {
	e := newEnv(t)
	out, st := e.run(t, runtime.ContainerSpec{Command: []string{"seq", "1", "20000"}})
	if st.Code != 0 {
		t.Fatalf("exit %d", st.Code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 20000 || lines[19999] != "20000" {
		t.Fatalf("got %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestExitCodeAndOOM(t *testing.T) {
	e := newEnv(t)
	_, st := e.run(t, runtime.ContainerSpec{Command: []string{"sh", "-c", "exit 7"}})
	if st.Code != 7 || st.OOMKilled {
		t.Errorf("exit = %+v, want code 7", st)
	}
	_, st = e.run(t, runtime.ContainerSpec{MemoryLimit: 16 << 20, Command: []string{"sh", "-c", "tail /dev/zero"}})
	if !st.OOMKilled || st.Code != 137 {
		t.Errorf("exit = %+v, want OOM kill with 137", st)
	}
}

func TestStopSignalAndTimeout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The entrypoint image's STOPSIGNAL is SIGUSR1: a trap on it proves it was used.
	id := newID(t)
	spec := runtime.ContainerSpec{ID: id, Image: e.images.Ref("entrypoint"), Entrypoint: []string{"sh", "-c",
		"trap 'echo got-usr1; exit 3' USR1; echo ready; while true; do sleep 0.1; done"}}
	if err := e.rt.Create(ctx, spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.Remove(ctx, id) })
	var out syncBuffer
	if err := e.rt.Start(ctx, id, &out, &out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready") })
	if err := e.rt.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ := e.rt.Wait(ctx, id)
	if st.Code != 3 || !strings.Contains(out.String(), "got-usr1") {
		t.Errorf("stop signal: exit %+v, output %q", st, out.String())
	}

	// A process that ignores SIGTERM is killed when the timeout runs out.
	id2 := newID(t)
	if err := e.rt.Create(ctx, runtime.ContainerSpec{ID: id2, Image: e.images.Ref("shell"), Command: []string{"sh", "-c",
		"trap '' TERM; echo ready; while true; do sleep 0.1; done"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.Remove(ctx, id2) })
	var out2 syncBuffer
	if err := e.rt.Start(ctx, id2, &out2, &out2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out2.String(), "ready") })
	begin := time.Now()
	if err := e.rt.Stop(ctx, id2, time.Second); err != nil {
		t.Fatal(err)
	}
	st, _ = e.rt.Wait(ctx, id2)
	if st.Code != 137 || time.Since(begin) < time.Second {
		t.Errorf("escalation: exit %+v after %s", st, time.Since(begin))
	}
}

func TestExec(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := newID(t)
	if err := e.rt.Create(ctx, runtime.ContainerSpec{ID: id, Image: e.images.Ref("shell"), Command: []string{"sleep", "60"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.rt.Remove(ctx, id) })
	if err := e.rt.Start(ctx, id, nil, nil); err != nil {
		t.Fatal(err)
	}
	res, err := e.rt.Exec(ctx, id, []string{"sh", "-c", "echo probe; exit 4"}, 5*time.Second)
	if err != nil || res.ExitCode != 4 || res.Output != "probe\n" {
		t.Errorf("exec = %+v, %v", res, err)
	}
	_, err = e.rt.Exec(ctx, id, []string{"sleep", "10"}, 300*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("exec timeout: %v", err)
	}
	stats, err := e.rt.Stats(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stats.MemoryUsage == 0 || stats.Pids == 0 || stats.CPUUsageNanos == 0 {
		t.Errorf("stats look empty: %+v", stats)
	}
	if err := e.rt.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestAdoptAfterRestart: a new Runtime (a restarted ecsd) finds the
// running container by label, attaches, and stops it; one that exited
// while nobody watched reports its exit code.
func TestAdoptAfterRestart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	running, quick := newID(t), newID(t)
	for _, s := range []runtime.ContainerSpec{
		{ID: running, Image: e.images.Ref("shell"), Command: []string{"sh", "-c", "trap 'exit 143' TERM; while true; do echo tick; sleep 0.2; done"}},
		{ID: quick, Image: e.images.Ref("shell"), Command: []string{"sh", "-c", "sleep 0.5; exit 9"}},
	} {
		if err := e.rt.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.rt.Remove(ctx, s.ID) })
		if err := e.rt.Start(ctx, s.ID, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	e.rt.Close() // the agent goes away; containers keep running

	time.Sleep(time.Second)
	rt2 := e.open(t)
	list, err := rt2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]runtime.ContainerInfo{}
	for _, c := range list {
		got[c.ID] = c
	}
	if got[running].Status != runtime.StatusRunning {
		t.Errorf("running container: %+v", got[running])
	}
	if got[quick].Status != runtime.StatusStopped || got[quick].Exit == nil || got[quick].Exit.Code != 9 {
		t.Errorf("exited container: %+v", got[quick])
	}
	var out syncBuffer
	if _, err := rt2.Attach(ctx, running, &out, &out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), "tick") })
	if err := rt2.Stop(ctx, running, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := rt2.Wait(ctx, running)
	if err != nil || st.Code != 143 {
		t.Errorf("adopted stop: %+v %v", st, err)
	}
	// Restart in place keeps the container and its writable layer.
	if err := rt2.Start(ctx, quick, nil, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := rt2.Wait(ctx, quick); err != nil || st.Code != 9 {
		t.Errorf("restarted container: %+v %v", st, err)
	}
}

func TestInvalidSpecsFailCleanly(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, spec := range map[string]runtime.ContainerSpec{
		"negative memory": {MemoryLimit: -1},
		"unknown user":    {User: "nobody-here"},
		"missing image":   {Image: "127.0.0.1:1/none:latest"},
		"bad reference":   {Image: "UPPER/Case::bad"},
		"bad capability":  {CapAdd: []string{"NOT_A_CAP"}},
	} {
		t.Run(name, func(t *testing.T) {
			spec.ID = newID(t)
			if spec.Image == "" {
				spec.Image = e.images.Ref("shell")
			}
			err := e.rt.Create(ctx, spec)
			if err == nil {
				// Some problems (an unknown user) only show at start.
				t.Cleanup(func() { e.rt.Remove(ctx, spec.ID) })
				err = e.rt.Start(ctx, spec.ID, nil, nil)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, runtime.ErrCannotCreate) && !errors.Is(err, runtime.ErrCannotStart) {
				t.Errorf("error %q is not a CannotCreate/CannotStart error", err)
			}
			if !strings.HasPrefix(err.Error(), "Cannot") {
				t.Errorf("error %q does not lead with ECS's error name", err)
			}
		})
	}
	if list, _ := e.rt.List(ctx); len(list) > 0 {
		for _, c := range list {
			if c.Status == runtime.StatusRunning {
				t.Errorf("left running: %s", c.ID)
			}
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
