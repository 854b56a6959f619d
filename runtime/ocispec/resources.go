package ocispec

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// memory returns the spec's memory resources, creating them; nil when the
// spec has no Linux section.
func memory(s *oci.Spec) *specs.LinuxMemory {
	if s.Linux == nil {
		return nil
	}
	if s.Linux.Resources == nil {
		s.Linux.Resources = &specs.LinuxResources{}
	}
	if s.Linux.Resources.Memory == nil {
		s.Linux.Resources.Memory = &specs.LinuxMemory{}
	}
	return s.Linux.Resources.Memory
}

// WithMemoryReservation sets the soft memory limit in bytes (Docker's
// --memory-reservation; memory.low on cgroup v2).
func WithMemoryReservation(bytes int64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if m := memory(s); m != nil {
			m.Reservation = &bytes
		}
		return nil
	}
}

// WithSwappiness sets the memory swappiness, 0..100. Only cgroup v1 has the
// knob; runc ignores it on cgroup v2.
func WithSwappiness(swappiness uint64) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if swappiness > 100 {
			return fmt.Errorf("swappiness %d is not in 0..100", swappiness)
		}
		if m := memory(s); m != nil {
			m.Swappiness = &swappiness
		}
		return nil
	}
}

// Ulimit is one resource limit named as Docker names it ("nofile",
// "nproc", ...). -1 means unlimited.
type Ulimit struct {
	Name string
	Soft int64
	Hard int64
}

// rlimits maps Docker's ulimit names (those of docker run --ulimit and of
// ECS task definitions) to their RLIMIT_* types.
var rlimits = map[string]string{
	"core":       "RLIMIT_CORE",
	"cpu":        "RLIMIT_CPU",
	"data":       "RLIMIT_DATA",
	"fsize":      "RLIMIT_FSIZE",
	"locks":      "RLIMIT_LOCKS",
	"memlock":    "RLIMIT_MEMLOCK",
	"msgqueue":   "RLIMIT_MSGQUEUE",
	"nice":       "RLIMIT_NICE",
	"nofile":     "RLIMIT_NOFILE",
	"nproc":      "RLIMIT_NPROC",
	"rss":        "RLIMIT_RSS",
	"rtprio":     "RLIMIT_RTPRIO",
	"rttime":     "RLIMIT_RTTIME",
	"sigpending": "RLIMIT_SIGPENDING",
	"stack":      "RLIMIT_STACK",
}

// RlimitType returns the RLIMIT_* type of a Docker ulimit name, which may
// be given in any case and with or without the RLIMIT_ prefix.
func RlimitType(name string) (string, error) {
	n := strings.TrimPrefix(strings.ToLower(name), "rlimit_")
	t, ok := rlimits[n]
	if !ok {
		return "", fmt.Errorf("unknown ulimit %q", name)
	}
	return t, nil
}

// Rlimit checks u and returns it as an OCI rlimit; -1 becomes
// RLIM_INFINITY.
func (u Ulimit) Rlimit() (specs.POSIXRlimit, error) {
	t, err := RlimitType(u.Name)
	if err != nil {
		return specs.POSIXRlimit{}, err
	}
	soft, err := rlimitValue(u.Soft)
	if err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("ulimit %s: soft limit: %w", u.Name, err)
	}
	hard, err := rlimitValue(u.Hard)
	if err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("ulimit %s: hard limit: %w", u.Name, err)
	}
	if soft > hard {
		return specs.POSIXRlimit{}, fmt.Errorf("ulimit %s: soft limit %d is above hard limit %d", u.Name, u.Soft, u.Hard)
	}
	return specs.POSIXRlimit{Type: t, Soft: soft, Hard: hard}, nil
}

func rlimitValue(v int64) (uint64, error) {
	switch {
	case v == -1:
		return math.MaxUint64, nil
	case v < 0:
		return 0, fmt.Errorf("%d is negative", v)
	}
	return uint64(v), nil
}

// WithUlimits sets resource limits, replacing any of the same type (the
// default spec sets RLIMIT_NOFILE 1024).
func WithUlimits(ulimits ...Ulimit) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		for _, u := range ulimits {
			rl, err := u.Rlimit()
			if err != nil {
				return err
			}
			if err := oci.WithRlimit(&rl)(ctx, client, c, s); err != nil {
				return err
			}
		}
		return nil
	}
}
