package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/containerd/containerd/v2/contrib/seccomp"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/ecsd-project/ecsd/runtime/ocispec"
)

// ErrInvalidSpec: a ContainerSpec that no container can be made from. The
// error's text lists every problem found.
var ErrInvalidSpec = errors.New("invalid container spec")

const (
	minMemoryBytes = 4 << 20 // the smallest memory limit ECS allows
	minCPUShares   = 2
	maxCPUShares   = 262144
	maxHostnameLen = 64 // HOST_NAME_MAX
)

// specInput is what specOpts needs beyond the ContainerSpec: the image's
// config and the files Create wrote for the container.
type specInput struct {
	Spec  ContainerSpec
	Image v1.ImageConfig
	// HostsPath, ResolvConfPath and HostnamePath are bind-mounted at
	// /etc/hosts, /etc/resolv.conf and /etc/hostname; empty leaves the
	// image's file (or, in host network mode, mounts the host's /etc/hosts
	// and /etc/resolv.conf).
	HostsPath, ResolvConfPath, HostnamePath string
	// InitPath is the static init binary used when Spec.Init is set.
	InitPath string
}

// specOpts turns a ContainerSpec into OCI spec options, to be applied in
// order after containerd's default spec (client.WithNewSpec does both).
// It checks the spec first and returns an error wrapping ErrInvalidSpec
// listing every problem. Labels, DNS settings, extra hosts, the stop signal
// and the logger are not part of the OCI spec: Create puts them on the
// container or in the files named by in.
//
// The user options read /etc/passwd and /etc/group from the container's
// snapshot when containerd applies them, so applying them needs the
// container's rootfs (or an absolute root path in the spec).
func specOpts(in specInput) ([]oci.SpecOpts, error) {
	if err := validateSpec(in); err != nil {
		return nil, err
	}
	s := in.Spec
	var opts []oci.SpecOpts
	add := func(o ...oci.SpecOpts) { opts = append(opts, o...) }

	// Hostname first: the process's HOSTNAME comes from it.
	if h := specHostname(s); h != "" {
		add(oci.WithHostname(h))
	}

	// Process.
	add(ocispec.WithDockerProcess(in.Image, s.Entrypoint, s.Command, s.Env, s.WorkingDir))
	user := s.User
	if user == "" {
		user = in.Image.User
	}
	add(ocispec.WithDockerUser(user))

	// Resources.
	if s.MemoryLimit > 0 {
		add(oci.WithMemoryLimit(uint64(s.MemoryLimit)))
	}
	if s.MemoryReservation > 0 {
		add(ocispec.WithMemoryReservation(s.MemoryReservation))
	}
	if s.MemorySwap != 0 {
		add(oci.WithMemorySwap(s.MemorySwap))
	}
	if s.Swappiness != nil {
		add(ocispec.WithSwappiness(*s.Swappiness))
	}
	if s.CPUShares > 0 {
		add(oci.WithCPUShares(s.CPUShares))
	}
	if s.PidsLimit != 0 {
		add(oci.WithPidsLimit(s.PidsLimit))
	}
	if len(s.Ulimits) > 0 {
		ul := make([]ocispec.Ulimit, len(s.Ulimits))
		for i, u := range s.Ulimits {
			ul[i] = ocispec.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}
		}
		add(ocispec.WithUlimits(ul...))
	}
	if s.CgroupParent != "" {
		add(oci.WithCgroup(strings.TrimRight(s.CgroupParent, "/") + "/" + s.ID))
	}

	// Namespaces, before the sysctls that depend on them.
	switch {
	case s.HostNetwork:
		add(oci.WithHostNamespace(specs.NetworkNamespace))
	case s.NetNSPath != "":
		add(oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: s.NetNSPath}))
	}

	// Security. Capabilities before the seccomp profile, which allows the
	// system calls of the capabilities the process has.
	if s.Privileged {
		add(oci.WithPrivileged, oci.WithAllDevicesAllowed, oci.WithHostDevices)
	} else {
		add(ocispec.WithCapabilities(s.CapAdd, s.CapDrop))
	}
	for _, d := range s.Devices {
		if s.Privileged {
			// Every host device is there already, with every permission;
			// only a device under another name needs adding (as Docker).
			if d.ContainerPath == "" || d.ContainerPath == d.HostPath {
				continue
			}
			d.Permissions = "rwm"
		}
		add(ocispec.WithDevice(d.HostPath, d.ContainerPath, d.Permissions))
	}
	if s.Privileged || s.SeccompUnconfined {
		add(oci.WithSeccompUnconfined)
	} else {
		add(seccomp.WithDefaultProfile())
	}
	if s.Privileged || s.AllowNewPrivileges {
		add(oci.WithNewPrivileges)
	} else {
		add(oci.WithNoNewPrivileges)
	}
	if s.ReadonlyRootfs {
		add(oci.WithRootFSReadonly())
	}
	if len(s.Sysctls) > 0 {
		add(ocispec.WithSysctls(s.Sysctls))
	}

	// Filesystem. /dev/shm and the host files first, so that a user's mount
	// at the same place replaces them; user mounts shallowest first, so that
	// a mount inside another lands on top of it.
	add(ocispec.WithCgroupMount(!s.Privileged))
	if s.ShmSize > 0 {
		add(ocispec.WithShmSize(s.ShmSize))
	}
	if s.HostNetwork && in.HostsPath == "" {
		add(oci.WithHostHostsFile)
	}
	if s.HostNetwork && in.ResolvConfPath == "" {
		add(oci.WithHostResolvconf)
	}
	add(ocispec.WithHostsFiles(in.HostsPath, in.ResolvConfPath, in.HostnamePath))
	type userMount struct {
		dst string
		opt oci.SpecOpts
	}
	var mounts []userMount
	for _, m := range s.Mounts {
		mounts = append(mounts, userMount{m.Destination, ocispec.WithBindMount(m.Source, m.Destination, m.ReadOnly)})
	}
	for _, t := range s.Tmpfs {
		mounts = append(mounts, userMount{t.Destination, ocispec.WithTmpfs(t.Destination, t.SizeBytes, t.Options)})
	}
	sort.SliceStable(mounts, func(i, j int) bool { return mountDepth(mounts[i].dst) < mountDepth(mounts[j].dst) })
	for _, m := range mounts {
		add(m.opt)
	}

	// Init last: it wraps the final arguments.
	if s.Init {
		add(ocispec.WithInit(in.InitPath))
	}
	return opts, nil
}

func mountDepth(p string) int {
	return strings.Count(path.Clean(p), "/")
}

// specHostname is the container's hostname: Spec.Hostname, else the host's
// in host network mode, else the first 12 characters of the container ID
// (Docker's rule, shared with writeHostFiles).
func specHostname(s ContainerSpec) string {
	if s.Hostname != "" {
		return s.Hostname
	}
	if s.HostNetwork {
		h, _ := os.Hostname()
		return h
	}
	return shortID(s.ID)
}

// validateSpec lists every problem of in.Spec in one ErrInvalidSpec error.
func validateSpec(in specInput) error {
	s := in.Spec
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	absolute := func(what, p string) {
		if !path.IsAbs(p) {
			bad("%s %q is not an absolute path", what, p)
		}
	}

	if s.ID == "" {
		bad("container id is empty")
	}
	if len(s.Hostname) > maxHostnameLen {
		bad("hostname %q is longer than %d characters", s.Hostname, maxHostnameLen)
	}
	if s.WorkingDir != "" {
		absolute("working directory", s.WorkingDir)
	}

	switch {
	case s.MemoryLimit < 0:
		bad("memory limit %d is negative", s.MemoryLimit)
	case s.MemoryLimit > 0 && s.MemoryLimit < minMemoryBytes:
		bad("memory limit %d bytes is below the minimum of 4 MiB", s.MemoryLimit)
	}
	switch {
	case s.MemoryReservation < 0:
		bad("memory reservation %d is negative", s.MemoryReservation)
	case s.MemoryReservation > 0 && s.MemoryReservation < minMemoryBytes:
		bad("memory reservation %d bytes is below the minimum of 4 MiB", s.MemoryReservation)
	case s.MemoryReservation > 0 && s.MemoryLimit > 0 && s.MemoryReservation > s.MemoryLimit:
		bad("memory reservation %d is above the memory limit %d", s.MemoryReservation, s.MemoryLimit)
	}
	switch {
	case s.MemorySwap < -1:
		bad("memory swap %d is invalid (-1 is unlimited)", s.MemorySwap)
	case s.MemorySwap > 0 && s.MemoryLimit == 0:
		bad("memory swap needs a memory limit")
	case s.MemorySwap > 0 && s.MemorySwap < s.MemoryLimit:
		bad("memory swap %d is below the memory limit %d; it counts memory plus swap", s.MemorySwap, s.MemoryLimit)
	}
	if s.Swappiness != nil && *s.Swappiness > 100 {
		bad("swappiness %d is not in 0..100", *s.Swappiness)
	}
	if s.CPUShares != 0 && (s.CPUShares < minCPUShares || s.CPUShares > maxCPUShares) {
		bad("cpu shares %d are not in %d..%d", s.CPUShares, minCPUShares, maxCPUShares)
	}
	if s.PidsLimit < -1 {
		bad("pids limit %d is invalid (-1 is unlimited)", s.PidsLimit)
	}
	for _, u := range s.Ulimits {
		if _, err := (ocispec.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard}).Rlimit(); err != nil {
			bad("%v", err)
		}
	}
	if s.CgroupParent != "" {
		absolute("cgroup parent", s.CgroupParent)
	}

	if _, err := ocispec.NormalizeCapabilities(s.CapAdd); err != nil {
		bad("cap add: %v", err)
	}
	if _, err := ocispec.NormalizeCapabilities(s.CapDrop); err != nil {
		bad("cap drop: %v", err)
	}
	for _, d := range s.Devices {
		absolute("device", d.HostPath)
		if d.ContainerPath != "" {
			absolute("device container path", d.ContainerPath)
		}
		if d.Permissions != "" && !ocispec.ValidDevicePermissions(d.Permissions) {
			bad("device %s: permissions %q are not a subset of \"rwm\"", d.HostPath, d.Permissions)
		}
	}
	for _, name := range sortedKeys(s.Sysctls) {
		ns, err := ocispec.SysctlNamespace(name)
		switch {
		case err != nil:
			bad("%v", err)
		case ns == specs.NetworkNamespace && s.HostNetwork:
			bad("sysctl %q is not allowed in the host's network namespace", name)
		}
	}

	for _, m := range s.Mounts {
		absolute("mount source", m.Source)
		absolute("mount destination", m.Destination)
		if path.Clean(m.Destination) == "/" {
			bad("cannot mount over /")
		}
	}
	for _, t := range s.Tmpfs {
		absolute("tmpfs destination", t.Destination)
		if path.Clean(t.Destination) == "/" {
			bad("cannot mount a tmpfs over /")
		}
		if t.SizeBytes < 0 {
			bad("tmpfs %s: size %d is negative", t.Destination, t.SizeBytes)
		}
	}
	if s.ShmSize < 0 {
		bad("shm size %d is negative", s.ShmSize)
	}
	if s.Init {
		if in.InitPath == "" {
			bad("an init process was asked for but the runtime has no init binary")
		} else {
			absolute("init binary", in.InitPath)
		}
	}

	if s.HostNetwork && s.NetNSPath != "" {
		bad("host network and network namespace %s both given", s.NetNSPath)
	}
	if s.NetNSPath != "" {
		absolute("network namespace", s.NetNSPath)
	}

	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, strings.Join(problems, "; "))
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
