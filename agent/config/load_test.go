package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes an ecs.config file under t.TempDir and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// load runs Load and fails the test on a validation error.
func load(t *testing.T, src Sources) (Config, Provenance) {
	t.Helper()
	if src.Files == nil {
		src.Files = []string{}
	}
	c, p, err := Load(src)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c, p
}

// problems runs Load, wants a validation error and returns its problems.
func problems(t *testing.T, src Sources) []Problem {
	t.Helper()
	if src.Files == nil {
		src.Files = []string{}
	}
	_, _, err := Load(src)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("Load: got %v, want a *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
	}
	return verr.Problems
}

func TestDefaults(t *testing.T) {
	c, p := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
	want := Config{
		Cluster:                    "default",
		Region:                     "us-east-1",
		DataDir:                    "/var/lib/ecs/data",
		LogLevel:                   LogInfo,
		ReservedPorts:              []int{22, 2375, 2376, 51678, 51679},
		ReservedPortsUDP:           []int{},
		DynamicHostPortRange:       PortRange{32768, 61000},
		InstanceAttributes:         map[string]string{},
		ContainerInstanceTags:      map[string]string{},
		AvailableLoggingDrivers:    []string{"json-file", "awslogs", "none"},
		ContainerStopTimeout:       30 * time.Second,
		TaskCleanupWait:            3 * time.Hour,
		ImagePullBehavior:          PullDefault,
		EnableTaskCPUMemLimit:      true,
		ImageCleanupInterval:       30 * time.Minute,
		ImageMinimumCleanupAge:     time.Hour,
		NumImagesDeletePerCycle:    5,
		AlternateCredentialProfile: "default",
		NoProxy:                    "169.254.170.2,169.254.169.254,127.0.0.1,localhost,::1",
		ContainerdAddress:          "/run/containerd/containerd.sock",
		ContainerdNamespace:        "ecsd",
		CredentialsListen:          "127.0.0.1:51679",
		TaskEndpointRedirect:       true,
		TaskEndpointChain:          "ECSD-TASK-ENDPOINTS",
		TaskMetadataRate:           40,
		TaskMetadataBurst:          60,
		TaskIAMRole:                true,
		TaskIAMRoleNetworkHost:     true,
		IntrospectionListen:        "127.0.0.1:51678",
		SSMStateRoot:               "/var/lib/amazon/ssm",
		SharedCredentialsProfile:   "default",
		CNIBridge:                  "ecsd0",
		CNISubnet:                  "10.199.0.0/20",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	for _, v := range Variables() {
		wantOrigin := "default"
		if v.Name == "AWS_DEFAULT_REGION" {
			wantOrigin = "env"
		}
		if got := p.Of(v.Name).String(); got != wantOrigin {
			t.Errorf("origin of %s = %q, want %q", v.Name, got, wantOrigin)
		}
	}
	if len(p.Warnings) != 0 || len(p.Files) != 0 {
		t.Errorf("warnings %v, files %v; want none", p.Warnings, p.Files)
	}

	// Default is the same without the region.
	want.Region = ""
	if d := Default(); !reflect.DeepEqual(d, want) {
		t.Errorf("Default():\n got %+v\nwant %+v", d, want)
	}
}

// Every default parses, is printed back as written, and every row is
// complete: the table is the documentation.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	d := Default()
	for _, s := range settings() {
		for _, n := range s.names() {
			if seen[n] {
				t.Errorf("%s: name %s in two rows", s.name, n)
			}
			seen[n] = true
		}
		if !strings.Contains(strings.Join(s.names(), " "), s.name) {
			t.Errorf("%s: lookup names %v lack the printed name", s.name, s.lookup)
		}
		if s.allowed == "" || s.doc == "" || s.parse == nil || s.format == nil {
			t.Errorf("%s: incomplete row", s.name)
		}
		if (s.redact == nil) != (s.hide == nil) {
			t.Errorf("%s: redact and hide go together", s.name)
		}
		if got := s.format(d); got != s.def {
			t.Errorf("%s: default %q prints as %q", s.name, s.def, got)
		}
	}
}

func TestFileLocations(t *testing.T) {
	// ecs-init: /var/lib/ecs/ecs.config holds instance defaults that
	// /etc/ecs/ecs.config overrides, so it comes first.
	want := []string{"/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config"}
	if got := DefaultFiles(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultFiles() = %v, want %v", got, want)
	}
}

func TestPrecedence(t *testing.T) {
	instance := writeFile(t, "instance.config", strings.Join([]string{
		"ECS_CLUSTER=from-instance",         // 1: overridden by etc
		"ECS_EXTERNAL=true",                 // 2: only here
		"AWS_DEFAULT_REGION=us-west-2",      // 3: overridden by env AWS_REGION: a higher layer wins whatever the name
		"ECS_RESERVED_MEMORY=128",           // 4: overridden by an empty value in etc
		"ECS_LOGLEVEL=warn",                 // 5: overridden by the flag
		"ECS_IMAGE_PULL_BEHAVIOR=once",      // 6: overridden by etc, which is overridden by extra
		"ECSD_CNI_BRIDGE=instbr0",           // 7: only here
		"ECS_CONTAINER_STOP_TIMEOUT=10s",    // 8: overridden by env
		"ECS_NUM_IMAGES_DELETE_PER_CYCLE=7", // 9: env sets it empty: default
	}, "\n"))
	etc := writeFile(t, "ecs.config", strings.Join([]string{
		"ECS_CLUSTER=from-etc",
		"ECS_RESERVED_MEMORY=",
		"ECS_IMAGE_PULL_BEHAVIOR=always",
		"ECS_DATADIR=/srv/first",
		"ECS_DATADIR=/srv/second", // 5: duplicate, later wins
	}, "\n"))
	extra := writeFile(t, "extra.config", "ECS_IMAGE_PULL_BEHAVIOR=prefer-cached\nECS_DISABLE_IMAGE_CLEANUP=true\n")
	env := []string{
		"AWS_REGION=eu-west-1",
		"ECS_CONTAINER_STOP_TIMEOUT=20s",
		"ECS_CONTAINER_STOP_TIMEOUT=99s", // second of a name: os.Getenv sees the first
		"ECS_NUM_IMAGES_DELETE_PER_CYCLE=",
		"ECS_DISABLE_IMAGE_CLEANUP=false",
		"NOT_AN_ASSIGNMENT",
	}
	args := []string{"--log-level", "DEBUG", "--config", extra, "-data-dir=/srv/flag"}

	c, p := load(t, Sources{Files: []string{instance, etc}, Env: env, Args: args})

	checks := []struct {
		variable, origin string
		got, want        any
	}{
		{"ECS_CLUSTER", etc + ":1", c.Cluster, "from-etc"},
		{"ECS_EXTERNAL", instance + ":2", c.External, true},
		{"AWS_DEFAULT_REGION", "env (AWS_REGION)", c.Region, "eu-west-1"},
		{"ECS_RESERVED_MEMORY", etc + ":2 (empty: default)", c.ReservedMemory, 0},
		{"ECS_LOGLEVEL", "flag --log-level", c.LogLevel, LogDebug},
		{"ECS_IMAGE_PULL_BEHAVIOR", extra + ":1", c.ImagePullBehavior, PullPreferCached},
		{"ECS_DISABLE_IMAGE_CLEANUP", "env", c.ImageCleanupDisabled, false},
		{"ECS_DATADIR", "flag --data-dir", c.DataDir, "/srv/flag"},
		{"ECSD_CNI_BRIDGE", instance + ":7", c.CNIBridge, "instbr0"},
		{"ECS_CONTAINER_STOP_TIMEOUT", "env", c.ContainerStopTimeout, 20 * time.Second},
		{"ECS_NUM_IMAGES_DELETE_PER_CYCLE", "env (empty: default)", c.NumImagesDeletePerCycle, 5},
		{"ECS_BACKEND_HOST", "default", c.BackendHost, ""},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.variable, ck.got, ck.want)
		}
		if got := p.Of(ck.variable).String(); got != ck.origin {
			t.Errorf("origin of %s = %q, want %q", ck.variable, got, ck.origin)
		}
	}
	if want := []string{instance, etc, extra}; !reflect.DeepEqual(p.Files, want) {
		t.Errorf("files read %v, want %v", p.Files, want)
	}
}

func TestDuplicateKeysLaterWins(t *testing.T) {
	f := writeFile(t, "ecs.config", "ECS_CLUSTER=a\nECS_CLUSTER=b\n\nECS_CLUSTER=c\n")
	c, p := load(t, Sources{Files: []string{f}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
	if c.Cluster != "c" || p.Of("ECS_CLUSTER").Line != 4 {
		t.Errorf("cluster %q from %v, want c from line 4", c.Cluster, p.Of("ECS_CLUSTER"))
	}
}

// Within one layer the first lookup name wins: AWS_DEFAULT_REGION over
// AWS_REGION (the stock agent reads only the former), https_proxy over
// HTTPS_PROXY (as net/http). Across layers the higher layer wins whatever
// the name.
func TestAliases(t *testing.T) {
	f := writeFile(t, "ecs.config", "AWS_REGION=us-west-1\nAWS_DEFAULT_REGION=us-west-2\nHTTPS_PROXY=http://upper:1\nhttps_proxy=http://lower:1\nno_proxy=example.com\n")
	c, p := load(t, Sources{Files: []string{f}})
	if c.Region != "us-west-2" || p.Of("AWS_DEFAULT_REGION").String() != f+":2" {
		t.Errorf("region %q from %v", c.Region, p.Of("AWS_DEFAULT_REGION"))
	}
	if c.HTTPSProxy != "http://lower:1" || p.Of("HTTPS_PROXY").String() != f+":4 (https_proxy)" {
		t.Errorf("https proxy %q from %v", c.HTTPSProxy, p.Of("HTTPS_PROXY"))
	}
	if !strings.HasPrefix(c.NoProxy, "example.com,") || p.Of("NO_PROXY").String() != f+":5 (no_proxy)" {
		t.Errorf("no proxy %q from %v", c.NoProxy, p.Of("NO_PROXY"))
	}

	c, p = load(t, Sources{Files: []string{f}, Env: []string{"AWS_REGION=eu-central-1", "HTTPS_PROXY=http://env:1"}})
	if c.Region != "eu-central-1" || c.HTTPSProxy != "http://env:1" {
		t.Errorf("env did not win: region %q, proxy %q", c.Region, c.HTTPSProxy)
	}
	if got := p.Of("HTTPS_PROXY").String(); got != "env" {
		t.Errorf("origin %q, want env", got)
	}
}

func TestValuesTrimmedAndUnquoted(t *testing.T) {
	f := writeFile(t, "ecs.config", "ECS_CLUSTER=\"prod\"\r\nECS_INSTANCE_ATTRIBUTES='{\"stack\": \"blue green\"}'\r\nECS_RESERVED_PORTS=[22, 80]\r\n")
	c, _ := load(t, Sources{Files: []string{f}, Env: []string{"AWS_DEFAULT_REGION= us-east-1 ", "ECS_LOGLEVEL=Warn"}})
	if c.Cluster != "prod" || c.Region != "us-east-1" || c.LogLevel != LogWarn ||
		c.InstanceAttributes["stack"] != "blue green" || !reflect.DeepEqual(c.ReservedPorts, []int{22, 80}) {
		t.Errorf("got %+v", c)
	}
}

func TestReservedPortsEmptyArray(t *testing.T) {
	// "[]" means none (not the default list), "null" too.
	c, _ := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECS_RESERVED_PORTS=[]", "ECS_RESERVED_PORTS_UDP=null"}})
	if c.ReservedPorts == nil || len(c.ReservedPorts) != 0 || c.ReservedPortsUDP == nil || len(c.ReservedPortsUDP) != 0 {
		t.Errorf("reserved %v, udp %v; want empty", c.ReservedPorts, c.ReservedPortsUDP)
	}
}

func TestMissingFilesAreFine(t *testing.T) {
	dir := t.TempDir()
	_, p := load(t, Sources{Files: []string{filepath.Join(dir, "nope"), filepath.Join(dir, "no", "such")}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
	if len(p.Files) != 0 {
		t.Errorf("files read %v", p.Files)
	}
}

func TestUnreadableFile(t *testing.T) {
	dir := t.TempDir() // a directory cannot be read as a file, even by root
	ps := problems(t, Sources{Files: []string{dir}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
	if len(ps) != 1 || ps[0].Origin.File != dir || !strings.Contains(ps[0].String(), dir+": cannot read: ") {
		t.Fatalf("problems %v", ps)
	}

	if os.Geteuid() != 0 {
		f := writeFile(t, "ecs.config", "ECS_CLUSTER=x\n")
		if err := os.Chmod(f, 0); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(Sources{Files: []string{f}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
		if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, ErrInvalid) {
			t.Errorf("unreadable file: %v", err)
		}
	}
}

func TestConfigFlagFileMustExist(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.config")
	_, _, err := Load(Sources{Files: []string{}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}, Args: []string{"--config", missing}})
	if !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Load: %v; want ErrNotExist and ErrInvalid", err)
	}
	if want := missing + ": cannot read: no such file or directory"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--bogus"}, "flag: flag provided but not defined: -bogus"},
		{[]string{"--cluster"}, "flag: flag needs an argument: -cluster"},
		{[]string{"--cluster", "a", "extra"}, `flag: unexpected argument "extra"`},
	} {
		ps := problems(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1"}, Args: tt.args})
		if len(ps) != 1 || ps[0].String() != tt.want {
			t.Errorf("%q: problems %v, want %q", tt.args, ps, tt.want)
		}
	}
}

func TestUnknownVariablesWarn(t *testing.T) {
	f := writeFile(t, "ecs.config", "ECS_ENABLE_GPU_SUPPORT=true\nECS_ENGINE_AUTH_DATA={\"secret\":\"hunter2\"}\nOTHER=1\nECSD_CNI_BRIGDE=x\n")
	_, p := load(t, Sources{Files: []string{f}, Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECSD_TYPO=1", "PATH=/bin"}})
	var got []string
	for _, w := range p.Warnings {
		got = append(got, w.String())
	}
	want := []string{
		f + ":1: ECS_ENABLE_GPU_SUPPORT: not used by ecsd; ignored",
		f + ":2: ECS_ENGINE_AUTH_DATA: not used by ecsd; ignored",
		f + ":4: ECSD_CNI_BRIGDE: not used by ecsd; ignored",
		"env: ECSD_TYPO: not used by ecsd; ignored",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

// ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION below 1s is replaced by the default
// with a warning, as the stock agent does; it does not stop ecsd.
func TestCleanupWaitBelowMinimumUsesDefault(t *testing.T) {
	for _, v := range []string{"500ms", "0", "0s", "-1h"} {
		f := writeFile(t, "ecs.config", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION="+v+"\n")
		c, p := load(t, Sources{Files: []string{f}, Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
		if c.TaskCleanupWait != 3*time.Hour {
			t.Errorf("%s: cleanup wait %v, want 3h", v, c.TaskCleanupWait)
		}
		if got := p.Of("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION").String(); got != "default" {
			t.Errorf("%s: origin %q, want default", v, got)
		}
		want := f + ":1: ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=" + v + ": below 1s, so the default 3h is used, as the stock agent does"
		if len(p.Warnings) != 1 || p.Warnings[0].String() != want {
			t.Errorf("%s: warnings %v, want %q", v, p.Warnings, want)
		}
	}
	// 1s itself is allowed; a value that is not a duration is an error.
	c, _ := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=1s"}})
	if c.TaskCleanupWait != time.Second {
		t.Errorf("cleanup wait %v, want 1s", c.TaskCleanupWait)
	}
	problems(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=3 hours"}})
}

func TestAccepted(t *testing.T) {
	tests := []struct {
		variable, value string
		check           func(Config) bool
	}{
		{"ECS_CLUSTER", "arn:aws:ecs:us-east-1:123456789012:cluster/prod-1", func(c Config) bool { return c.Cluster == "arn:aws:ecs:us-east-1:123456789012:cluster/prod-1" }},
		{"ECS_CLUSTER", "arn:aws-us-gov:ecs:us-gov-west-1:123456789012:cluster/x", nil},
		{"ECS_CLUSTER", strings.Repeat("a", 255), nil},
		{"AWS_DEFAULT_REGION", "us-gov-west-1", nil},
		{"AWS_DEFAULT_REGION", "cn-north-1", nil},
		{"AWS_DEFAULT_REGION", "eu-isoe-west-1", nil},
		{"ECS_BACKEND_HOST", "ecs.us-east-1.amazonaws.com", nil},
		{"ECS_BACKEND_HOST", "https://ecs-fips.us-east-1.amazonaws.com", nil},
		{"ECS_BACKEND_HOST", "http://127.0.0.1:8080", nil},
		{"ECS_EXTERNAL", "1", func(c Config) bool { return c.External }},
		{"ECS_EXTERNAL", "TRUE", func(c Config) bool { return c.External }},
		{"ECS_EXTERNAL", "f", func(c Config) bool { return !c.External }},
		{"ECS_LOGLEVEL", "CRIT", func(c Config) bool { return c.LogLevel == LogCrit }},
		{"ECS_RESERVED_MEMORY", "65535", func(c Config) bool { return c.ReservedMemory == 65535 }},
		{"ECS_RESERVED_PORTS_UDP", "[53,65535]", func(c Config) bool { return reflect.DeepEqual(c.ReservedPortsUDP, []int{53, 65535}) }},
		{"ECS_DYNAMIC_HOST_PORT_RANGE", "100-200", func(c Config) bool { return c.DynamicHostPortRange == PortRange{100, 200} }},
		{"ECS_DYNAMIC_HOST_PORT_RANGE", "5000-5000", nil},
		{"ECS_INSTANCE_ATTRIBUTES", `{"stack":"prod","team/x.y_z\\w":"a b@c:d"}`, func(c Config) bool { return c.InstanceAttributes["stack"] == "prod" }},
		{"ECS_CONTAINER_INSTANCE_TAGS", `{"Name":"hôte 1","cost-center":"+=._:/@","empty":""}`, func(c Config) bool { return c.ContainerInstanceTags["Name"] == "hôte 1" }},
		{"ECS_AVAILABLE_LOGGING_DRIVERS", `["awslogs"]`, func(c Config) bool { return reflect.DeepEqual(c.AvailableLoggingDrivers, []string{"awslogs"}) }},
		{"ECS_AVAILABLE_LOGGING_DRIVERS", `[]`, func(c Config) bool { return len(c.AvailableLoggingDrivers) == 0 }},
		{"ECS_CONTAINER_STOP_TIMEOUT", "1s", func(c Config) bool { return c.ContainerStopTimeout == time.Second }},
		{"ECS_CONTAINER_STOP_TIMEOUT", "2m30s", func(c Config) bool { return c.ContainerStopTimeout == 150*time.Second }},
		{"ECS_IMAGE_CLEANUP_INTERVAL", "10m", func(c Config) bool { return c.ImageCleanupInterval == 10*time.Minute }},
		{"ECS_IMAGE_MINIMUM_CLEANUP_AGE", "1ns", nil},
		{"ECS_NUM_IMAGES_DELETE_PER_CYCLE", "1", nil},
		{"ECS_EXCLUDE_UNTRACKED_IMAGE", "busybox:latest, amazon/amazon-ecs-pause:0.1.0,,", func(c Config) bool {
			return reflect.DeepEqual(c.ImageCleanupExclude, []string{"busybox:latest", "amazon/amazon-ecs-pause:0.1.0"})
		}},
		{"ECS_ALTERNATE_CREDENTIAL_PROFILE", "ecs-anywhere", nil},
		{"HTTPS_PROXY", "proxy.corp:3128", nil},
		{"HTTPS_PROXY", "socks5://proxy.corp:1080", nil},
		{"HTTP_PROXY", "http://user:p%40ss@proxy.corp:3128/", nil},
		{"NO_PROXY", "*", func(c Config) bool { return strings.HasPrefix(c.NoProxy, "*,169.254.170.2") }},
		{"ECSD_ACS_ENDPOINT", "wss://acs.example.internal/", nil},
		{"ECSD_TCS_ENDPOINT", "http://127.0.0.1:9000", nil},
		{"ECSD_CONTAINERD_NAMESPACE", "ecsd-test.1_a", nil},
		{"ECSD_CREDENTIALS_LISTEN", "127.0.0.1:0", nil},
		{"ECSD_INTROSPECTION_LISTEN", ":51678", nil},
		{"ECSD_INTROSPECTION_LISTEN", "[::1]:51678", nil},
		{"ECSD_SHARED_CREDENTIALS_FILE", "/root/.aws/credentials", func(c Config) bool { return c.SharedCredentialsFile == "/root/.aws/credentials" }},
		{"ECSD_SHARED_CREDENTIALS_PROFILE", "ecs-anywhere", func(c Config) bool { return c.SharedCredentialsProfile == "ecs-anywhere" }},
		{"ECSD_CNI_BRIDGE", "ecsd-t1.x_y", nil},
		{"ECSD_CNI_SUBNET", "10.200.4.0/30", nil},
	}
	for _, tt := range tests {
		env := []string{"AWS_DEFAULT_REGION=us-east-1", tt.variable + "=" + tt.value}
		c, _, err := Load(Sources{Files: []string{}, Env: env})
		if err != nil {
			t.Errorf("%s=%s: %v", tt.variable, tt.value, err)
			continue
		}
		if tt.check != nil && !tt.check(c) {
			t.Errorf("%s=%s: got %+v", tt.variable, tt.value, c)
		}
	}
}

// Every validation, each naming the variable, the value, its source and
// what is allowed.
var rejected = []struct {
	variable, value, msg string
}{
	{"ECS_CLUSTER", "my cluster", "want a cluster name of 1 to 255 letters, digits, '-' or '_', or a cluster ARN"},
	{"ECS_CLUSTER", strings.Repeat("a", 256), "want a cluster name"},
	{"ECS_CLUSTER", "arn:aws:ecs:us-east-1:123456789012:service/x", "want a cluster ARN such as arn:aws:ecs:us-east-1:123456789012:cluster/NAME"},
	{"AWS_DEFAULT_REGION", "US East", "want an AWS region such as us-east-1"},
	{"AWS_DEFAULT_REGION", "us-east", "want an AWS region"},
	{"ECS_BACKEND_HOST", "ftp://ecs.example", "want a host, host:port or http(s) URL"},
	{"ECS_BACKEND_HOST", "ecs.example:99999", "want 0 to 65535"},
	{"ECS_EXTERNAL", "yes", "want true or false"},
	{"ECS_DATADIR", "data", "want an absolute path"},
	{"ECS_LOGLEVEL", "verbose", "want debug, info, warn, error or crit"},
	{"ECS_RESERVED_MEMORY", "-1", "want an integer from 0 to 65535"},
	{"ECS_RESERVED_MEMORY", "65536", "want an integer from 0 to 65535"},
	{"ECS_RESERVED_MEMORY", "1G", "want an integer from 0 to 65535"},
	{"ECS_RESERVED_PORTS", "22,80", "want a JSON array of ports such as [22,2375]"},
	{"ECS_RESERVED_PORTS", "[22,0,70000]", "port 0, 70000 out of range; want ports from 1 to 65535"},
	{"ECS_RESERVED_PORTS_UDP", `["53"]`, "want a JSON array of ports"},
	{"ECS_DYNAMIC_HOST_PORT_RANGE", "61000-32768", "want FIRST-LAST with 1 <= FIRST <= LAST <= 65535"},
	{"ECS_DYNAMIC_HOST_PORT_RANGE", "0-100", "want FIRST-LAST"},
	{"ECS_DYNAMIC_HOST_PORT_RANGE", "1000", "want FIRST-LAST"},
	{"ECS_INSTANCE_ATTRIBUTES", `{"a":1}`, `want a JSON object of strings such as {"stack":"prod"}`},
	{"ECS_INSTANCE_ATTRIBUTES", `{"bad name":"x","ok":" lead","n":""}`, `attribute name "bad name": want 1 to 128`},
	{"ECS_CONTAINER_INSTANCE_TAGS", `["a"]`, "want a JSON object of strings"},
	{"ECS_CONTAINER_INSTANCE_TAGS", `{"aws:owner":"x","k":"semi;colon"}`, `tag key "aws:owner": the aws: prefix is reserved; tag "k" value "semi;colon": want at most 256`},
	{"ECS_AVAILABLE_LOGGING_DRIVERS", `["json-file","syslog","gelf"]`, `ecsd does not implement "syslog", "gelf"; want any of ["json-file" "journald" "awslogs" "none"]`},
	{"ECS_AVAILABLE_LOGGING_DRIVERS", `json-file`, "want a JSON array of strings"},
	{"ECS_CONTAINER_STOP_TIMEOUT", "500ms", "want a Go duration such as 30s, at least 1s"},
	{"ECS_CONTAINER_STOP_TIMEOUT", "30", "want a Go duration such as 30s, at least 1s"},
	{"ECS_IMAGE_PULL_BEHAVIOR", "never", "want default, always, once or prefer-cached"},
	{"ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT", "on", "want true or false"},
	{"ECS_ENABLE_TASK_CPU_MEM_LIMIT", "enabled", "want true or false"},
	{"ECS_DISABLE_IMAGE_CLEANUP", "nope", "want true or false"},
	{"ECS_IMAGE_CLEANUP_INTERVAL", "5m", "want a Go duration such as 30m, at least 10m"},
	{"ECS_IMAGE_MINIMUM_CLEANUP_AGE", "0s", "want a Go duration such as 1h, above zero"},
	{"ECS_NUM_IMAGES_DELETE_PER_CYCLE", "0", "want an integer of at least 1"},
	{"ECS_EXCLUDE_UNTRACKED_IMAGE", "a b,c", `image reference "a b" has a space`},
	{"ECS_ALTERNATE_CREDENTIAL_PROFILE", "[default]", "want a profile name without spaces or brackets"},
	{"HTTPS_PROXY", "ftp://proxy:21", "want a proxy URL"},
	{"HTTP_PROXY", "http://proxy:3128/path?q", "want a proxy URL"},
	{"ECSD_ACS_ENDPOINT", "acs.example.internal", "want a ws, wss, http or https URL with a host"},
	{"ECSD_TCS_ENDPOINT", "tcp://tcs:1", "want a ws, wss, http or https URL with a host"},
	{"ECSD_CONTAINERD_ADDRESS", "containerd.sock", "want an absolute path"},
	{"ECSD_CONTAINERD_NAMESPACE", "ecsd--x", "want letters and digits in parts"},
	{"ECSD_CONTAINERD_NAMESPACE", "-ecsd", "want letters and digits in parts"},
	{"ECSD_CREDENTIALS_LISTEN", "169.254.170.2", "want HOST:PORT"},
	{"ECSD_INTROSPECTION_LISTEN", "127.0.0.1:http", "want HOST:PORT with a port from 0 to 65535"},
	{"ECS_TASK_METADATA_RPS_LIMIT", "40", "want RATE,BURST such as 40,60"},
	{"ECS_TASK_METADATA_RPS_LIMIT", "0,60", "want RATE,BURST such as 40,60"},
	{"ECSD_TASK_ENDPOINT_CHAIN", "ECSD TASK", "want 1 to 28 letters, digits, '-' or '_'"},
	{"ECS_ENABLE_TASK_IAM_ROLE", "yes", "want true or false"},
	{"ECSD_SSM_STATE_ROOT", "var/lib/amazon/ssm", "want an absolute path"},
	{"ECSD_SHARED_CREDENTIALS_FILE", ".aws/credentials", "want an absolute path"},
	{"ECSD_SHARED_CREDENTIALS_PROFILE", "my profile", "want a profile name without spaces or brackets"},
	{"ECSD_CNI_BRIDGE", "a-bridge-name-too-long", "want 1 to 15 letters"},
	{"ECSD_CNI_BRIDGE", "-br", "want 1 to 15 letters"},
	{"ECSD_CNI_SUBNET", "10.199.0.0/31", "want an IPv4 CIDR of /30 or wider"},
	{"ECSD_CNI_SUBNET", "fd00::/64", "want an IPv4 CIDR"},
	{"ECSD_CNI_SUBNET", "10.199.0.1/20", "host bits set; want 10.199.0.0/20"},
}

func TestRejected(t *testing.T) {
	for _, tt := range rejected {
		f := writeFile(t, "ecs.config", "# comment\n"+tt.variable+"="+tt.value+"\n")
		env := []string{"AWS_DEFAULT_REGION=us-east-1"}
		if tt.variable == "AWS_DEFAULT_REGION" {
			env = nil
		}
		ps := problems(t, Sources{Files: []string{f}, Env: env})
		if len(ps) != 1 {
			t.Errorf("%s=%s: problems %v, want 1", tt.variable, tt.value, ps)
			continue
		}
		p := ps[0]
		if p.Variable != tt.variable || p.Value != tt.value || p.Origin.File != f || p.Origin.Line != 2 {
			t.Errorf("%s=%s: problem %+v", tt.variable, tt.value, p)
		}
		if !strings.Contains(p.Msg, tt.msg) {
			t.Errorf("%s=%s: message %q lacks %q", tt.variable, tt.value, p.Msg, tt.msg)
		}
		if s := p.String(); !strings.HasPrefix(s, f+":2: "+tt.variable+"=") {
			t.Errorf("%s=%s: %q does not start with the source and variable", tt.variable, tt.value, s)
		}
	}
}

// All problems are reported together, in table order, not just the first.
func TestAllProblemsReported(t *testing.T) {
	var env []string
	wantVars := map[string]bool{}
	for _, tt := range rejected {
		if !wantVars[tt.variable] && tt.variable != "AWS_DEFAULT_REGION" {
			env = append(env, tt.variable+"="+tt.value)
			wantVars[tt.variable] = true
		}
	}
	// No region at all: a problem of its own.
	ps := problems(t, Sources{Env: env})
	got := map[string]bool{}
	for _, p := range ps {
		if got[p.Variable] {
			t.Errorf("two problems for %s", p.Variable)
		}
		got[p.Variable] = true
	}
	wantVars["AWS_DEFAULT_REGION"] = true
	if !reflect.DeepEqual(got, wantVars) {
		t.Errorf("problems for %v\nwant %v", got, wantVars)
	}
	var order []string
	for _, v := range Variables() {
		if wantVars[v.Name] {
			order = append(order, v.Name)
		}
	}
	var gotOrder []string
	for _, p := range ps {
		if p.Variable != "AWS_DEFAULT_REGION" {
			gotOrder = append(gotOrder, p.Variable)
		}
	}
	order = slicesDelete(order, "AWS_DEFAULT_REGION")
	if !reflect.DeepEqual(gotOrder, order) {
		t.Errorf("order %v\nwant %v", gotOrder, order)
	}
}

func slicesDelete(s []string, v string) []string {
	var out []string
	for _, e := range s {
		if e != v {
			out = append(out, e)
		}
	}
	return out
}

func TestRegionRequired(t *testing.T) {
	ps := problems(t, Sources{})
	want := "AWS_DEFAULT_REGION: required: ecsd does not look the region up in instance metadata; set AWS_DEFAULT_REGION (such as us-east-1) in /var/lib/ecs/ecs.config or /etc/ecs/ecs.config"
	if len(ps) != 1 || ps[0].String() != want {
		t.Errorf("problems %v\nwant %q", ps, want)
	}
	// Set empty: the same, with the place it was emptied.
	f := writeFile(t, "ecs.config", "AWS_DEFAULT_REGION=\n")
	ps = problems(t, Sources{Files: []string{f}})
	if len(ps) != 1 || !strings.HasPrefix(ps[0].String(), f+`:1 (empty: default): AWS_DEFAULT_REGION="": required`) {
		t.Errorf("problems %v", ps)
	}
}

func TestListenersMustDiffer(t *testing.T) {
	ps := problems(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECSD_CREDENTIALS_LISTEN=127.0.0.1:51678"}})
	if len(ps) != 1 || ps[0].Variable != "ECSD_INTROSPECTION_LISTEN" || !strings.Contains(ps[0].Msg, "same address as ECSD_CREDENTIALS_LISTEN") {
		t.Errorf("problems %v", ps)
	}
	// Port 0 is a fresh port each time: no clash.
	load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECSD_CREDENTIALS_LISTEN=127.0.0.1:0", "ECSD_INTROSPECTION_LISTEN=127.0.0.1:0"}})
}

func TestRedirectNeedsLoopback(t *testing.T) {
	ps := problems(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECSD_CREDENTIALS_LISTEN=0.0.0.0:51679"}})
	if len(ps) != 1 || ps[0].Variable != "ECSD_CREDENTIALS_LISTEN" || !strings.Contains(ps[0].Msg, "needs a loopback IPv4 address") {
		t.Errorf("problems %v", ps)
	}
	c, _ := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECSD_CREDENTIALS_LISTEN=0.0.0.0:51679",
		"ECSD_TASK_ENDPOINT_REDIRECT=false", "ECS_TASK_METADATA_RPS_LIMIT=10, 20"}})
	if c.TaskMetadataRate != 10 || c.TaskMetadataBurst != 20 {
		t.Errorf("rate limit %d,%d", c.TaskMetadataRate, c.TaskMetadataBurst)
	}
}

func TestValidationErrorMessage(t *testing.T) {
	_, _, err := Load(Sources{Files: []string{}, Env: []string{"ECS_LOGLEVEL=loud"}, Args: []string{"--cluster=a b"}})
	want := `invalid configuration (3 problems): flag --cluster: ECS_CLUSTER="a b": want a cluster name of 1 to 255 letters, digits, '-' or '_', or a cluster ARN; ` +
		`env: ECS_LOGLEVEL=loud: want debug, info, warn, error or crit; ` +
		`AWS_DEFAULT_REGION: required: ecsd does not look the region up in instance metadata; set AWS_DEFAULT_REGION (such as us-east-1) in /var/lib/ecs/ecs.config or /etc/ecs/ecs.config`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}
}

// On error the Config holds defaults where values were bad.
func TestInvalidValueLeavesDefault(t *testing.T) {
	c, p, err := Load(Sources{Files: []string{}, Env: []string{"AWS_DEFAULT_REGION=us-east-1", "ECS_CONTAINER_STOP_TIMEOUT=soon"}})
	if err == nil || c.ContainerStopTimeout != 30*time.Second || p.Of("ECS_CONTAINER_STOP_TIMEOUT").Kind != FromEnv {
		t.Errorf("err %v, timeout %v, origin %v", err, c.ContainerStopTimeout, p.Of("ECS_CONTAINER_STOP_TIMEOUT"))
	}
}

func TestLogLevel(t *testing.T) {
	for l, want := range map[LogLevel]string{LogDebug: "DEBUG", LogInfo: "INFO", LogWarn: "WARN", LogError: "ERROR", LogCrit: "ERROR+4"} {
		if got := l.Level().String(); got != want {
			t.Errorf("%s: %s, want %s", l, got, want)
		}
	}
}
