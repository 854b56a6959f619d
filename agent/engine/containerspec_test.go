package engine

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// example is the task of the protocol reference's payload example
// (section 11).
const example = `{"arn":"arn:aws:ecs:us-east-1:111122223333:task/default/9a8b","family":"nginx","version":"3",
 "desiredStatus":"RUNNING","launchType":"EXTERNAL","networkMode":"bridge","taskDefinitionAccountId":"111122223333",
 "roleCredentials":{"credentialsId":"c1","roleArn":"arn:aws:iam::111122223333:role/app","accessKeyId":"ASIA...",
   "secretAccessKey":"...","sessionToken":"...","expiration":"2024-01-01T06:00:00Z"},
 "containers":[{"name":"web","image":"public.ecr.aws/nginx/nginx:latest","cpu":256,"memory":256,"essential":true,
   "portMappings":[{"containerPort":80,"hostPort":8080,"protocol":"tcp"}],"environment":{"A":"b"},
   "dockerConfig":{"config":"{}","hostConfig":"{\"CapAdd\":[],\"CapDrop\":[]}","version":"1.17"},
   "dependsOn":[],"stopTimeout":30}],
 "volumes":[]}`

const cluster = "arn:aws:ecs:us-east-1:111122223333:cluster/default"

func decodeTask(t testing.TB, js string) *acs.Task {
	t.Helper()
	var task acs.Task
	if err := json.Unmarshal([]byte(js), &task); err != nil {
		t.Fatalf("task JSON: %v", err)
	}
	return &task
}

// inputFor wraps one container (JSON) in a bridge-mode task.
func inputFor(t testing.TB, container string) SpecInput {
	t.Helper()
	task := decodeTask(t, `{"arn":"arn:aws:ecs:us-east-1:1:task/c/t1","family":"app","version":"7","networkMode":"bridge",
		"containers":[`+container+`]}`)
	return SpecInput{
		Task:        task,
		Container:   &task.Containers[0],
		ClusterARN:  cluster,
		ContainerID: "t1-app",
		Volumes:     map[string]string{"data": "/var/lib/ecsd/volumes/t1/data", "logs": "/srv/logs"},
		VolumesFrom: map[string][]runtime.Mount{
			"sidecar": {{Source: "/srv/shared", Destination: "/shared"}, {Source: "/srv/cache", Destination: "/data"}},
		},
		NetNSPath: "/var/run/netns/t1",
	}
}

// dockerConfig returns a container with the given Docker documents.
func dockerConfig(config, hostConfig string) string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `{"name":"app","image":"busybox","dockerConfig":{"config":` + q(config) + `,"hostConfig":` + q(hostConfig) + `,"version":"1.17"}}`
}

func TestContainerSpecExample(t *testing.T) {
	task := decodeTask(t, example)
	res, err := ContainerSpec(SpecInput{
		Task: task, Container: &task.Containers[0], ClusterARN: cluster, ContainerID: "9a8b-web",
		Region: "us-east-1", NetNSPath: "/var/run/netns/9a8b",
		Env: map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/c1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.ContainerSpec{
		ID:    "9a8b-web",
		Image: "public.ecr.aws/nginx/nginx:latest",
		Labels: map[string]string{
			runtime.LabelTaskARN:       "arn:aws:ecs:us-east-1:111122223333:task/default/9a8b",
			runtime.LabelContainerName: "web",
			runtime.LabelTaskFamily:    "nginx",
			runtime.LabelTaskVersion:   "3",
			runtime.LabelCluster:       cluster,
			runtime.LabelManagedBy:     "true",
		},
		Env:         []string{"A=b", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/c1"},
		MemoryLimit: 256 << 20,
		CPUShares:   256,
		CapAdd:      []string{},
		CapDrop:     []string{},
		NetNSPath:   "/var/run/netns/9a8b",
	}
	if !reflect.DeepEqual(res.Spec, want) {
		t.Errorf("spec =\n%+v\nwant\n%+v", res.Spec, want)
	}
	if res.HealthCheck != nil || len(res.Warnings) != 0 {
		t.Errorf("health check %+v, warnings %q", res.HealthCheck, res.Warnings)
	}
}

func TestContainerSpecTyped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container string
		check     func(*testing.T, runtime.ContainerSpec)
	}{
		{"no cpu is 2 shares, no memory no limit", `{"name":"app","image":"busybox"}`, func(t *testing.T, s runtime.ContainerSpec) {
			if s.CPUShares != 2 || s.MemoryLimit != 0 {
				t.Errorf("cpu %d memory %d", s.CPUShares, s.MemoryLimit)
			}
		}},
		{"cpu clamps, memory below 4 MiB rises", `{"name":"app","image":"busybox","cpu":300000,"memory":2}`, func(t *testing.T, s runtime.ContainerSpec) {
			if s.CPUShares != 262144 || s.MemoryLimit != 4<<20 {
				t.Errorf("cpu %d memory %d", s.CPUShares, s.MemoryLimit)
			}
		}},
		{"entryPoint and command", `{"name":"app","image":"busybox","entryPoint":["/bin/sh","-c"],"command":["echo hi"]}`,
			func(t *testing.T, s runtime.ContainerSpec) {
				if !slices.Equal(s.Entrypoint, []string{"/bin/sh", "-c"}) || !slices.Equal(s.Command, []string{"echo hi"}) {
					t.Errorf("entrypoint %q command %q", s.Entrypoint, s.Command)
				}
			}},
		{"no entryPoint stays nil (the image's)", `{"name":"app","image":"busybox","command":["ls"]}`, func(t *testing.T, s runtime.ContainerSpec) {
			if s.Entrypoint != nil {
				t.Errorf("entrypoint = %q", s.Entrypoint)
			}
		}},
		{"container overrides replace the command", `{"name":"app","image":"busybox","command":["a"],"overrides":"{\"command\":[\"b\",\"c\"]}"}`,
			func(t *testing.T, s runtime.ContainerSpec) {
				if !slices.Equal(s.Command, []string{"b", "c"}) {
					t.Errorf("command = %q", s.Command)
				}
			}},
		{"environment sorted", `{"name":"app","image":"busybox","environment":{"Z":"1","A":"2","M":"x=y"}}`, func(t *testing.T, s runtime.ContainerSpec) {
			if !slices.Equal(s.Env, []string{"A=2", "M=x=y", "Z=1"}) {
				t.Errorf("env = %q", s.Env)
			}
		}},
		{"privileged", `{"name":"app","image":"busybox","privileged":true}`, func(t *testing.T, s runtime.ContainerSpec) {
			if !s.Privileged {
				t.Error("not privileged")
			}
		}},
		{"linux parameters", `{"name":"app","image":"busybox","memory":128,"linuxParameters":{
			"capabilities":{"add":["NET_ADMIN"],"drop":["MKNOD"]},
			"devices":[{"hostPath":"/dev/fuse"},{"hostPath":"/dev/null","containerPath":"/dev/sink","permissions":["read","write"]}],
			"initProcessEnabled":true,"sharedMemorySize":128,"maxSwap":64,
			"tmpfs":[{"containerPath":"/run/app","size":16,"mountOptions":["noexec","mode=1777"]},{"containerPath":"/scratch"}]}}`,
			func(t *testing.T, s runtime.ContainerSpec) {
				if !slices.Equal(s.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(s.CapDrop, []string{"MKNOD"}) {
					t.Errorf("caps add %q drop %q", s.CapAdd, s.CapDrop)
				}
				wantDev := []runtime.Device{{HostPath: "/dev/fuse", Permissions: "rwm"}, {HostPath: "/dev/null", ContainerPath: "/dev/sink", Permissions: "rw"}}
				if !reflect.DeepEqual(s.Devices, wantDev) {
					t.Errorf("devices = %+v", s.Devices)
				}
				if !s.Init || s.ShmSize != 128<<20 {
					t.Errorf("init %v shm %d", s.Init, s.ShmSize)
				}
				if s.MemorySwap != (128+64)<<20 || s.Swappiness == nil || *s.Swappiness != 60 {
					t.Errorf("swap %d swappiness %v", s.MemorySwap, s.Swappiness)
				}
				wantTmpfs := []runtime.Tmpfs{{Destination: "/run/app", SizeBytes: 16 << 20, Options: []string{"noexec", "mode=1777"}}, {Destination: "/scratch"}}
				if !reflect.DeepEqual(s.Tmpfs, wantTmpfs) {
					t.Errorf("tmpfs = %+v", s.Tmpfs)
				}
			}},
		{"maxSwap 0 disables swap, swappiness given", `{"name":"app","image":"busybox","memory":64,"linuxParameters":{"maxSwap":0,"swappiness":5}}`,
			func(t *testing.T, s runtime.ContainerSpec) {
				if s.MemorySwap != 64<<20 || *s.Swappiness != 5 {
					t.Errorf("swap %d swappiness %d", s.MemorySwap, *s.Swappiness)
				}
			}},
		{"mount points and volumes from", `{"name":"app","image":"busybox","mountPoints":[{"sourceVolume":"data","containerPath":"/data"},
			{"sourceVolume":"logs","containerPath":"/logs","readOnly":true}],"volumesFrom":[{"sourceContainer":"sidecar","readOnly":true}]}`,
			func(t *testing.T, s runtime.ContainerSpec) {
				want := []runtime.Mount{
					{Source: "/var/lib/ecsd/volumes/t1/data", Destination: "/data"},
					{Source: "/srv/logs", Destination: "/logs", ReadOnly: true},
					{Source: "/srv/shared", Destination: "/shared", ReadOnly: true},
				}
				if !reflect.DeepEqual(s.Mounts, want) {
					t.Errorf("mounts = %+v", s.Mounts)
				}
			}},
		{"bridge mode joins the task's namespace", `{"name":"app","image":"busybox"}`, func(t *testing.T, s runtime.ContainerSpec) {
			if s.NetNSPath != "/var/run/netns/t1" || s.HostNetwork {
				t.Errorf("netns %q host %v", s.NetNSPath, s.HostNetwork)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ContainerSpec(inputFor(t, tc.container))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, res.Spec)
		})
	}
}

func TestContainerSpecDockerConfig(t *testing.T) {
	res, err := ContainerSpec(inputFor(t, dockerConfig(`{
		"Hostname":"web-1","User":"app:staff","WorkingDir":"/srv","Cmd":"serve --fast","StopSignal":"SIGQUIT",
		"Labels":{"team":"payments","tier":"web"},
		"Healthcheck":{"Test":["CMD-SHELL","curl -f http://localhost/ || exit 1"],"Interval":5000000000,"Retries":5}}`, `{}`)))
	if err != nil {
		t.Fatal(err)
	}
	s := res.Spec
	if s.Hostname != "web-1" || s.User != "app:staff" || s.WorkingDir != "/srv" || s.StopSignal != "SIGQUIT" {
		t.Errorf("spec = %+v", s)
	}
	if !slices.Equal(s.Command, []string{"serve --fast"}) {
		t.Errorf("a string Cmd is a one-element list: %q", s.Command)
	}
	if s.Labels["team"] != "payments" || s.Labels["tier"] != "web" || s.Labels[runtime.LabelContainerName] != "app" {
		t.Errorf("labels = %v", s.Labels)
	}
	want := &HealthCheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"},
		Interval: 5 * time.Second, Timeout: 30 * time.Second, Retries: 5}
	if !reflect.DeepEqual(res.HealthCheck, want) {
		t.Errorf("health check = %+v", res.HealthCheck)
	}
}

func TestContainerSpecHostConfig(t *testing.T) {
	in := inputFor(t, `{"name":"app","image":"busybox","memory":512,"cpu":1024,"command":["run"],
		"linuxParameters":{"capabilities":{"add":["SYS_PTRACE"]},"initProcessEnabled":true},
		"mountPoints":[{"sourceVolume":"data","containerPath":"/data"}],
		"dockerConfig":{"config":"{\"Env\":[\"ONLY=json\"],\"Cmd\":null}","hostConfig":`+quote(`{
		"Memory":268435456,"MemoryReservation":134217728,"MemorySwap":-1,"MemorySwappiness":-1,"CpuShares":1,"PidsLimit":256,
		"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":4096},{"Name":"core","Soft":-1,"Hard":-1}],
		"CapAdd":["NET_ADMIN"],"CapDrop":["ALL"],"Init":false,"ShmSize":1048576,
		"Tmpfs":{"/tmp":"rw,size=64m,exec","/run":"size=50%"},
		"ReadonlyRootfs":true,"Privileged":false,
		"ExtraHosts":["db:10.0.0.5","v6host:::1","eqhost=192.168.1.1"],
		"Dns":["10.0.0.2","2001:db8::53"],"DnsSearch":["corp.example"],"DnsOptions":["ndots:2"],
		"SecurityOpt":["no-new-privileges","seccomp=unconfined"],
		"Sysctls":{"net.core.somaxconn":"1024"},
		"Binds":["/srv/a:/a:ro","/srv/b:/b"],
		"Devices":[{"PathOnHost":"/dev/kvm","PathInContainer":"/dev/kvm","CgroupPermissions":"rw"}],
		"NetworkMode":"bridge","PortBindings":{"80/tcp":[{"HostPort":"8080"}]},"LogConfig":{"Type":"json-file","Config":{}}}`)+`}}`)
	res, err := ContainerSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Spec
	if s.MemoryLimit != 256<<20 || s.MemoryReservation != 128<<20 || s.MemorySwap != -1 || s.Swappiness != nil {
		t.Errorf("memory: limit %d reservation %d swap %d swappiness %v", s.MemoryLimit, s.MemoryReservation, s.MemorySwap, s.Swappiness)
	}
	if s.CPUShares != 2 || s.PidsLimit != 256 {
		t.Errorf("cpu %d pids %d", s.CPUShares, s.PidsLimit)
	}
	if !slices.Equal(s.Env, []string{"ONLY=json"}) || !slices.Equal(s.Command, []string{"run"}) {
		t.Errorf("env %q command %q (a null Cmd keeps the typed command)", s.Env, s.Command)
	}
	if want := []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}, {Name: "core", Soft: -1, Hard: -1}}; !reflect.DeepEqual(s.Ulimits, want) {
		t.Errorf("ulimits = %+v", s.Ulimits)
	}
	if !slices.Equal(s.CapAdd, []string{"NET_ADMIN"}) || !slices.Equal(s.CapDrop, []string{"ALL"}) {
		t.Errorf("JSON caps replace the typed ones: add %q drop %q", s.CapAdd, s.CapDrop)
	}
	if s.Init || s.ShmSize != 1<<20 || !s.ReadonlyRootfs || s.Privileged {
		t.Errorf("init %v shm %d readonly %v privileged %v", s.Init, s.ShmSize, s.ReadonlyRootfs, s.Privileged)
	}
	if !*in.Container.LinuxParameters.InitProcessEnabled {
		t.Error("the input container was changed")
	}
	wantTmpfs := []runtime.Tmpfs{{Destination: "/run", Options: []string{"size=50%"}}, {Destination: "/tmp", SizeBytes: 64 << 20, Options: []string{"rw", "exec"}}}
	if !reflect.DeepEqual(s.Tmpfs, wantTmpfs) {
		t.Errorf("tmpfs = %+v", s.Tmpfs)
	}
	wantHosts := []runtime.HostEntry{{Hostname: "db", IPAddress: "10.0.0.5"}, {Hostname: "v6host", IPAddress: "::1"}, {Hostname: "eqhost", IPAddress: "192.168.1.1"}}
	if !reflect.DeepEqual(s.ExtraHosts, wantHosts) {
		t.Errorf("extra hosts = %+v", s.ExtraHosts)
	}
	if !slices.Equal(s.DNSServers, []string{"10.0.0.2", "2001:db8::53"}) || !slices.Equal(s.DNSSearch, []string{"corp.example"}) ||
		!slices.Equal(s.DNSOptions, []string{"ndots:2"}) {
		t.Errorf("dns %q search %q options %q", s.DNSServers, s.DNSSearch, s.DNSOptions)
	}
	if s.AllowNewPrivileges || !s.SeccompUnconfined {
		t.Errorf("allow new privileges %v, seccomp unconfined %v", s.AllowNewPrivileges, s.SeccompUnconfined)
	}
	if s.Sysctls["net.core.somaxconn"] != "1024" {
		t.Errorf("sysctls = %v", s.Sysctls)
	}
	if want := []runtime.Mount{{Source: "/srv/a", Destination: "/a", ReadOnly: true}, {Source: "/srv/b", Destination: "/b"}}; !reflect.DeepEqual(s.Mounts, want) {
		t.Errorf("JSON Binds replace the mount points: %+v", s.Mounts)
	}
	if want := []runtime.Device{{HostPath: "/dev/kvm", ContainerPath: "/dev/kvm", Permissions: "rw"}}; !reflect.DeepEqual(s.Devices, want) {
		t.Errorf("devices = %+v", s.Devices)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestContainerSpecEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container string
		region    string
		imageEnv  []string
		env       map[string]string
		want      []string
	}{
		{"region injected", `{"name":"app","image":"busybox","environment":{"A":"1"}}`, "eu-west-1", nil, nil,
			[]string{"A=1", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}},
		{"region kept when the task sets it", `{"name":"app","image":"busybox","environment":{"AWS_REGION":"us-west-2"}}`, "eu-west-1", nil, nil,
			[]string{"AWS_REGION=us-west-2", "AWS_DEFAULT_REGION=eu-west-1"}},
		{"region kept when the image sets it", `{"name":"app","image":"busybox"}`, "eu-west-1", []string{"AWS_DEFAULT_REGION=ap-south-1"}, nil,
			[]string{"AWS_REGION=eu-west-1"}},
		{"no region configured", `{"name":"app","image":"busybox"}`, "", nil, nil, nil},
		{"injected env wins", `{"name":"app","image":"busybox","environment":{"ECS_CONTAINER_METADATA_URI":"spoofed","B":"2"}}`, "", nil,
			map[string]string{"ECS_CONTAINER_METADATA_URI": "http://169.254.170.2/v3/x"},
			[]string{"B=2", "ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputFor(t, tc.container)
			in.Region, in.ImageEnv, in.Env = tc.region, tc.imageEnv, tc.env
			res, err := ContainerSpec(in)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Spec.Env, tc.want) {
				t.Errorf("env = %q, want %q", res.Spec.Env, tc.want)
			}
		})
	}
}

func TestContainerSpecNetworkModes(t *testing.T) {
	for mode, check := range map[string]func(runtime.ContainerSpec) bool{
		"host":   func(s runtime.ContainerSpec) bool { return s.HostNetwork && s.NetNSPath == "" },
		"none":   func(s runtime.ContainerSpec) bool { return !s.HostNetwork && s.NetNSPath == "" },
		"bridge": func(s runtime.ContainerSpec) bool { return !s.HostNetwork && s.NetNSPath == "/var/run/netns/t1" },
		"":       func(s runtime.ContainerSpec) bool { return !s.HostNetwork && s.NetNSPath == "/var/run/netns/t1" },
	} {
		in := inputFor(t, `{"name":"app","image":"busybox"}`)
		in.Task.NetworkMode = mode
		res, err := ContainerSpec(in)
		if err != nil || !check(res.Spec) {
			t.Errorf("network mode %q: err %v, host %v netns %q", mode, err, res.Spec.HostNetwork, res.Spec.NetNSPath)
		}
	}
}

func TestContainerSpecWarnings(t *testing.T) {
	in := inputFor(t, `{"name":"app","image":"busybox","links":["db"],
		"dockerConfig":{"config":`+quote(`{"Tty":true,"AttachStdin":false,"Domainname":"","ExposedPorts":{"80/tcp":{}},"Image":"x",
			"Labels":{"com.amazonaws.ecs.task-arn":"spoof","io.ecsd.managed":"true"}}`)+`,
		"hostConfig":`+quote(`{"OomScoreAdj":500,"CpuQuota":0,"CgroupParent":"","Binds":["/a:/a:z"],"NetworkMode":"host",
			"SecurityOpt":["label=disable","seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"],"BlkioWeight":10,"IpcMode":"host"}`)+`}}`)
	in.Task.PidMode = "host"
	res, err := ContainerSpec(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"dockerConfig.config: Tty is not supported and was ignored",
		"dockerConfig.hostConfig: BlkioWeight is not supported and was ignored",
		"dockerConfig.hostConfig: IpcMode is not supported and was ignored",
		"dockerConfig.hostConfig: OomScoreAdj is not supported and was ignored",
		"dockerLabels: com.amazonaws.ecs.task-arn is set by ecsd and cannot be overridden",
		`dockerSecurityOptions: "label=disable" is not supported and was ignored`,
		`dockerSecurityOptions: "seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}": custom seccomp profiles are not supported; the default profile applies`,
		`binds: "/a:/a:z": option z is not supported and was ignored`,
		`dockerConfig.hostConfig: NetworkMode "host" was ignored; the task's network mode bridge applies`,
		"links are not supported and were ignored",
		`pidMode "host" is not supported and was ignored`,
	}
	if !slices.Equal(res.Warnings, want) {
		t.Errorf("warnings =\n%s\nwant\n%s", strings.Join(res.Warnings, "\n"), strings.Join(want, "\n"))
	}
	if res.Spec.Labels[runtime.LabelTaskARN] != "arn:aws:ecs:us-east-1:1:task/c/t1" {
		t.Errorf("identity label overridden: %v", res.Spec.Labels)
	}
}

func TestContainerSpecHealthCheck(t *testing.T) {
	for _, tc := range []struct {
		name, config, typ string
		want              *HealthCheck
	}{
		{"none", `{}`, "", nil},
		{"NONE disables", `{"Healthcheck":{"Test":["NONE"]}}`, "", nil},
		{"defaults", `{"Healthcheck":{"Test":["CMD","/bin/check","--quick"]}}`, "docker",
			&HealthCheck{Test: []string{"CMD", "/bin/check", "--quick"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3}},
		{"all set", `{"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":1000000000,"Timeout":2000000000,"StartPeriod":3000000000,"Retries":1}}`, "docker",
			&HealthCheck{Test: []string{"CMD-SHELL", "true"}, Interval: time.Second, Timeout: 2 * time.Second, StartPeriod: 3 * time.Second, Retries: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputFor(t, dockerConfig(tc.config, "{}"))
			in.Container.HealthCheckType = tc.typ
			res, err := ContainerSpec(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(res.HealthCheck, tc.want) {
				t.Errorf("health check = %+v, want %+v", res.HealthCheck, tc.want)
			}
		})
	}
}

func TestContainerSpecInvalid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		container string
		edit      func(*SpecInput)
		want      string
	}{
		{"malformed config", dockerConfig(`{"Cmd":[`, `{}`), nil, "dockerConfig.config is not valid JSON: unexpected end of JSON input"},
		{"hostConfig is a list", dockerConfig(`{}`, `[1]`), nil, "dockerConfig.hostConfig is a JSON array, not an object"},
		{"hostConfig wrong type", dockerConfig(`{}`, `{"Memory":"lots"}`), nil, "dockerConfig.hostConfig: Memory cannot be a JSON string"},
		{"Cmd wrong type", dockerConfig(`{"Cmd":5}`, `{}`), nil, "dockerConfig.config"},
		{"negative memory", `{"name":"app","image":"busybox","memory":-1}`, nil, "memory -1 MiB is negative"},
		{"huge memory", `{"name":"app","image":"busybox","memory":9223372036854775807}`, nil, "too large"},
		{"negative cpu", `{"name":"app","image":"busybox","cpu":-5}`, nil, "cpu -5 is negative"},
		{"negative JSON memory", dockerConfig(`{}`, `{"Memory":-1}`), nil, "memory -1 bytes is negative"},
		{"JSON memory below 4 MiB", dockerConfig(`{}`, `{"Memory":1024}`), nil, "below the minimum of 4 MiB"},
		{"reservation above limit", dockerConfig(`{}`, `{"Memory":8388608,"MemoryReservation":16777216}`), nil, "above the memory hard limit"},
		{"swap without memory", dockerConfig(`{}`, `{"MemorySwap":8388608}`), nil, "memory swap needs a memory hard limit"},
		{"swappiness", dockerConfig(`{}`, `{"MemorySwappiness":101}`), nil, "swappiness 101"},
		{"negative cpu shares", dockerConfig(`{}`, `{"CpuShares":-2}`), nil, "cpu shares -2 are negative"},
		{"unknown ulimit", dockerConfig(`{}`, `{"Ulimits":[{"Name":"files","Soft":1,"Hard":1}]}`), nil, `ulimits: unknown ulimit "files"`},
		{"ulimit soft above hard", dockerConfig(`{}`, `{"Ulimits":[{"Name":"nofile","Soft":10,"Hard":1}]}`), nil, "soft limit 10 is above hard limit 1"},
		{"extra host without IP", dockerConfig(`{}`, `{"ExtraHosts":["db"]}`), nil, `extraHosts: "db" is not hostname:IP`},
		{"extra host bad IP", dockerConfig(`{}`, `{"ExtraHosts":["db:10.0.0.300"]}`), nil, `"10.0.0.300" is not an IP address`},
		{"extra host gateway", dockerConfig(`{}`, `{"ExtraHosts":["gw:host-gateway"]}`), nil, "host-gateway is not supported"},
		{"dns server", dockerConfig(`{}`, `{"Dns":["dns.example"]}`), nil, `dnsServers: "dns.example" is not an IP address`},
		{"unknown capability", `{"name":"app","image":"busybox","linuxParameters":{"capabilities":{"add":["FLY"]}}}`, nil,
			`capabilities add: unknown capability "FLY"`},
		{"device permission", `{"name":"app","image":"busybox","linuxParameters":{"devices":[{"hostPath":"/dev/fuse","permissions":["execute"]}]}}`, nil,
			`unknown permission "execute"`},
		{"relative device", dockerConfig(`{}`, `{"Devices":[{"PathOnHost":"dev/kvm"}]}`), nil, "the host path is not absolute"},
		{"device cgroup permissions", dockerConfig(`{}`, `{"Devices":[{"PathOnHost":"/dev/kvm","CgroupPermissions":"x"}]}`), nil, `permissions "x"`},
		{"unknown volume", `{"name":"app","image":"busybox","mountPoints":[{"sourceVolume":"nope","containerPath":"/x"}]}`, nil, `unknown volume "nope"`},
		{"relative container path", `{"name":"app","image":"busybox","mountPoints":[{"sourceVolume":"data","containerPath":"x"}]}`, nil, "is not absolute"},
		{"unknown volumesFrom", `{"name":"app","image":"busybox","volumesFrom":[{"sourceContainer":"ghost"}]}`, nil, `unknown container "ghost"`},
		{"named volume bind", dockerConfig(`{}`, `{"Binds":["myvol:/data"]}`), nil, "named volumes are not supported"},
		{"bad bind option", dockerConfig(`{}`, `{"Binds":["/a:/b:rx"]}`), nil, `unknown option "rx"`},
		{"unknown security option", dockerConfig(`{}`, `{"SecurityOpt":["privileged"]}`), nil, `"privileged" is not a security option`},
		{"bad no-new-privileges", dockerConfig(`{}`, `{"SecurityOpt":["no-new-privileges:maybe"]}`), nil, `"maybe" is not a boolean`},
		{"host sysctl", dockerConfig(`{}`, `{"Sysctls":{"vm.swappiness":"1"}}`), nil, "systemControls: sysctl \"vm.swappiness\" is not namespaced"},
		{"net sysctl in host mode", dockerConfig(`{}`, `{"Sysctls":{"net.ipv4.ip_forward":"1"}}`),
			func(in *SpecInput) { in.Task.NetworkMode = "host" }, "cannot be set in host network mode"},
		{"awsvpc", `{"name":"app","image":"busybox"}`, func(in *SpecInput) { in.Task.NetworkMode = "awsvpc" }, "awsvpc is not supported"},
		{"unknown network mode", `{"name":"app","image":"busybox"}`, func(in *SpecInput) { in.Task.NetworkMode = "overlay" }, `unknown network mode "overlay"`},
		{"docker health check missing", `{"name":"app","image":"busybox","healthCheckType":"docker"}`, nil, "has no health check"},
		{"health check test", dockerConfig(`{"Healthcheck":{"Test":["RUN","x"]}}`, `{}`), nil, `must start with CMD or CMD-SHELL, not "RUN"`},
		{"health check without command", dockerConfig(`{"Healthcheck":{"Test":["CMD"]}}`, `{}`), nil, "CMD has no command"},
		{"negative interval", dockerConfig(`{"Healthcheck":{"Test":["CMD","x"],"Interval":-1}}`, `{}`), nil, "interval -1ns is negative"},
		{"tiny timeout", dockerConfig(`{"Healthcheck":{"Test":["CMD","x"],"Timeout":10}}`, `{}`), nil, "below 1ms"},
		{"negative retries", dockerConfig(`{"Healthcheck":{"Test":["CMD","x"],"Retries":-1}}`, `{}`), nil, "retries -1"},
		{"tmpfs size", dockerConfig(`{}`, `{"Tmpfs":{"/t":"size=lots"}}`), nil, `tmpfs /t: size "lots"`},
		{"tmpfs huge size", dockerConfig(`{}`, `{"Tmpfs":{"/t":"size=99999999999999g"}}`), nil, "too large"},
		{"tmpfs relative", dockerConfig(`{}`, `{"Tmpfs":{"t":""}}`), nil, `tmpfs: "t" is not an absolute path`},
		{"typed tmpfs negative", `{"name":"app","image":"busybox","linuxParameters":{"tmpfs":[{"containerPath":"/t","size":-1}]}}`, nil, "size -1 MiB is negative"},
		{"relative working dir", dockerConfig(`{"WorkingDir":"srv"}`, `{}`), nil, `workingDirectory "srv" is not an absolute path`},
		{"maxSwap without memory", `{"name":"app","image":"busybox","linuxParameters":{"maxSwap":10}}`, nil, "maxSwap needs a memory hard limit"},
		{"negative shm", dockerConfig(`{}`, `{"ShmSize":-1}`), nil, "shm size -1 is negative"},
		{"overrides", `{"name":"app","image":"busybox","overrides":"{"}`, nil, "container overrides are not valid JSON"},
		{"no image", `{"name":"app"}`, nil, "the container has no image"},
		{"no name", `{"image":"busybox"}`, nil, "container (unnamed): the container has no name"},
		{"no container id", `{"name":"app","image":"busybox"}`, func(in *SpecInput) { in.ContainerID = "" }, "no container id"},
		{"no task", `{"name":"app","image":"busybox"}`, func(in *SpecInput) { in.Task = nil }, "no task or container"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputFor(t, tc.container)
			if tc.edit != nil {
				tc.edit(&in)
			}
			_, err := ContainerSpec(in)
			if !errors.Is(err, ErrInvalidContainer) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant ErrInvalidContainer with %q", err, tc.want)
			}
		})
	}

	// Every problem is listed.
	_, err := ContainerSpec(inputFor(t, dockerConfig(`{}`, `{"Memory":-1,"Dns":["x"],"Ulimits":[{"Name":"bogus"}]}`)))
	for _, want := range []string{"memory -1", "dnsServers", "bogus"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to list %q", err, want)
		}
	}
}

// FuzzContainerSpec feeds arbitrary task JSON to the translation, which
// must never panic and must only fail with ErrInvalidContainer.
func FuzzContainerSpec(f *testing.F) {
	f.Add([]byte(example))
	f.Fuzz(func(t *testing.T, data []byte) {
		var task acs.Task
		if json.Unmarshal(data, &task) != nil || len(task.Containers) == 0 {
			return
		}
		in := SpecInput{
			Task:        &task,
			Container:   &task.Containers[0],
			ClusterARN:  cluster,
			ContainerID: "fuzz",
			Volumes:     map[string]string{"data": "/srv/data", "rel": "relative"},
			VolumesFrom: map[string][]runtime.Mount{"other": {{Source: "/srv/o", Destination: "/o"}}},
			Region:      "us-east-1",
			Env:         map[string]string{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"},
			NetNSPath:   "/var/run/netns/fuzz",
		}
		res, err := ContainerSpec(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidContainer) {
				t.Fatalf("error does not wrap ErrInvalidContainer: %v", err)
			}
			return
		}
		s := res.Spec
		switch {
		case s.ID != "fuzz" || s.Labels[runtime.LabelManagedBy] != "true" || s.Labels[runtime.LabelTaskARN] != task.ARN:
			t.Fatalf("identity lost: %+v", s)
		case s.MemoryLimit < 0 || (s.MemoryLimit > 0 && s.MemoryLimit < minMemoryBytes):
			t.Fatalf("memory limit %d", s.MemoryLimit)
		case s.CPUShares == 1 || s.CPUShares > maxCPUShares:
			t.Fatalf("cpu shares %d", s.CPUShares)
		case s.Swappiness != nil && *s.Swappiness > 100:
			t.Fatalf("swappiness %d", *s.Swappiness)
		case s.ShmSize < 0 || s.MemoryReservation < 0 || s.MemorySwap < -1 || s.PidsLimit < 0:
			t.Fatalf("negative value in %+v", s)
		}
		for _, tm := range s.Tmpfs {
			if tm.SizeBytes < 0 {
				t.Fatalf("tmpfs size %d", tm.SizeBytes)
			}
		}
		if h := res.HealthCheck; h != nil && (h.Interval <= 0 || h.Timeout <= 0 || h.Retries <= 0 || len(h.Test) < 2) {
			t.Fatalf("health check %+v", h)
		}
	})
}

// Containers are confined by default: no_new_privileges and the default
// seccomp profile, unless the task definition opts out.
func TestContainerSpecSecureByDefault(t *testing.T) {
	for _, tc := range []struct {
		name          string
		hostConfig    string
		wantAllowNNP  bool
		wantUnconfine bool
	}{
		{"default", `{}`, false, false},
		{"opt out of nnp", `{"SecurityOpt":["no-new-privileges=false"]}`, true, false},
		{"unconfined seccomp", `{"SecurityOpt":["seccomp=unconfined"]}`, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ContainerSpec(inputFor(t, dockerConfig(`{}`, tc.hostConfig)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Spec.AllowNewPrivileges != tc.wantAllowNNP || res.Spec.SeccompUnconfined != tc.wantUnconfine {
				t.Errorf("allow new privileges %v, seccomp unconfined %v", res.Spec.AllowNewPrivileges, res.Spec.SeccompUnconfined)
			}
		})
	}
}
