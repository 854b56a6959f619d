package ocispec

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// generate applies opts to containerd's default spec, with no client.
func generate(t *testing.T, opts ...oci.SpecOpts) (*oci.Spec, error) {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), "ecsd-test")
	return oci.GenerateSpec(ctx, nil, &containers.Container{ID: "x"}, opts...)
}

func mustGenerate(t *testing.T, opts ...oci.SpecOpts) *oci.Spec {
	t.Helper()
	s, err := generate(t, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mountAt(s *oci.Spec, dst string) *specs.Mount {
	var found *specs.Mount
	n := 0
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			found = &s.Mounts[i]
			n++
		}
	}
	if n > 1 {
		return &specs.Mount{Type: "DUPLICATE"}
	}
	return found
}

func ptr[T any](v T) *T { return &v }

func TestResources(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []oci.SpecOpts
		check func(*testing.T, *oci.Spec)
	}{
		{"reservation", []oci.SpecOpts{WithMemoryReservation(64 << 20)}, func(t *testing.T, s *oci.Spec) {
			if got := s.Linux.Resources.Memory.Reservation; got == nil || *got != 64<<20 {
				t.Errorf("reservation = %v", got)
			}
		}},
		{"reservation with containerd's limit and swap", []oci.SpecOpts{
			oci.WithMemoryLimit(128 << 20), WithMemoryReservation(64 << 20), oci.WithMemorySwap(-1),
		}, func(t *testing.T, s *oci.Spec) {
			m := s.Linux.Resources.Memory
			if *m.Limit != 128<<20 || *m.Reservation != 64<<20 || *m.Swap != -1 {
				t.Errorf("memory = %+v", m)
			}
		}},
		{"swappiness", []oci.SpecOpts{WithSwappiness(10)}, func(t *testing.T, s *oci.Spec) {
			if got := s.Linux.Resources.Memory.Swappiness; got == nil || *got != 10 {
				t.Errorf("swappiness = %v", got)
			}
		}},
		{"ulimits replace the default nofile", []oci.SpecOpts{WithUlimits(
			Ulimit{Name: "nofile", Soft: 4096, Hard: 8192},
			Ulimit{Name: "CORE", Soft: -1, Hard: -1},
			Ulimit{Name: "rlimit_nproc", Soft: 10, Hard: 20},
		)}, func(t *testing.T, s *oci.Spec) {
			want := []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Soft: 4096, Hard: 8192},
				{Type: "RLIMIT_CORE", Soft: math.MaxUint64, Hard: math.MaxUint64},
				{Type: "RLIMIT_NPROC", Soft: 10, Hard: 20},
			}
			if !reflect.DeepEqual(s.Process.Rlimits, want) {
				t.Errorf("rlimits = %+v", s.Process.Rlimits)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, mustGenerate(t, tc.opts...)) })
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  oci.SpecOpts
		want string
	}{
		{"unknown ulimit", WithUlimits(Ulimit{Name: "as", Soft: 1, Hard: 1}), `unknown ulimit "as"`},
		{"soft above hard", WithUlimits(Ulimit{Name: "nofile", Soft: 10, Hard: 5}), "soft limit 10 is above hard limit 5"},
		{"negative ulimit", WithUlimits(Ulimit{Name: "nofile", Soft: -2, Hard: 5}), "negative"},
		{"unlimited soft, finite hard", WithUlimits(Ulimit{Name: "nofile", Soft: -1, Hard: 5}), "above hard limit"},
		{"swappiness", WithSwappiness(101), "not in 0..100"},
		{"unknown capability", WithCapabilities([]string{"NET_FLY"}, nil), `unknown capability "NET_FLY"`},
		{"unknown capability dropped", WithCapabilities(nil, []string{"cap_bogus"}), `cap drop: unknown capability "cap_bogus"`},
		{"device permissions", WithDevice("/dev/null", "", "rwx"), `invalid permissions "rwx"`},
		{"device permissions repeated", WithDevice("/dev/null", "", "rr"), "invalid permissions"},
		{"missing device", WithDevice("/dev/does-not-exist", "", ""), "no such file"},
		{"not a device", WithDevice("/etc/hostname", "", ""), "not a device"},
		{"relative device", WithDevice("dev/null", "", ""), "not absolute"},
		{"relative bind source", WithBindMount("data", "/data", false), "not absolute"},
		{"relative bind destination", WithBindMount("/data", "data", false), "not absolute"},
		{"bind over root", WithBindMount("/data", "/", false), "cannot be /"},
		{"tmpfs negative size", WithTmpfs("/t", -1, nil), "negative size"},
		{"shm size", WithShmSize(0), "not positive"},
		{"non-namespaced sysctl", WithSysctls(map[string]string{"vm.swappiness": "1"}), "not namespaced"},
		{"hostname sysctl", WithSysctls(map[string]string{"kernel.hostname": "x"}), "set the hostname"},
		{"net sysctl on host network", oci.Compose(oci.WithHostNamespace(specs.NetworkNamespace),
			WithSysctls(map[string]string{"net.ipv4.ip_forward": "1"})), "shares the host's network namespace"},
		{"relative init", WithInit("tini"), "not an absolute path"},
		{"init without args", WithInit("/usr/bin/tini"), "no command specified"},
		{"no command", WithDockerProcess(v1.ImageConfig{}, nil, nil, nil, ""), "no command specified"},
		{"relative cwd", WithDockerProcess(v1.ImageConfig{Cmd: []string{"sh"}}, nil, nil, nil, "app"), "not an absolute path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generate(t, tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := generate(t, WithDockerProcess(v1.ImageConfig{}, nil, nil, nil, "")); !errors.Is(err, ErrNoCommand) {
		t.Errorf("no command: %v is not ErrNoCommand", err)
	}
}

func TestCapabilities(t *testing.T) {
	defaults := mustGenerate(t).Process.Capabilities.Bounding
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(defaults), func(c string) bool { return slices.Contains(drop, c) })
	}
	allBut := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(cap.Known()), func(c string) bool { return slices.Contains(drop, c) })
	}
	for _, tc := range []struct {
		name      string
		add, drop []string
		want      []string
	}{
		{"nothing", nil, nil, defaults},
		{"add without prefix, any case", []string{"net_admin", "Sys_Ptrace"}, nil, append(slices.Clone(defaults), "CAP_NET_ADMIN", "CAP_SYS_PTRACE")},
		{"add with prefix, already present", []string{"CAP_CHOWN"}, nil, defaults},
		{"drop", nil, []string{"MKNOD", "cap_net_raw"}, without("CAP_MKNOD", "CAP_NET_RAW")},
		{"add all", []string{"ALL"}, nil, cap.Known()},
		{"add all, drop some", []string{"all"}, []string{"SYS_ADMIN"}, allBut("CAP_SYS_ADMIN")},
		{"drop all", nil, []string{"ALL"}, nil},
		{"drop all, add some", []string{"NET_BIND_SERVICE"}, []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}},
		{"named in both lists: kept, as in Docker", []string{"NET_ADMIN", "CHOWN"}, []string{"NET_ADMIN", "CHOWN"},
			append(without("CAP_CHOWN"), "CAP_NET_ADMIN", "CAP_CHOWN")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustGenerate(t, WithCapabilities(tc.add, tc.drop)).Process.Capabilities
			for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
				if !slices.Equal(set, tc.want) {
					t.Errorf("%s = %v\nwant %v", name, set, tc.want)
				}
			}
		})
	}
}

func TestDevice(t *testing.T) {
	link := filepath.Join(t.TempDir(), "null-link")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                  string
		host, container, perm string
		wantPath, wantPerm    string
	}{
		{"same path, default permissions", "/dev/null", "", "", "/dev/null", "rwm"},
		{"renamed", "/dev/null", "/dev/mynull", "rw", "/dev/mynull", "rw"},
		{"symlink is followed, container path is the link's", link, "", "r", link, "r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustGenerate(t, WithDevice(tc.host, tc.container, tc.perm))
			if len(s.Linux.Devices) != 1 {
				t.Fatalf("devices = %+v", s.Linux.Devices)
			}
			d := s.Linux.Devices[0]
			if d.Path != tc.wantPath || d.Type != "c" || d.Major != 1 || d.Minor != 3 {
				t.Errorf("device = %+v", d)
			}
			rules := s.Linux.Resources.Devices
			last := rules[len(rules)-1]
			if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != tc.wantPerm {
				t.Errorf("cgroup rule = %+v", last)
			}
			if rules[0].Allow || rules[0].Access != "rwm" {
				t.Errorf("the default deny-all rule must stay first: %+v", rules)
			}
		})
	}
}

func TestMounts(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []oci.SpecOpts
		dst   string
		want  *specs.Mount
		check func(*testing.T, *oci.Spec)
	}{
		{name: "bind rw", opts: []oci.SpecOpts{WithBindMount("/srv/data", "/data", false)}, dst: "/data",
			want: &specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "rprivate", "rw"}}},
		{name: "bind ro", opts: []oci.SpecOpts{WithBindMount("/srv/data", "/data", true)}, dst: "/data",
			want: &specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "rprivate", "ro"}}},
		{name: "bind replaces a default mount", opts: []oci.SpecOpts{WithBindMount("/srv/run", "/run/", false)}, dst: "/run/",
			want: &specs.Mount{Destination: "/run/", Type: "bind", Source: "/srv/run", Options: []string{"rbind", "rprivate", "rw"}},
			check: func(t *testing.T, s *oci.Spec) {
				if mountAt(s, "/run") != nil {
					t.Error("the default /run tmpfs is still there")
				}
			}},
		{name: "tmpfs defaults", opts: []oci.SpecOpts{WithTmpfs("/scratch", 0, nil)}, dst: "/scratch",
			want: &specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"noexec", "nosuid", "nodev"}}},
		{name: "tmpfs options override defaults, size overrides options", opts: []oci.SpecOpts{
			WithTmpfs("/scratch", 64<<20, []string{"exec", "size=1m", "mode=1770", "ro", "rw"})}, dst: "/scratch",
			want: &specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "nodev", "exec", "mode=1770", "rw", "size=67108864"}}},
		{name: "shm size", opts: []oci.SpecOpts{WithShmSize(128<<20 + 1)}, dst: "/dev/shm",
			want: &specs.Mount{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=131073k"}}},
		{name: "hosts files rw", opts: []oci.SpecOpts{WithHostsFiles("/c/hosts", "/c/resolv.conf", "/c/hostname")}, dst: "/etc/hosts",
			want: &specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: "/c/hosts", Options: []string{"rbind", "rprivate", "rw"}},
			check: func(t *testing.T, s *oci.Spec) {
				if m := mountAt(s, "/etc/resolv.conf"); m == nil || m.Source != "/c/resolv.conf" {
					t.Errorf("resolv.conf mount = %+v", m)
				}
				if m := mountAt(s, "/etc/hostname"); m == nil || m.Source != "/c/hostname" {
					t.Errorf("hostname mount = %+v", m)
				}
			}},
		{name: "hosts files ro with a read-only rootfs, empty paths skipped",
			opts: []oci.SpecOpts{oci.WithRootFSReadonly(), WithHostsFiles("", "/c/resolv.conf", "")}, dst: "/etc/resolv.conf",
			want: &specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/c/resolv.conf", Options: []string{"rbind", "rprivate", "ro"}},
			check: func(t *testing.T, s *oci.Spec) {
				if mountAt(s, "/etc/hosts") != nil || mountAt(s, "/etc/hostname") != nil {
					t.Error("empty paths were mounted")
				}
			}},
		{name: "hosts files replace containerd's host files", opts: []oci.SpecOpts{oci.WithHostHostsFile, WithHostsFiles("/c/hosts", "", "")},
			dst: "/etc/hosts", want: &specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: "/c/hosts", Options: []string{"rbind", "rprivate", "rw"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustGenerate(t, tc.opts...)
			if got := mountAt(s, tc.dst); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("mount at %s = %+v\nwant %+v", tc.dst, got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

func TestSysctls(t *testing.T) {
	want := map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000", "fs.mqueue.msg_max": "20", "kernel.domainname": "corp"}
	s := mustGenerate(t, WithSysctls(want))
	if !reflect.DeepEqual(s.Linux.Sysctl, want) {
		t.Errorf("sysctls = %v", s.Linux.Sysctl)
	}
	s = mustGenerate(t, oci.WithHostNamespace(specs.NetworkNamespace), WithSysctls(map[string]string{"kernel.sem": "1 2 3 4"}))
	if s.Linux.Sysctl["kernel.sem"] != "1 2 3 4" {
		t.Errorf("an IPC sysctl is fine on the host network: %v", s.Linux.Sysctl)
	}
	for name, ns := range map[string]specs.LinuxNamespaceType{
		"net/ipv4/ping_group_range": specs.NetworkNamespace, "kernel.msgmax": specs.IPCNamespace, "kernel.domainname": specs.UTSNamespace,
	} {
		if got, err := SysctlNamespace(name); err != nil || got != ns {
			t.Errorf("SysctlNamespace(%q) = %q, %v; want %q", name, got, err, ns)
		}
	}
}

func TestDockerProcess(t *testing.T) {
	img := v1.ImageConfig{
		Entrypoint: []string{"/docker-entrypoint.sh"},
		Cmd:        []string{"nginx", "-g", "daemon off;"},
		Env:        []string{"PATH=/usr/local/nginx/bin:/usr/bin", "NGINX_VERSION=1.25", "MODE=image"},
		WorkingDir: "/srv",
	}
	noEntrypoint := v1.ImageConfig{Cmd: []string{"sh"}}
	for _, tc := range []struct {
		name             string
		img              v1.ImageConfig
		entrypoint, cmd  []string
		wantArgs         []string
		env              []string
		cwd, wantCwd     string
		wantEnv          []string
		hostname         string
		containerdOption oci.SpecOpts
	}{
		{name: "image as is", img: img, wantArgs: []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}, wantCwd: "/srv",
			wantEnv: []string{"PATH=/usr/local/nginx/bin:/usr/bin", "NGINX_VERSION=1.25", "MODE=image"}},
		{name: "cmd replaces CMD, keeps ENTRYPOINT", img: img, cmd: []string{"nginx", "-t"},
			wantArgs: []string{"/docker-entrypoint.sh", "nginx", "-t"}},
		{name: "entrypoint replaces ENTRYPOINT and drops CMD", img: img, entrypoint: []string{"/bin/sh", "-c"},
			wantArgs: []string{"/bin/sh", "-c"}},
		{name: "entrypoint and cmd", img: img, entrypoint: []string{"/bin/sh", "-c"}, cmd: []string{"echo hi"},
			wantArgs: []string{"/bin/sh", "-c", "echo hi"}},
		{name: "empty entrypoint removes ENTRYPOINT, keeps CMD", img: img, entrypoint: []string{},
			wantArgs: []string{"nginx", "-g", "daemon off;"}},
		{name: "empty entrypoint and cmd", img: img, entrypoint: []string{}, cmd: []string{"top"}, wantArgs: []string{"top"}},
		{name: "empty cmd keeps CMD", img: img, cmd: []string{}, wantArgs: []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"}},
		{name: "image without entrypoint", img: noEntrypoint, cmd: []string{"ls", "-l"}, wantArgs: []string{"ls", "-l"}, wantCwd: "/",
			wantEnv: []string{DefaultPathEnv}},
		{name: "env merged over image env, later wins, unset removes", img: img,
			env:      []string{"MODE=task", "EXTRA=1", "NGINX_VERSION", "MODE=last"},
			wantArgs: []string{"/docker-entrypoint.sh", "nginx", "-g", "daemon off;"},
			wantEnv:  []string{"PATH=/usr/local/nginx/bin:/usr/bin", "MODE=last", "EXTRA=1"}},
		{name: "hostname env, working dir", img: noEntrypoint, hostname: "web-1", cwd: "/work", wantArgs: []string{"sh"},
			containerdOption: oci.WithHostname("web-1"), wantCwd: "/work",
			wantEnv: []string{DefaultPathEnv, "HOSTNAME=web-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []oci.SpecOpts
			if tc.containerdOption != nil {
				opts = append(opts, tc.containerdOption)
			}
			opts = append(opts, WithDockerProcess(tc.img, tc.entrypoint, tc.cmd, tc.env, tc.cwd))
			p := mustGenerate(t, opts...).Process
			if !slices.Equal(p.Args, tc.wantArgs) {
				t.Errorf("args = %q, want %q", p.Args, tc.wantArgs)
			}
			if tc.wantEnv != nil && !slices.Equal(p.Env, tc.wantEnv) {
				t.Errorf("env = %q, want %q", p.Env, tc.wantEnv)
			}
			if tc.wantCwd != "" && p.Cwd != tc.wantCwd {
				t.Errorf("cwd = %q, want %q", p.Cwd, tc.wantCwd)
			}
		})
	}
}

func TestInit(t *testing.T) {
	s := mustGenerate(t, WithDockerProcess(v1.ImageConfig{Cmd: []string{"sleep", "9"}}, nil, nil, nil, ""), WithInit("/usr/bin/tini-static"))
	if want := []string{InitPath, "--", "sleep", "9"}; !slices.Equal(s.Process.Args, want) {
		t.Errorf("args = %q, want %q", s.Process.Args, want)
	}
	want := &specs.Mount{Destination: InitPath, Type: "bind", Source: "/usr/bin/tini-static", Options: []string{"rbind", "rprivate", "ro"}}
	if got := mountAt(s, InitPath); !reflect.DeepEqual(got, want) {
		t.Errorf("init mount = %+v", got)
	}
}

// WithDockerUser reads /etc/passwd and /etc/group from the spec's root path
// when the container has no snapshot.
func TestDockerUser(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(root, "etc", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n")
	write("group", "root:x:0:\nwheel:x:10:root\napp:x:1000:\nstaff:x:50:app\naudio:x:63:app,other\n")

	for _, tc := range []struct {
		user     string
		uid, gid uint32
		groups   []uint32
		err      string
	}{
		{user: "", uid: 0, gid: 0, groups: []uint32{0, 10}},
		{user: "app", uid: 1000, gid: 1000, groups: []uint32{1000, 50, 63}},
		{user: "1000", uid: 1000, gid: 1000, groups: []uint32{1000, 50, 63}},
		{user: "app:staff", uid: 1000, gid: 50, groups: []uint32{50, 63}},
		{user: "1000:10", uid: 1000, gid: 10, groups: []uint32{10, 50, 63}},
		{user: "4242", uid: 4242, gid: 0, groups: []uint32{0}},
		{user: "nobody-here", err: `user "nobody-here"`},
	} {
		t.Run(tc.user, func(t *testing.T) {
			s, err := generate(t, oci.WithRootFSPath(root), WithDockerUser(tc.user))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := s.Process.User
			if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.groups) {
				t.Errorf("user = %+v, want uid %d gid %d groups %v", u, tc.uid, tc.gid, tc.groups)
			}
		})
	}
}

func TestMergeEnv(t *testing.T) {
	got := MergeEnv([]string{"A=1", "B=2"}, nil, []string{"C=3", "A=4", "B", "B=5", "D"})
	if want := []string{"A=4", "C=3", "B=5"}; !slices.Equal(got, want) {
		t.Errorf("MergeEnv = %q, want %q", got, want)
	}
}
