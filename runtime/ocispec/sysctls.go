package ocispec

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ipcSysctls are the kernel.* sysctls of the IPC namespace.
var ipcSysctls = []string{
	"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
	"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
}

// SysctlNamespace returns the namespace a sysctl belongs to, as runc and
// Docker see it; a sysctl outside every namespace (it would change the host)
// is an error. Names may use dots or slashes.
func SysctlNamespace(name string) (specs.LinuxNamespaceType, error) {
	n := strings.ReplaceAll(name, "/", ".")
	switch {
	case slices.Contains(ipcSysctls, n), strings.HasPrefix(n, "fs.mqueue."):
		return specs.IPCNamespace, nil
	case strings.HasPrefix(n, "net."):
		return specs.NetworkNamespace, nil
	case n == "kernel.domainname":
		return specs.UTSNamespace, nil
	case n == "kernel.hostname":
		return "", fmt.Errorf("sysctl %q is not allowed: set the hostname instead", name)
	}
	return "", fmt.Errorf("sysctl %q is not namespaced: it would change the host", name)
}

// WithSysctls sets namespaced sysctls. Each must belong to a namespace the
// container does not share with the host (a net.* sysctl needs the
// container's own network namespace), so apply this after the namespace
// options.
func WithSysctls(sysctls map[string]string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if len(sysctls) == 0 {
			return nil
		}
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		for _, name := range slices.Sorted(maps.Keys(sysctls)) {
			ns, err := SysctlNamespace(name)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == ns }) {
				return fmt.Errorf("sysctl %q is not allowed: the container shares the host's %s namespace", name, ns)
			}
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		maps.Copy(s.Linux.Sysctl, sysctls)
		return nil
	}
}
