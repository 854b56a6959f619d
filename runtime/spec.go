package runtime

import (
	"log/slog"
	"time"
)

// ContainerSpec is everything the runtime needs to create one container.
// It knows nothing of ECS: the agent translates a container definition into
// it. The zero value of every field means "as the image says" or "the safe
// default": a zero ContainerSpec gets the default seccomp profile and
// no_new_privileges.
type ContainerSpec struct {
	// ID is the containerd container id; it must be unique in the namespace.
	ID string
	// Image is the image reference, already pulled.
	Image string
	// Labels are set on the containerd container. Identity labels (see
	// labels.go) and the task's dockerLabels both go here.
	Labels map[string]string

	// Process. Entrypoint and Command follow Docker's rules: a nil
	// Entrypoint keeps the image's ENTRYPOINT; a nil Command keeps the
	// image's CMD unless Entrypoint was given, which clears it.
	Entrypoint []string
	Command    []string
	// Env is merged over the image's environment, later entries winning.
	// Each entry is KEY=VALUE.
	Env        []string
	WorkingDir string
	// User is "name", "uid", "name:group" or "uid:gid", resolved in the
	// image's /etc/passwd and /etc/group.
	User       string
	StopSignal string // empty: the image's STOPSIGNAL, else SIGTERM

	// Identity and name resolution. The runtime writes the container's
	// /etc/hosts, /etc/resolv.conf and /etc/hostname from these.
	Hostname   string
	ExtraHosts []HostEntry
	DNSServers []string
	DNSSearch  []string
	DNSOptions []string

	// Resources.
	MemoryLimit       int64  // bytes, hard limit; 0 = none
	MemoryReservation int64  // bytes, soft limit; 0 = none
	CPUShares         uint64 // 0 = runtime default
	PidsLimit         int64  // 0 = none
	// MemorySwap is the total of memory and swap in bytes (Docker's
	// MemorySwap); -1 = unlimited swap; 0 = default.
	MemorySwap int64
	// Swappiness is 0..100; nil leaves the default.
	Swappiness *uint64
	Ulimits    []Ulimit
	// CgroupParent is the task-level cgroup the container's cgroup is
	// created under (see TaskCgroup); empty puts it under the runtime's
	// default parent.
	CgroupParent string

	// Security.
	Privileged         bool
	ReadonlyRootfs     bool
	CapAdd             []string // e.g. "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL" adds every capability
	CapDrop            []string // "ALL" drops every capability
	Devices            []Device
	AllowNewPrivileges bool // default false: no_new_privileges is set
	SeccompUnconfined  bool // default false: the default seccomp profile applies
	Sysctls            map[string]string

	// Filesystem.
	Mounts  []Mount
	Tmpfs   []Tmpfs
	ShmSize int64 // bytes of /dev/shm; 0 = 64 MiB

	// Init runs a minimal init as PID 1 that reaps zombies and forwards
	// signals (initProcessEnabled).
	Init bool

	// Network. HostNetwork shares the host's network namespace; otherwise
	// NetNSPath names an existing namespace to join; with neither the
	// container gets a new namespace with only loopback.
	HostNetwork bool
	NetNSPath   string

	// Log receives what the runtime could not apply (unsupported options)
	// for this container; nil discards.
	Log *slog.Logger `json:"-"`
}

// HostEntry is one extra line of /etc/hosts.
type HostEntry struct {
	Hostname  string
	IPAddress string
}

// Ulimit is one resource limit, named as Docker names them ("nofile",
// "nproc", "core", ...).
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// Device maps a host device into the container.
type Device struct {
	HostPath      string
	ContainerPath string // empty: same as HostPath
	Permissions   string // subset of "rwm"; empty: "rwm"
}

// Mount is a bind mount of a host path into the container.
type Mount struct {
	Source      string
	Destination string
	ReadOnly    bool
}

// Tmpfs is a tmpfs mount.
type Tmpfs struct {
	Destination string
	SizeBytes   int64    // 0 = kernel default
	Options     []string // mount options such as "noexec", "mode=1777"
}

// TaskResources are the limits of a task-level cgroup.
type TaskResources struct {
	// CPUQuota is in microseconds per CPUPeriod; 0 = no quota.
	CPUQuota  int64
	CPUPeriod uint64 // microseconds; 0 = 100000
	// CPUShares applies when there is no quota.
	CPUShares   uint64
	MemoryLimit int64 // bytes; 0 = none
	PidsLimit   int64 // 0 = none
}

// ExitStatus is how a container's main process ended.
type ExitStatus struct {
	Code      int
	OOMKilled bool
	ExitedAt  time.Time
}

// ExecResult is the outcome of a command run inside a container.
type ExecResult struct {
	ExitCode int
	Output   string // combined stdout and stderr, truncated to 4 KiB
}
