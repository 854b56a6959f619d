package ocispec

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setMount adds m, replacing any mount at the same destination: a user's
// mount wins over a default one, as in Docker.
func setMount(s *oci.Spec, m specs.Mount) {
	dst := path.Clean(m.Destination)
	kept := s.Mounts[:0]
	for _, old := range s.Mounts {
		if path.Clean(old.Destination) != dst {
			kept = append(kept, old)
		}
	}
	s.Mounts = append(kept, m)
}

func checkDestination(dst string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("mount destination %q is not absolute", dst)
	}
	if path.Clean(dst) == "/" {
		return fmt.Errorf("mount destination cannot be /")
	}
	return nil
}

func rw(readOnly bool) string {
	if readOnly {
		return "ro"
	}
	return "rw"
}

// WithBindMount bind-mounts the host path src at dst, recursively and with
// private propagation (Docker's defaults).
func WithBindMount(src, dst string, readOnly bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if !path.IsAbs(src) {
			return fmt.Errorf("bind mount source %q is not absolute", src)
		}
		if err := checkDestination(dst); err != nil {
			return err
		}
		setMount(s, specs.Mount{
			Destination: dst,
			Type:        "bind",
			Source:      src,
			Options:     []string{"rbind", "rprivate", rw(readOnly)},
		})
		return nil
	}
}

// WithTmpfs mounts a tmpfs at dst. Like Docker it starts from
// noexec,nosuid,nodev; options override those ("exec" undoes "noexec") and
// one another, the last winning. sizeBytes > 0 sets size= and overrides a
// size in options.
func WithTmpfs(dst string, sizeBytes int64, options []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if err := checkDestination(dst); err != nil {
			return err
		}
		if sizeBytes < 0 {
			return fmt.Errorf("tmpfs %s: negative size %d", dst, sizeBytes)
		}
		opts := append([]string{"noexec", "nosuid", "nodev"}, options...)
		if sizeBytes > 0 {
			opts = append(opts, "size="+strconv.FormatInt(sizeBytes, 10))
		}
		setMount(s, specs.Mount{
			Destination: dst,
			Type:        "tmpfs",
			Source:      "tmpfs",
			Options:     mergeMountOptions(opts),
		})
		return nil
	}
}

// mergeMountOptions keeps the last of each option and its opposite
// ("noexec"/"exec", "ro"/"rw") and the last value of each key=value.
func mergeMountOptions(opts []string) []string {
	key := func(o string) string {
		if k, _, ok := strings.Cut(o, "="); ok {
			return k + "="
		}
		switch o {
		case "ro", "rw":
			return "rw"
		}
		return strings.TrimPrefix(o, "no")
	}
	var out []string
	for _, o := range opts {
		if o == "" {
			continue
		}
		k := key(o)
		kept := out[:0]
		for _, prev := range out {
			if key(prev) != k {
				kept = append(kept, prev)
			}
		}
		out = append(kept, o)
	}
	return out
}

// WithShmSize sets the size of /dev/shm in bytes, rounded up to a KiB.
func WithShmSize(bytes int64) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if bytes <= 0 {
			return fmt.Errorf("shm size %d is not positive", bytes)
		}
		return oci.WithDevShmSize((bytes+1023)/1024)(ctx, client, c, s)
	}
}

// WithHostsFiles bind-mounts the files ecsd wrote for the container at
// /etc/hosts, /etc/resolv.conf and /etc/hostname; an empty path leaves that
// file alone. They are writable unless the root filesystem is read-only, as
// in Docker, so apply this after oci.WithRootFSReadonly.
func WithHostsFiles(hostsPath, resolvPath, hostnamePath string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		readOnly := s.Root != nil && s.Root.Readonly
		for _, f := range []struct{ src, dst string }{
			{hostsPath, "/etc/hosts"},
			{resolvPath, "/etc/resolv.conf"},
			{hostnamePath, "/etc/hostname"},
		} {
			if f.src == "" {
				continue
			}
			if !path.IsAbs(f.src) {
				return fmt.Errorf("%s source %q is not absolute", f.dst, f.src)
			}
			setMount(s, specs.Mount{
				Destination: f.dst,
				Type:        "bind",
				Source:      f.src,
				Options:     []string{"rbind", "rprivate", rw(readOnly)},
			})
		}
		return nil
	}
}

// WithCgroupMount mounts the container's own cgroup at /sys/fs/cgroup, as
// Docker does (containerd's default spec no longer has it): read-only
// unless the container is privileged. On cgroup v1 runc mounts each
// hierarchy; on v2, the unified one.
func WithCgroupMount(readOnly bool) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		setMount(s, specs.Mount{
			Destination: "/sys/fs/cgroup",
			Type:        "cgroup",
			Source:      "cgroup",
			Options:     []string{"nosuid", "noexec", "nodev", "relatime", rw(readOnly)},
		})
		return nil
	}
}
