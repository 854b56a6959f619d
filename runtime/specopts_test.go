package runtime

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// testRootfs is an image root with users and groups for WithDockerUser,
// which reads them from an absolute root path when the container has no
// snapshot.
func testRootfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
		"group":  "root:x:0:\nwheel:x:10:root\napp:x:1000:\nstaff:x:50:app\n",
	} {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var testImage = v1.ImageConfig{
	Entrypoint: []string{"/entrypoint.sh"},
	Cmd:        []string{"serve", "--port", "80"},
	Env:        []string{"PATH=/app/bin:/usr/bin:/bin", "MODE=image"},
	WorkingDir: "/app",
}

// buildSpec runs specOpts on in and applies the options to containerd's
// default spec, with no containerd.
func buildSpec(t *testing.T, in specInput) (*oci.Spec, error) {
	t.Helper()
	opts, err := specOpts(in)
	if err != nil {
		return nil, err
	}
	ctx := namespaces.WithNamespace(context.Background(), "ecsd")
	return oci.GenerateSpec(ctx, nil, &containers.Container{ID: in.Spec.ID},
		append([]oci.SpecOpts{oci.WithRootFSPath(testRootfs(t))}, opts...)...)
}

func input(spec ContainerSpec) specInput {
	return specInput{
		Spec:           spec,
		Image:          testImage,
		HostsPath:      "/var/lib/ecsd/c/" + spec.ID + "/hosts",
		ResolvConfPath: "/var/lib/ecsd/c/" + spec.ID + "/resolv.conf",
		HostnamePath:   "/var/lib/ecsd/c/" + spec.ID + "/hostname",
		InitPath:       "/usr/bin/tini-static",
	}
}

func findMount(s *oci.Spec, dst string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func hasNamespace(s *oci.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, n := range s.Linux.Namespaces {
		if n.Type == typ {
			return n, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func u64(v uint64) *uint64 { return &v }

// A zero ContainerSpec gets the image's process, the default seccomp
// profile, no_new_privileges and Docker's default capabilities.
func TestSpecOptsDefaults(t *testing.T) {
	s, err := buildSpec(t, input(ContainerSpec{ID: "0123456789abcdef", Image: "app"}))
	if err != nil {
		t.Fatal(err)
	}
	p := s.Process
	if want := []string{"/entrypoint.sh", "serve", "--port", "80"}; !slices.Equal(p.Args, want) {
		t.Errorf("args = %q", p.Args)
	}
	if want := []string{"PATH=/app/bin:/usr/bin:/bin", "HOSTNAME=0123456789ab", "MODE=image"}; !slices.Equal(p.Env, want) {
		t.Errorf("env = %q", p.Env)
	}
	if p.Cwd != "/app" || s.Hostname != "0123456789ab" {
		t.Errorf("cwd %q, hostname %q", p.Cwd, s.Hostname)
	}
	if p.User.UID != 0 || p.User.GID != 0 || !slices.Equal(p.User.AdditionalGids, []uint32{0, 10}) {
		t.Errorf("user = %+v", p.User)
	}
	if !p.NoNewPrivileges {
		t.Error("no_new_privileges is off")
	}
	if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActErrno {
		t.Errorf("default seccomp profile missing: %+v", s.Linux.Seccomp)
	}
	if slices.Contains(p.Capabilities.Bounding, "CAP_SYS_ADMIN") || !slices.Contains(p.Capabilities.Bounding, "CAP_CHOWN") {
		t.Errorf("capabilities = %v", p.Capabilities.Bounding)
	}
	if _, ok := hasNamespace(s, specs.NetworkNamespace); !ok {
		t.Error("no network namespace")
	}
	if s.Linux.CgroupsPath != "/ecsd/0123456789abcdef" {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}
	if s.Root.Readonly || len(s.Linux.Sysctl) != 0 || len(s.Annotations) != 0 {
		t.Errorf("unexpected settings: root %+v sysctl %v annotations %v", s.Root, s.Linux.Sysctl, s.Annotations)
	}
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		m := findMount(s, "/etc/"+f)
		if m == nil || m.Source != "/var/lib/ecsd/c/0123456789abcdef/"+f || !slices.Contains(m.Options, "rw") {
			t.Errorf("/etc/%s mount = %+v", f, m)
		}
	}
	if r := s.Linux.Resources; r.Memory != nil || r.CPU != nil || r.Pids != nil {
		t.Errorf("resources set by default: %+v", r)
	}
}

func TestSpecOptsProcess(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		entrypoint, command  []string
		env                  []string
		workingDir, user     string
		image                *v1.ImageConfig
		wantArgs, wantEnvHas []string
		wantCwd              string
		wantUID, wantGID     uint32
	}{
		{name: "command replaces CMD", command: []string{"migrate"}, wantArgs: []string{"/entrypoint.sh", "migrate"}},
		{name: "entrypoint drops CMD", entrypoint: []string{"/bin/sh", "-c"}, wantArgs: []string{"/bin/sh", "-c"}},
		{name: "entrypoint and command", entrypoint: []string{"/bin/sh", "-c"}, command: []string{"echo $MODE"},
			wantArgs: []string{"/bin/sh", "-c", "echo $MODE"}},
		{name: "empty entrypoint keeps CMD", entrypoint: []string{}, wantArgs: []string{"serve", "--port", "80"}},
		{name: "env over image env, working dir", env: []string{"MODE=task", "X=1"}, workingDir: "/tmp",
			wantArgs: []string{"/entrypoint.sh", "serve", "--port", "80"}, wantEnvHas: []string{"MODE=task", "X=1"}, wantCwd: "/tmp"},
		{name: "spec user", user: "app", wantArgs: []string{"/entrypoint.sh", "serve", "--port", "80"}, wantUID: 1000, wantGID: 1000},
		{name: "image user when the spec has none", image: &v1.ImageConfig{Cmd: []string{"x"}, User: "app:staff"},
			wantArgs: []string{"x"}, wantUID: 1000, wantGID: 50, wantCwd: "/"},
		{name: "spec user wins over the image's", user: "0", image: &v1.ImageConfig{Cmd: []string{"x"}, User: "app"},
			wantArgs: []string{"x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(ContainerSpec{ID: "c1", Entrypoint: tc.entrypoint, Command: tc.command, Env: tc.env,
				WorkingDir: tc.workingDir, User: tc.user})
			if tc.image != nil {
				in.Image = *tc.image
			}
			s, err := buildSpec(t, in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(s.Process.Args, tc.wantArgs) {
				t.Errorf("args = %q, want %q", s.Process.Args, tc.wantArgs)
			}
			for _, e := range tc.wantEnvHas {
				if !slices.Contains(s.Process.Env, e) {
					t.Errorf("env %q lacks %q", s.Process.Env, e)
				}
			}
			if tc.wantCwd != "" && s.Process.Cwd != tc.wantCwd {
				t.Errorf("cwd = %q", s.Process.Cwd)
			}
			if u := s.Process.User; u.UID != tc.wantUID || u.GID != tc.wantGID {
				t.Errorf("user = %+v", u)
			}
		})
	}
}

func TestSpecOptsResources(t *testing.T) {
	s, err := buildSpec(t, input(ContainerSpec{
		ID:                "c1",
		MemoryLimit:       256 << 20,
		MemoryReservation: 128 << 20,
		MemorySwap:        512 << 20,
		Swappiness:        u64(0),
		CPUShares:         512,
		PidsLimit:         100,
		Ulimits:           []Ulimit{{Name: "nofile", Soft: 65535, Hard: 65535}, {Name: "core", Soft: 0, Hard: -1}},
		CgroupParent:      "/ecstasks/task-1/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Linux.Resources.Memory
	if *m.Limit != 256<<20 || *m.Reservation != 128<<20 || *m.Swap != 512<<20 || *m.Swappiness != 0 {
		t.Errorf("memory = limit %d reservation %d swap %d swappiness %d", *m.Limit, *m.Reservation, *m.Swap, *m.Swappiness)
	}
	if *s.Linux.Resources.CPU.Shares != 512 || *s.Linux.Resources.Pids.Limit != 100 {
		t.Errorf("cpu %+v pids %+v", s.Linux.Resources.CPU, s.Linux.Resources.Pids)
	}
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 65535, Hard: 65535}, {Type: "RLIMIT_CORE", Soft: 0, Hard: ^uint64(0)}}
	if !reflect.DeepEqual(s.Process.Rlimits, want) {
		t.Errorf("rlimits = %+v", s.Process.Rlimits)
	}
	if s.Linux.CgroupsPath != "/ecstasks/task-1/c1" {
		t.Errorf("cgroups path = %q", s.Linux.CgroupsPath)
	}

	s, err = buildSpec(t, input(ContainerSpec{ID: "c2", MemoryLimit: 64 << 20, MemorySwap: -1, PidsLimit: -1}))
	if err != nil {
		t.Fatal(err)
	}
	if *s.Linux.Resources.Memory.Swap != -1 || *s.Linux.Resources.Pids.Limit != -1 {
		t.Errorf("unlimited swap/pids: %+v %+v", s.Linux.Resources.Memory, s.Linux.Resources.Pids)
	}
}

func TestSpecOptsSecurity(t *testing.T) {
	for _, tc := range []struct {
		name        string
		spec        ContainerSpec
		wantSeccomp bool
		wantNNP     bool
		check       func(*testing.T, *oci.Spec)
	}{
		{name: "cap add and drop", spec: ContainerSpec{CapAdd: []string{"NET_ADMIN", "sys_admin"}, CapDrop: []string{"CAP_MKNOD"}},
			wantSeccomp: true, wantNNP: true, check: func(t *testing.T, s *oci.Spec) {
				caps := s.Process.Capabilities.Effective
				if !slices.Contains(caps, "CAP_NET_ADMIN") || !slices.Contains(caps, "CAP_SYS_ADMIN") || slices.Contains(caps, "CAP_MKNOD") {
					t.Errorf("caps = %v", caps)
				}
				// The default profile follows the capabilities: CAP_SYS_ADMIN
				// allows mount(2).
				if !seccompAllows(s, "mount") {
					t.Error("seccomp profile does not allow mount with CAP_SYS_ADMIN")
				}
			}},
		{name: "without CAP_SYS_ADMIN mount is not allowed", spec: ContainerSpec{},
			wantSeccomp: true, wantNNP: true, check: func(t *testing.T, s *oci.Spec) {
				if seccompAllows(s, "mount") {
					t.Error("seccomp allows mount without CAP_SYS_ADMIN")
				}
			}},
		{name: "seccomp unconfined", spec: ContainerSpec{SeccompUnconfined: true}, wantNNP: true},
		{name: "new privileges allowed", spec: ContainerSpec{AllowNewPrivileges: true}, wantSeccomp: true},
		{name: "privileged", spec: ContainerSpec{Privileged: true, CapDrop: []string{"ALL"}},
			check: func(t *testing.T, s *oci.Spec) {
				if !slices.Contains(s.Process.Capabilities.Bounding, "CAP_SYS_ADMIN") {
					t.Errorf("privileged caps = %v", s.Process.Capabilities.Bounding)
				}
				if d := s.Linux.Resources.Devices; len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" || d[0].Type != "" {
					t.Errorf("device cgroup = %+v", d)
				}
				if len(s.Linux.Devices) == 0 || len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
					t.Errorf("devices %d masked %v readonly %v", len(s.Linux.Devices), s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
			}},
		{name: "read-only rootfs makes the host files read-only", spec: ContainerSpec{ReadonlyRootfs: true},
			wantSeccomp: true, wantNNP: true, check: func(t *testing.T, s *oci.Spec) {
				if !s.Root.Readonly {
					t.Error("rootfs is writable")
				}
				if m := findMount(s, "/etc/hosts"); m == nil || !slices.Contains(m.Options, "ro") {
					t.Errorf("/etc/hosts = %+v", m)
				}
			}},
		{name: "device", spec: ContainerSpec{Devices: []Device{{HostPath: "/dev/null", ContainerPath: "/dev/sink", Permissions: "rw"}}},
			wantSeccomp: true, wantNNP: true, check: func(t *testing.T, s *oci.Spec) {
				if d := s.Linux.Devices; len(d) != 1 || d[0].Path != "/dev/sink" || d[0].Major != 1 || d[0].Minor != 3 {
					t.Errorf("devices = %+v", d)
				}
				rules := s.Linux.Resources.Devices
				if r := rules[len(rules)-1]; !r.Allow || r.Access != "rw" || *r.Major != 1 || *r.Minor != 3 {
					t.Errorf("device rule = %+v", r)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.ID = "c1"
			s, err := buildSpec(t, input(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Linux.Seccomp != nil; got != tc.wantSeccomp {
				t.Errorf("seccomp profile present = %v, want %v", got, tc.wantSeccomp)
			}
			if s.Process.NoNewPrivileges != tc.wantNNP {
				t.Errorf("no_new_privileges = %v, want %v", s.Process.NoNewPrivileges, tc.wantNNP)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func seccompAllows(s *oci.Spec, syscall string) bool {
	for _, sc := range s.Linux.Seccomp.Syscalls {
		if sc.Action == specs.ActAllow && slices.Contains(sc.Names, syscall) && len(sc.Args) == 0 {
			return true
		}
	}
	return false
}

func TestSpecOptsNetwork(t *testing.T) {
	s, err := buildSpec(t, input(ContainerSpec{ID: "c1", HostNetwork: true, Sysctls: map[string]string{"kernel.shmmax": "1"}}))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := hasNamespace(s, specs.NetworkNamespace); ok {
		t.Error("host network still has a network namespace")
	}
	if _, ok := hasNamespace(s, specs.UTSNamespace); !ok {
		t.Error("host network must keep its own UTS namespace, as Docker")
	}
	if host, _ := os.Hostname(); s.Hostname != host {
		t.Errorf("hostname = %q, want the host's %q", s.Hostname, host)
	}
	if m := findMount(s, "/etc/hosts"); m == nil || m.Source != "/var/lib/ecsd/c/c1/hosts" {
		t.Errorf("/etc/hosts = %+v", m)
	}

	in := input(ContainerSpec{ID: "c1", HostNetwork: true})
	in.HostsPath, in.ResolvConfPath = "", ""
	s, err = buildSpec(t, in)
	if err != nil {
		t.Fatal(err)
	}
	if m := findMount(s, "/etc/hosts"); m == nil || m.Source != "/etc/hosts" {
		t.Errorf("host mode without a hosts file: /etc/hosts = %+v", m)
	}
	if m := findMount(s, "/etc/resolv.conf"); m == nil || m.Source != "/etc/resolv.conf" {
		t.Errorf("host mode without a resolv.conf: %+v", m)
	}

	s, err = buildSpec(t, input(ContainerSpec{ID: "c1", Hostname: "web", NetNSPath: "/var/run/netns/task-1",
		Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}}))
	if err != nil {
		t.Fatal(err)
	}
	if ns, ok := hasNamespace(s, specs.NetworkNamespace); !ok || ns.Path != "/var/run/netns/task-1" {
		t.Errorf("network namespace = %+v", ns)
	}
	if s.Hostname != "web" || s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] != "0" {
		t.Errorf("hostname %q sysctls %v", s.Hostname, s.Linux.Sysctl)
	}
	if !slices.Contains(s.Process.Env, "HOSTNAME=web") {
		t.Errorf("env = %q", s.Process.Env)
	}
}

func TestSpecOptsFilesystem(t *testing.T) {
	s, err := buildSpec(t, input(ContainerSpec{
		ID: "c1",
		Mounts: []Mount{
			{Source: "/srv/data/cache", Destination: "/data/cache"},
			{Source: "/srv/data", Destination: "/data", ReadOnly: true},
			{Source: "/srv/hosts", Destination: "/etc/hosts"},
		},
		Tmpfs:   []Tmpfs{{Destination: "/data/tmp", SizeBytes: 1 << 20, Options: []string{"exec"}}, {Destination: "/scratch"}},
		ShmSize: 256 << 20,
		Init:    true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range s.Mounts {
		if strings.HasPrefix(m.Destination, "/data") || m.Destination == "/scratch" {
			order = append(order, m.Destination)
		}
	}
	if want := []string{"/data", "/scratch", "/data/cache", "/data/tmp"}; !slices.Equal(order, want) {
		t.Errorf("mount order = %v, want %v", order, want)
	}
	if m := findMount(s, "/data"); m.Source != "/srv/data" || !slices.Contains(m.Options, "ro") {
		t.Errorf("/data = %+v", m)
	}
	if m := findMount(s, "/data/tmp"); m.Type != "tmpfs" || !slices.Equal(m.Options, []string{"nosuid", "nodev", "exec", "size=1048576"}) {
		t.Errorf("/data/tmp = %+v", m)
	}
	if m := findMount(s, "/etc/hosts"); m.Source != "/srv/hosts" {
		t.Errorf("a user mount at /etc/hosts must win: %+v", m)
	}
	if m := findMount(s, "/dev/shm"); m == nil || !slices.Contains(m.Options, "size=262144k") {
		t.Errorf("/dev/shm = %+v", m)
	}
	if want := []string{"/sbin/docker-init", "--", "/entrypoint.sh", "serve", "--port", "80"}; !slices.Equal(s.Process.Args, want) {
		t.Errorf("args = %q", s.Process.Args)
	}
	if m := findMount(s, "/sbin/docker-init"); m == nil || m.Source != "/usr/bin/tini-static" || !slices.Contains(m.Options, "ro") {
		t.Errorf("init mount = %+v", m)
	}
}

func TestSpecOptsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec ContainerSpec
		in   func(*specInput)
		want string
	}{
		{"no id", ContainerSpec{}, nil, "container id is empty"},
		{"negative memory", ContainerSpec{MemoryLimit: -1}, nil, "memory limit -1 is negative"},
		{"memory below 4 MiB", ContainerSpec{MemoryLimit: 4<<20 - 1}, nil, "below the minimum of 4 MiB"},
		{"reservation above limit", ContainerSpec{MemoryLimit: 8 << 20, MemoryReservation: 16 << 20}, nil, "above the memory limit"},
		{"negative reservation", ContainerSpec{MemoryReservation: -5}, nil, "memory reservation -5 is negative"},
		{"swap without limit", ContainerSpec{MemorySwap: 8 << 20}, nil, "memory swap needs a memory limit"},
		{"swap below limit", ContainerSpec{MemoryLimit: 16 << 20, MemorySwap: 8 << 20}, nil, "below the memory limit"},
		{"swap -2", ContainerSpec{MemorySwap: -2}, nil, "memory swap -2 is invalid"},
		{"swappiness", ContainerSpec{Swappiness: u64(101)}, nil, "swappiness 101"},
		{"cpu shares 1", ContainerSpec{CPUShares: 1}, nil, "cpu shares 1 are not in 2..262144"},
		{"cpu shares too many", ContainerSpec{CPUShares: 262145}, nil, "cpu shares 262145"},
		{"pids", ContainerSpec{PidsLimit: -3}, nil, "pids limit -3"},
		{"ulimit name", ContainerSpec{Ulimits: []Ulimit{{Name: "files", Soft: 1, Hard: 1}}}, nil, `unknown ulimit "files"`},
		{"ulimit order", ContainerSpec{Ulimits: []Ulimit{{Name: "nofile", Soft: 2, Hard: 1}}}, nil, "soft limit 2 is above hard limit 1"},
		{"capability", ContainerSpec{CapAdd: []string{"FLY"}}, nil, `cap add: unknown capability "FLY"`},
		{"device path", ContainerSpec{Devices: []Device{{HostPath: "dev/fuse"}}}, nil, `device "dev/fuse" is not an absolute path`},
		{"device permissions", ContainerSpec{Devices: []Device{{HostPath: "/dev/fuse", Permissions: "rwx"}}}, nil, `permissions "rwx"`},
		{"sysctl not namespaced", ContainerSpec{Sysctls: map[string]string{"vm.overcommit_memory": "1"}}, nil, "not namespaced"},
		{"net sysctl on host network", ContainerSpec{HostNetwork: true, Sysctls: map[string]string{"net.core.somaxconn": "1024"}}, nil,
			"not allowed in the host's network namespace"},
		{"relative mount", ContainerSpec{Mounts: []Mount{{Source: "data", Destination: "/data"}}}, nil, `mount source "data"`},
		{"mount over root", ContainerSpec{Mounts: []Mount{{Source: "/data", Destination: "/"}}}, nil, "cannot mount over /"},
		{"tmpfs size", ContainerSpec{Tmpfs: []Tmpfs{{Destination: "/t", SizeBytes: -1}}}, nil, "size -1 is negative"},
		{"shm size", ContainerSpec{ShmSize: -1}, nil, "shm size -1"},
		{"init without binary", ContainerSpec{Init: true}, func(in *specInput) { in.InitPath = "" }, "no init binary"},
		{"host network and netns", ContainerSpec{HostNetwork: true, NetNSPath: "/run/netns/x"}, nil, "both given"},
		{"relative working dir", ContainerSpec{WorkingDir: "app"}, nil, `working directory "app"`},
		{"long hostname", ContainerSpec{Hostname: strings.Repeat("h", 65)}, nil, "longer than 64"},
		{"relative cgroup parent", ContainerSpec{CgroupParent: "ecs/task"}, nil, "cgroup parent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "no id" {
				tc.spec.ID = "c1"
			}
			in := input(tc.spec)
			if tc.in != nil {
				tc.in(&in)
			}
			_, err := specOpts(in)
			if !errors.Is(err, ErrInvalidSpec) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want ErrInvalidSpec with %q", err, tc.want)
			}
		})
	}

	// Every problem is listed.
	_, err := specOpts(input(ContainerSpec{ID: "c1", MemoryLimit: -1, CPUShares: 1, ShmSize: -1}))
	for _, want := range []string{"memory limit", "cpu shares", "shm size"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to list %q", err, want)
		}
	}
}

// Errors that only the host or image can reveal come when the options are
// applied, as containerd creates the container.
func TestSpecOptsApplyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec ContainerSpec
		img  *v1.ImageConfig
		want string
	}{
		{"unknown user", ContainerSpec{User: "nobody-here"}, nil, `user "nobody-here"`},
		{"missing device", ContainerSpec{Devices: []Device{{HostPath: "/dev/ecsd-no-such-device"}}}, nil, "no such file"},
		{"no command", ContainerSpec{}, &v1.ImageConfig{}, "no command specified"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.ID = "c1"
			in := input(tc.spec)
			if tc.img != nil {
				in.Image = *tc.img
			}
			_, err := buildSpec(t, in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
