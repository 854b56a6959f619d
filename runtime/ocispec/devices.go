package ocispec

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ValidDevicePermissions reports whether p is a cgroup device access string:
// a non-empty set of "r", "w" and "m", each at most once.
func ValidDevicePermissions(p string) bool {
	if p == "" || len(p) > 3 {
		return false
	}
	for i, c := range p {
		if !strings.ContainsRune("rwm", c) || strings.ContainsRune(p[:i], c) {
			return false
		}
	}
	return true
}

// WithDevice makes the host device at hostPath available at containerPath
// (empty: the same path) with the cgroup permissions perms (empty: "rwm").
// The device's type, major and minor numbers come from the host; a symbolic
// link is followed, and a directory adds every device below it, as Docker's
// --device does.
func WithDevice(hostPath, containerPath, perms string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if perms == "" {
			perms = "rwm"
		}
		if !ValidDevicePermissions(perms) {
			return fmt.Errorf("device %s: invalid permissions %q", hostPath, perms)
		}
		if !filepath.IsAbs(hostPath) {
			return fmt.Errorf("device %s: host path is not absolute", hostPath)
		}
		if containerPath == "" {
			containerPath = hostPath
		}
		if !filepath.IsAbs(containerPath) {
			return fmt.Errorf("device %s: container path %s is not absolute", hostPath, containerPath)
		}
		resolved, err := filepath.EvalSymlinks(hostPath)
		if err != nil {
			return fmt.Errorf("device %s: %w", hostPath, err)
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		if s.Linux.Resources == nil {
			s.Linux.Resources = &specs.LinuxResources{}
		}
		if err := oci.WithDevices(resolved, containerPath, perms)(ctx, client, c, s); err != nil {
			return fmt.Errorf("device %s: %w", hostPath, err)
		}
		return nil
	}
}
