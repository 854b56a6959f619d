package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/ocispec"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// ErrInvalidContainer: the container definition cannot become a container.
// The error's text says why, in words fit for ECS's
// "CannotCreateContainerError: ..." reason once the caller prefixes it.
var ErrInvalidContainer = errors.New("invalid container definition")

// SpecInput is what ContainerSpec needs to translate one container of a
// task.
type SpecInput struct {
	Task      *acs.Task
	Container *acs.Container
	// ClusterARN is the cluster the instance is registered in; the task's
	// taskClusterArn is used when it is empty.
	ClusterARN string
	// ContainerID is the containerd container id to create.
	ContainerID string
	// Volumes maps each task volume's name to its directory on the host.
	Volumes map[string]string
	// VolumesFrom maps the name of each container of the task to the mounts
	// of its runtime.ContainerSpec, for volumesFrom.
	VolumesFrom map[string][]runtime.Mount
	// Region is injected as AWS_REGION and AWS_DEFAULT_REGION unless the
	// container's environment, Env or ImageEnv sets them.
	Region string
	// ImageEnv is the image's environment, when known.
	ImageEnv []string
	// Env is injected into the container (credentials URI, metadata URIs);
	// it wins over the task definition's environment.
	Env map[string]string
	// NetNSPath is the network namespace prepared for a bridge-mode task.
	NetNSPath string
	// CgroupParent is the task's cgroup.
	CgroupParent string
}

// HealthCheck is a container's Docker health check, with Docker's defaults
// filled in. Test is ["CMD", exe, args...] or ["CMD-SHELL", command].
type HealthCheck struct {
	Test        []string
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// Docker's health check defaults.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
	minHealthDuration     = time.Millisecond
)

// SpecResult is the translation of one container.
type SpecResult struct {
	Spec runtime.ContainerSpec
	// HealthCheck is the container's health check; nil when it has none.
	HealthCheck *HealthCheck
	// Warnings name settings that were given but are not supported, and
	// so were ignored.
	Warnings []string
	// LogDriver and LogOptions are the container's logConfiguration
	// (hostConfig LogConfig); an empty driver means the default.
	LogDriver  string
	LogOptions map[string]string
}

const (
	mib            = 1 << 20
	minMemoryBytes = 4 * mib
	minCPUShares   = 2
	maxCPUShares   = 262144
	defaultSwappy  = 60 // ECS's swappiness when maxSwap is set
)

// ContainerSpec translates an ECS container into the runtime's
// ContainerSpec the way the ECS agent builds its Docker config: first from
// the typed fields of the container, then with dockerConfig.config (a Docker
// container Config) and dockerConfig.hostConfig (a Docker HostConfig)
// unmarshalled over them, so that a key present there wins. Keys that do not
// translate are reported as warnings when they carry a value; malformed JSON
// and invalid values are errors wrapping ErrInvalidContainer.
//
// Identity labels (runtime.Label*) are added and win over dockerLabels.
// Containers get no_new_privileges and the default seccomp profile unless
// the task definition asks otherwise (dockerSecurityOptions
// "no-new-privileges=false", "seccomp=unconfined", or privileged): safer
// than Docker's default, which lets setuid binaries gain privileges. cpu
// below 2 shares becomes 2, as the ECS agent does.
func ContainerSpec(in SpecInput) (SpecResult, error) {
	if in.Task == nil || in.Container == nil {
		return SpecResult{}, fmt.Errorf("%w: no task or container", ErrInvalidContainer)
	}
	t := &translation{in: in, task: in.Task, c: in.Container}
	res := t.run()
	if len(t.problems) > 0 {
		name := in.Container.Name
		if name == "" {
			name = "(unnamed)"
		}
		return SpecResult{}, fmt.Errorf("%w: container %s: %s", ErrInvalidContainer, name, strings.Join(t.problems, "; "))
	}
	res.Warnings = t.warnings
	return res, nil
}

type translation struct {
	in       SpecInput
	task     *acs.Task
	c        *acs.Container
	problems []string
	warnings []string
}

func (t *translation) bad(format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

func (t *translation) warn(format string, args ...any) {
	t.warnings = append(t.warnings, fmt.Sprintf(format, args...))
}

// dockerContainerConfig is the part of Docker's container Config that ECS
// sends and ecsd translates.
type dockerContainerConfig struct {
	Hostname    string
	User        string
	Env         []string
	Cmd         strSlice
	Entrypoint  strSlice
	WorkingDir  string
	Labels      map[string]string
	StopSignal  string
	Healthcheck *dockerHealthConfig
}

type dockerHealthConfig struct {
	Test        strSlice
	Interval    time.Duration
	Timeout     time.Duration
	StartPeriod time.Duration
	Retries     int
}

// dockerHostConfig is the part of Docker's HostConfig that ecsd translates.
type dockerHostConfig struct {
	Binds          []string
	NetworkMode    string
	CapAdd         strSlice
	CapDrop        strSlice
	DNS            []string `json:"Dns"`
	DNSOptions     []string `json:"DnsOptions"`
	DNSSearch      []string `json:"DnsSearch"`
	ExtraHosts     []string
	Privileged     bool
	ReadonlyRootfs bool
	SecurityOpt    []string
	Tmpfs          map[string]string
	ShmSize        int64
	Sysctls        map[string]string
	Init           *bool

	Memory            int64
	MemoryReservation int64
	MemorySwap        int64
	MemorySwappiness  *int64
	CPUShares         int64 `json:"CpuShares"`
	PidsLimit         *int64
	Ulimits           []dockerUlimit
	Devices           []dockerDevice
	LogConfig         *dockerLogConfig
}

// dockerLogConfig is the container's logConfiguration as ECS sends it.
type dockerLogConfig struct {
	Type   string
	Config map[string]string
}

type dockerUlimit struct {
	Name string
	Soft int64
	Hard int64
}

type dockerDevice struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// strSlice is Docker's StrSlice: a JSON string or list of strings. null
// leaves the value as it was.
type strSlice []string

func (s *strSlice) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*s = list
		return nil
	}
	var one string
	if err := json.Unmarshal(b, &one); err != nil {
		return fmt.Errorf("want a string or a list of strings: %w", err)
	}
	*s = strSlice{one}
	return nil
}

// Keys of the Docker documents, by what happens to them. Docker matches
// keys without regard to case, and so does ecsd.
var (
	configTranslated = keySet("Hostname", "User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels", "StopSignal", "Healthcheck")
	// Handled elsewhere (ports, image) or meaningless here.
	configElsewhere      = keySet("Image", "ExposedPorts", "ArgsEscaped")
	hostConfigTranslated = keySet("Binds", "CapAdd", "CapDrop", "Dns", "DnsOptions", "DnsSearch", "ExtraHosts", "Privileged",
		"ReadonlyRootfs", "SecurityOpt", "Tmpfs", "ShmSize", "Sysctls", "Init", "Memory", "MemoryReservation", "MemorySwap",
		"MemorySwappiness", "CpuShares", "PidsLimit", "Ulimits", "Devices")
	// NetworkMode comes from the task, ports from portMappings, logging from
	// the log driver setup.
	hostConfigElsewhere = keySet("NetworkMode", "PortBindings", "LogConfig")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[strings.ToLower(k)] = true
	}
	return m
}

func (t *translation) run() SpecResult {
	c := t.c
	if t.in.ContainerID == "" {
		t.bad("no container id")
	}
	if c.Name == "" {
		t.bad("the container has no name")
	}
	if c.Image == "" {
		t.bad("the container has no image")
	}

	cfg, hc, volumesFromTyped := t.typedConfig()
	var mounts []runtime.Mount
	if dc := c.DockerConfig; dc != nil {
		t.overlay("dockerConfig.config", dc.Config, &cfg, configTranslated, configElsewhere)
		t.overlay("dockerConfig.hostConfig", dc.HostConfig, &hc, hostConfigTranslated, hostConfigElsewhere)
	}
	if len(t.problems) > 0 {
		// The documents did not decode; what follows would only add noise.
		return SpecResult{}
	}

	spec := runtime.ContainerSpec{
		ID:           t.in.ContainerID,
		Image:        c.Image,
		Entrypoint:   cfg.Entrypoint,
		Command:      cfg.Cmd,
		WorkingDir:   cfg.WorkingDir,
		User:         cfg.User,
		StopSignal:   cfg.StopSignal,
		Hostname:     cfg.Hostname,
		DNSSearch:    hc.DNSSearch,
		DNSOptions:   hc.DNSOptions,
		CgroupParent: t.in.CgroupParent,
		Privileged:   hc.Privileged,

		ReadonlyRootfs: hc.ReadonlyRootfs,
	}
	spec.Labels = t.labels(cfg.Labels)
	spec.Env = t.env(cfg.Env)

	if spec.WorkingDir != "" && !path.IsAbs(spec.WorkingDir) {
		t.bad("workingDirectory %q is not an absolute path", spec.WorkingDir)
	}
	if len(spec.Hostname) > 64 {
		t.bad("hostname %q is longer than 64 characters", spec.Hostname)
	}
	spec.ExtraHosts = t.extraHosts(hc.ExtraHosts)
	for _, s := range hc.DNS {
		if _, err := netip.ParseAddr(s); err != nil {
			t.bad("dnsServers: %q is not an IP address", s)
		}
	}
	spec.DNSServers = hc.DNS

	t.resources(&spec, hc)
	t.security(&spec, hc)

	// Filesystem.
	if hc.Binds != nil {
		mounts = t.binds(hc.Binds)
	} else {
		mounts = t.mountPoints()
	}
	spec.Mounts = t.volumesFrom(mounts, volumesFromTyped)
	spec.Tmpfs = t.tmpfs(hc.Tmpfs)
	switch {
	case hc.ShmSize < 0:
		t.bad("shm size %d is negative", hc.ShmSize)
	default:
		spec.ShmSize = hc.ShmSize
	}
	if hc.Init != nil {
		spec.Init = *hc.Init
	}

	t.network(&spec, hc)
	t.unsupportedTyped()

	res := SpecResult{Spec: spec, HealthCheck: t.healthCheck(cfg.Healthcheck)}
	if hc.LogConfig != nil {
		res.LogDriver, res.LogOptions = hc.LogConfig.Type, hc.LogConfig.Config
	}
	return res
}

// typedConfig builds the Docker documents from the container's typed
// fields, as the ECS agent does before it unmarshals dockerConfig over
// them.
func (t *translation) typedConfig() (dockerContainerConfig, dockerHostConfig, []acs.VolumeFrom) {
	c := t.c
	cfg := dockerContainerConfig{
		Cmd:        slices.Clone(c.Command),
		Entrypoint: slices.Clone(c.EntryPoint),
	}
	if c.Overrides != "" {
		var o struct {
			Command []string `json:"command"`
		}
		if err := json.Unmarshal([]byte(c.Overrides), &o); err != nil {
			t.bad("container overrides are not valid JSON: %v", err)
		} else if o.Command != nil {
			cfg.Cmd = o.Command
		}
	}
	for _, k := range slices.Sorted(maps.Keys(c.Environment)) {
		cfg.Env = append(cfg.Env, k+"="+c.Environment[k])
	}

	var hc dockerHostConfig
	if c.Memory != nil {
		switch m := *c.Memory; {
		case m < 0:
			t.bad("memory %d MiB is negative", m)
		case m > math.MaxInt64/mib:
			t.bad("memory %d MiB is too large", m)
		case m > 0 && m*mib < minMemoryBytes:
			t.warn("memory %d MiB is below the minimum; 4 MiB is used", m)
			hc.Memory = minMemoryBytes
		case m > 0:
			hc.Memory = m * mib
		}
	}
	hc.CPUShares = minCPUShares
	if c.CPU != nil {
		switch cpu := *c.CPU; {
		case cpu < 0:
			t.bad("cpu %d is negative", cpu)
		default:
			hc.CPUShares = min(max(cpu, minCPUShares), maxCPUShares)
		}
	}
	if c.Privileged != nil {
		hc.Privileged = *c.Privileged
	}
	if lp := c.LinuxParameters; lp != nil {
		if lp.Capabilities != nil {
			hc.CapAdd = slices.Clone(lp.Capabilities.Add)
			hc.CapDrop = slices.Clone(lp.Capabilities.Drop)
		}
		for _, d := range lp.Devices {
			perms, err := devicePermissions(d.Permissions)
			if err != nil {
				t.bad("device %s: %v", d.HostPath, err)
			}
			hc.Devices = append(hc.Devices, dockerDevice{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: perms})
		}
		if lp.InitProcessEnabled != nil {
			// A copy: the documents are unmarshalled over hc.
			hc.Init = ptr(*lp.InitProcessEnabled)
		}
		if lp.SharedMemorySize != nil {
			switch s := *lp.SharedMemorySize; {
			case s < 0:
				t.bad("sharedMemorySize %d MiB is negative", s)
			case s > math.MaxInt64/mib:
				t.bad("sharedMemorySize %d MiB is too large", s)
			default:
				hc.ShmSize = s * mib
			}
		}
		if lp.MaxSwap != nil {
			switch s := *lp.MaxSwap; {
			case s < 0:
				t.bad("maxSwap %d MiB is negative", s)
			case s > (math.MaxInt64-hc.Memory)/mib:
				t.bad("maxSwap %d MiB is too large", s)
			case hc.Memory == 0:
				t.bad("maxSwap needs a memory hard limit")
			default:
				hc.MemorySwap = hc.Memory + s*mib
				hc.MemorySwappiness = ptr(int64(defaultSwappy))
			}
		}
		if lp.Swappiness != nil {
			hc.MemorySwappiness = ptr(*lp.Swappiness)
		}
		if len(lp.Tmpfs) > 0 {
			hc.Tmpfs = map[string]string{}
			for _, tm := range lp.Tmpfs {
				if tm.Size < 0 {
					t.bad("tmpfs %s: size %d MiB is negative", tm.ContainerPath, tm.Size)
					continue
				}
				opts := slices.Clone(tm.MountOptions)
				if tm.Size > 0 {
					opts = append(opts, "size="+strconv.FormatInt(tm.Size, 10)+"m")
				}
				hc.Tmpfs[tm.ContainerPath] = strings.Join(opts, ",")
			}
		}
	}
	return cfg, hc, c.VolumesFrom
}

func devicePermissions(perms []string) (string, error) {
	if len(perms) == 0 {
		return "rwm", nil
	}
	var out strings.Builder
	for _, p := range perms {
		var c byte
		switch p {
		case acs.DevicePermissionRead:
			c = 'r'
		case acs.DevicePermissionWrite:
			c = 'w'
		case acs.DevicePermissionMknod:
			c = 'm'
		default:
			return "", fmt.Errorf("unknown permission %q", p)
		}
		if !strings.ContainsRune(out.String(), rune(c)) {
			out.WriteByte(c)
		}
	}
	return out.String(), nil
}

// overlay unmarshals the Docker JSON document doc over v and warns about
// keys that carry a value but are not translated.
func (t *translation) overlay(name, doc string, v any, translated, elsewhere map[string]bool) {
	if strings.TrimSpace(doc) == "" {
		return
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &keys); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			t.bad("%s is a JSON %s, not an object", name, te.Value)
		} else {
			t.bad("%s is not valid JSON: %v", name, err)
		}
		return
	}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		t.bad("%s: %s", name, jsonProblem(err))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		lk := strings.ToLower(k)
		if translated[lk] || elsewhere[lk] || isZeroJSON(keys[k]) {
			continue
		}
		t.warn("%s: %s is not supported and was ignored", name, k)
	}
}

// jsonProblem words a decoding error without naming ecsd's Go types.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("%s cannot be a JSON %s", te.Field, te.Value)
	}
	return err.Error()
}

func isZeroJSON(raw json.RawMessage) bool {
	switch string(bytes.TrimSpace(raw)) {
	case "null", "false", "0", `""`, "[]", "{}":
		return true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		switch buf.String() {
		case "[]", "{}":
			return true
		}
	}
	return false
}

// labels are the task's dockerLabels plus ecsd's identity labels, which
// win.
func (t *translation) labels(docker map[string]string) map[string]string {
	cluster := t.in.ClusterARN
	if cluster == "" {
		cluster = t.task.TaskClusterARN
	}
	identity := map[string]string{
		runtime.LabelTaskARN:       t.task.ARN,
		runtime.LabelContainerName: t.c.Name,
		runtime.LabelTaskFamily:    t.task.Family,
		runtime.LabelTaskVersion:   t.task.Version,
		runtime.LabelCluster:       cluster,
		runtime.LabelManagedBy:     "true",
	}
	labels := make(map[string]string, len(docker)+len(identity))
	maps.Copy(labels, docker)
	for _, k := range slices.Sorted(maps.Keys(identity)) {
		if v, ok := docker[k]; ok && v != identity[k] {
			t.warn("dockerLabels: %s is set by ecsd and cannot be overridden", k)
		}
		labels[k] = identity[k]
	}
	return labels
}

// env is the container's environment, then the region unless something
// sets it, then SpecInput.Env, which wins.
func (t *translation) env(env []string) []string {
	injected := make([]string, 0, len(t.in.Env)+2)
	for _, k := range slices.Sorted(maps.Keys(t.in.Env)) {
		injected = append(injected, k+"="+t.in.Env[k])
	}
	if t.in.Region != "" {
		set := func(key string) bool {
			for _, list := range [][]string{env, injected, t.in.ImageEnv} {
				for _, e := range list {
					if k, _, _ := strings.Cut(e, "="); k == key {
						return true
					}
				}
			}
			return false
		}
		var region []string
		for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if !set(k) {
				region = append(region, k+"="+t.in.Region)
			}
		}
		injected = append(region, injected...)
	}
	return ocispec.MergeEnv(env, injected)
}

func (t *translation) extraHosts(entries []string) []runtime.HostEntry {
	var out []runtime.HostEntry
	for _, e := range entries {
		host, ip, ok := strings.Cut(e, "=")
		if !ok {
			host, ip, ok = strings.Cut(e, ":")
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		switch {
		case !ok || host == "" || strings.ContainsAny(host, " \t"):
			t.bad("extraHosts: %q is not hostname:IP", e)
			continue
		case ip == "host-gateway":
			t.bad("extraHosts: %q: host-gateway is not supported", e)
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			t.bad("extraHosts: %q: %q is not an IP address", e, ip)
			continue
		}
		out = append(out, runtime.HostEntry{Hostname: host, IPAddress: ip})
	}
	return out
}

func (t *translation) resources(spec *runtime.ContainerSpec, hc dockerHostConfig) {
	switch m := hc.Memory; {
	case m < 0:
		t.bad("memory %d bytes is negative", m)
	case m > 0 && m < minMemoryBytes:
		t.bad("memory %d bytes is below the minimum of 4 MiB", m)
	default:
		spec.MemoryLimit = m
	}
	switch r := hc.MemoryReservation; {
	case r < 0:
		t.bad("memoryReservation %d bytes is negative", r)
	case r > 0 && r < minMemoryBytes:
		t.bad("memoryReservation %d bytes is below the minimum of 4 MiB", r)
	case r > 0 && hc.Memory > 0 && r > hc.Memory:
		t.bad("memoryReservation %d bytes is above the memory hard limit %d bytes", r, hc.Memory)
	default:
		spec.MemoryReservation = r
	}
	switch s := hc.MemorySwap; {
	case s < -1:
		t.bad("memory swap %d is invalid", s)
	case s > 0 && hc.Memory == 0:
		t.bad("memory swap needs a memory hard limit")
	case s > 0 && s < hc.Memory:
		t.bad("memory swap %d bytes is below the memory hard limit %d bytes", s, hc.Memory)
	default:
		spec.MemorySwap = s
	}
	if sw := hc.MemorySwappiness; sw != nil && *sw != -1 {
		if *sw < 0 || *sw > 100 {
			t.bad("swappiness %d is not in 0..100", *sw)
		} else {
			spec.Swappiness = ptr(uint64(*sw))
		}
	}
	switch cpu := hc.CPUShares; {
	case cpu < 0:
		t.bad("cpu shares %d are negative", cpu)
	case cpu > 0:
		spec.CPUShares = uint64(min(max(cpu, minCPUShares), maxCPUShares))
	}
	if p := hc.PidsLimit; p != nil && *p > 0 {
		spec.PidsLimit = *p
	}
	for _, u := range hc.Ulimits {
		ul := runtime.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}
		if _, err := (ocispec.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}).Rlimit(); err != nil {
			t.bad("ulimits: %v", err)
			continue
		}
		spec.Ulimits = append(spec.Ulimits, ul)
	}
}

func (t *translation) security(spec *runtime.ContainerSpec, hc dockerHostConfig) {
	if _, err := ocispec.NormalizeCapabilities(hc.CapAdd); err != nil {
		t.bad("capabilities add: %v", err)
	}
	if _, err := ocispec.NormalizeCapabilities(hc.CapDrop); err != nil {
		t.bad("capabilities drop: %v", err)
	}
	spec.CapAdd, spec.CapDrop = hc.CapAdd, hc.CapDrop

	for _, d := range hc.Devices {
		switch {
		case !path.IsAbs(d.PathOnHost):
			t.bad("device %q: the host path is not absolute", d.PathOnHost)
			continue
		case d.PathInContainer != "" && !path.IsAbs(d.PathInContainer):
			t.bad("device %s: container path %q is not absolute", d.PathOnHost, d.PathInContainer)
			continue
		case d.CgroupPermissions != "" && !ocispec.ValidDevicePermissions(d.CgroupPermissions):
			t.bad("device %s: permissions %q are not a subset of \"rwm\"", d.PathOnHost, d.CgroupPermissions)
			continue
		}
		spec.Devices = append(spec.Devices, runtime.Device{HostPath: d.PathOnHost, ContainerPath: d.PathInContainer, Permissions: d.CgroupPermissions})
	}

	for _, opt := range hc.SecurityOpt {
		key, value, ok := strings.Cut(opt, "=")
		if !ok {
			key, value, ok = strings.Cut(opt, ":")
		}
		switch key {
		case "no-new-privileges":
			nnp := true
			if ok {
				b, err := strconv.ParseBool(value)
				if err != nil {
					t.bad("dockerSecurityOptions: %q: %q is not a boolean", opt, value)
					continue
				}
				nnp = b
			}
			spec.AllowNewPrivileges = !nnp
		case "seccomp":
			if value == "unconfined" {
				spec.SeccompUnconfined = true
			} else {
				t.warn("dockerSecurityOptions: %q: custom seccomp profiles are not supported; the default profile applies", opt)
			}
		case "label", "apparmor", "systempaths", "mask", "unmask":
			t.warn("dockerSecurityOptions: %q is not supported and was ignored", opt)
		default:
			t.bad("dockerSecurityOptions: %q is not a security option", opt)
		}
	}

	for _, name := range slices.Sorted(maps.Keys(hc.Sysctls)) {
		if _, err := ocispec.SysctlNamespace(name); err != nil {
			t.bad("systemControls: %v", err)
		}
	}
	spec.Sysctls = hc.Sysctls
}

// mountPoints resolves the container's mountPoints against the task's
// volumes.
func (t *translation) mountPoints() []runtime.Mount {
	var out []runtime.Mount
	for _, mp := range t.c.MountPoints {
		src, ok := t.in.Volumes[mp.SourceVolume]
		switch {
		case !ok:
			t.bad("mountPoints: unknown volume %q", mp.SourceVolume)
			continue
		case !path.IsAbs(mp.ContainerPath):
			t.bad("mountPoints: container path %q of volume %s is not absolute", mp.ContainerPath, mp.SourceVolume)
			continue
		case !path.IsAbs(src):
			t.bad("mountPoints: volume %s has no host directory", mp.SourceVolume)
			continue
		}
		out = append(out, runtime.Mount{Source: src, Destination: mp.ContainerPath, ReadOnly: mp.ReadOnly})
	}
	return out
}

// binds parses Docker's Binds, "host-src:container-dest[:options]".
func (t *translation) binds(binds []string) []runtime.Mount {
	var out []runtime.Mount
	for _, b := range binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 {
			t.bad("binds: %q is not host-path:container-path[:options]", b)
			continue
		}
		m := runtime.Mount{Source: parts[0], Destination: parts[1]}
		if !path.IsAbs(m.Source) {
			t.bad("binds: %q: named volumes are not supported", b)
			continue
		}
		if !path.IsAbs(m.Destination) {
			t.bad("binds: %q: the container path is not absolute", b)
			continue
		}
		if len(parts) == 3 {
			for _, o := range strings.Split(parts[2], ",") {
				switch o {
				case "ro":
					m.ReadOnly = true
				case "rw", "rprivate", "private":
				case "z", "Z", "nocopy", "shared", "rshared", "slave", "rslave":
					t.warn("binds: %q: option %s is not supported and was ignored", b, o)
				default:
					t.bad("binds: %q: unknown option %q", b, o)
				}
			}
		}
		out = append(out, m)
	}
	return out
}

// volumesFrom adds the mounts of the containers named in volumesFrom;
// the container's own mounts win at the same destination.
func (t *translation) volumesFrom(own []runtime.Mount, from []acs.VolumeFrom) []runtime.Mount {
	out := own
	for _, vf := range from {
		mounts, ok := t.in.VolumesFrom[vf.SourceContainer]
		if !ok {
			t.bad("volumesFrom: unknown container %q", vf.SourceContainer)
			continue
		}
		for _, m := range mounts {
			if slices.ContainsFunc(out, func(o runtime.Mount) bool { return path.Clean(o.Destination) == path.Clean(m.Destination) }) {
				continue
			}
			m.ReadOnly = m.ReadOnly || vf.ReadOnly
			out = append(out, m)
		}
	}
	return out
}

// tmpfs parses Docker's Tmpfs map of destination to "opt,opt,size=64m".
func (t *translation) tmpfs(m map[string]string) []runtime.Tmpfs {
	var out []runtime.Tmpfs
	for _, dst := range slices.Sorted(maps.Keys(m)) {
		if !path.IsAbs(dst) || path.Clean(dst) == "/" {
			t.bad("tmpfs: %q is not an absolute path", dst)
			continue
		}
		tm := runtime.Tmpfs{Destination: dst}
		for _, o := range strings.Split(m[dst], ",") {
			o = strings.TrimSpace(o)
			if o == "" {
				continue
			}
			if v, ok := strings.CutPrefix(o, "size="); ok && !strings.HasSuffix(v, "%") {
				size, err := parseSize(v)
				if err != nil {
					t.bad("tmpfs %s: size %q: %v", dst, v, err)
					continue
				}
				tm.SizeBytes = size
				continue
			}
			tm.Options = append(tm.Options, o)
		}
		out = append(out, tm)
	}
	return out
}

// parseSize reads a byte count with an optional k, m or g suffix (binary,
// as tmpfs reads it).
func parseSize(s string) (int64, error) {
	shift := 0
	num := strings.ToLower(s)
	num = strings.TrimSuffix(strings.TrimSuffix(num, "b"), "i")
	switch {
	case strings.HasSuffix(num, "k"):
		shift = 10
	case strings.HasSuffix(num, "m"):
		shift = 20
	case strings.HasSuffix(num, "g"):
		shift = 30
	}
	if shift > 0 {
		num = num[:len(num)-1]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil:
		return 0, errors.New("not a size")
	case n < 0:
		return 0, errors.New("negative")
	case n > math.MaxInt64>>shift:
		return 0, errors.New("too large")
	}
	return n << shift, nil
}

// network applies the task's network mode.
func (t *translation) network(spec *runtime.ContainerSpec, hc dockerHostConfig) {
	mode := t.task.NetworkMode
	switch mode {
	case "", acs.NetworkModeBridge:
		mode = acs.NetworkModeBridge
		spec.NetNSPath = t.in.NetNSPath
	case acs.NetworkModeHost:
		spec.HostNetwork = true
	case acs.NetworkModeNone:
	case acs.NetworkModeAWSVPC:
		t.bad("network mode awsvpc is not supported on external instances")
	default:
		t.bad("unknown network mode %q", mode)
	}
	if hm := hc.NetworkMode; hm != "" && hm != mode && !(hm == "default" && mode == acs.NetworkModeBridge) {
		t.warn("dockerConfig.hostConfig: NetworkMode %q was ignored; the task's network mode %s applies", hm, mode)
	}
	if spec.HostNetwork {
		for _, name := range slices.Sorted(maps.Keys(spec.Sysctls)) {
			if ns, err := ocispec.SysctlNamespace(name); err == nil && ns == specs.NetworkNamespace {
				t.bad("systemControls: %s cannot be set in host network mode", name)
			}
		}
	}
}

// unsupportedTyped warns about typed settings the runtime cannot honour.
func (t *translation) unsupportedTyped() {
	if len(t.c.Links) > 0 {
		t.warn("links are not supported and were ignored")
	}
	if t.task.PidMode != "" {
		t.warn("pidMode %q is not supported and was ignored", t.task.PidMode)
	}
	if t.task.IpcMode != "" {
		t.warn("ipcMode %q is not supported and was ignored", t.task.IpcMode)
	}
}

// healthCheck checks Docker's Healthcheck and fills in Docker's defaults.
func (t *translation) healthCheck(h *dockerHealthConfig) *HealthCheck {
	wantDocker := t.c.HealthCheckType == acs.HealthCheckTypeDocker
	if h == nil || len(h.Test) == 0 || h.Test[0] == "NONE" {
		if wantDocker {
			t.bad("healthCheckType is docker but the container config has no health check")
		}
		return nil
	}
	switch h.Test[0] {
	case "CMD", "CMD-SHELL":
		if len(h.Test) < 2 {
			t.bad("healthCheck: %s has no command", h.Test[0])
			return nil
		}
	default:
		t.bad("healthCheck: test must start with CMD or CMD-SHELL, not %q", h.Test[0])
		return nil
	}
	hc := &HealthCheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"interval", &hc.Interval, defaultHealthInterval},
		{"timeout", &hc.Timeout, defaultHealthTimeout},
		{"startPeriod", &hc.StartPeriod, 0},
	} {
		switch {
		case *d.v < 0:
			t.bad("healthCheck: %s %s is negative", d.name, *d.v)
		case *d.v == 0:
			*d.v = d.def
		case *d.v < minHealthDuration:
			t.bad("healthCheck: %s %s is below 1ms", d.name, *d.v)
		}
	}
	switch {
	case hc.Retries < 0:
		t.bad("healthCheck: retries %d is negative", hc.Retries)
	case hc.Retries == 0:
		hc.Retries = defaultHealthRetries
	}
	return hc
}

func ptr[T any](v T) *T { return &v }
