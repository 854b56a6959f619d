package ocispec

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultPathEnv is the PATH a container gets unless its image or
// environment sets one (Docker's default).
const DefaultPathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// InitPath is where WithInit mounts the init binary, as Docker does.
const InitPath = "/sbin/docker-init"

// ErrNoCommand: neither the image nor the container gives a command.
var ErrNoCommand = errors.New("no command specified")

// ProcessArgs applies Docker's rules to the image's ENTRYPOINT and CMD and
// the container's entrypoint and cmd:
//
//   - a nil entrypoint keeps the image's ENTRYPOINT; a non-nil empty one
//     removes it;
//   - a non-empty entrypoint replaces the image's and also drops the image's
//     CMD, so only cmd follows it;
//   - otherwise a non-empty cmd replaces the image's CMD.
func ProcessArgs(img v1.ImageConfig, entrypoint, cmd []string) []string {
	if len(entrypoint) == 0 {
		if len(cmd) == 0 {
			cmd = img.Cmd
		}
		if entrypoint == nil {
			entrypoint = img.Entrypoint
		}
	}
	args := make([]string, 0, len(entrypoint)+len(cmd))
	args = append(args, entrypoint...)
	return append(args, cmd...)
}

// MergeEnv merges KEY=VALUE lists, later lists winning; keys compare by
// name, the order of first appearance is kept. An entry without "=" removes
// its key, as in Docker's API.
func MergeEnv(lists ...[]string) []string {
	var out []string
	index := map[string]int{}
	for _, list := range lists {
		for _, e := range list {
			k, _, hasValue := strings.Cut(e, "=")
			i, seen := index[k]
			switch {
			case !hasValue && seen:
				out[i] = ""
				delete(index, k)
			case !hasValue:
			case seen:
				out[i] = e
			default:
				index[k] = len(out)
				out = append(out, e)
			}
		}
	}
	kept := out[:0]
	for _, e := range out {
		if e != "" {
			kept = append(kept, e)
		}
	}
	return kept
}

// WithDockerProcess sets the process's arguments, environment and working
// directory from the image config and the container's settings, by Docker's
// rules: arguments as ProcessArgs says (none at all is ErrNoCommand); the
// environment is PATH and HOSTNAME (from the spec's hostname, so apply this
// after oci.WithHostname), then the image's ENV, then env, merged by
// MergeEnv; the working directory is cwd, else the image's WorkingDir,
// else "/", and must be absolute. The spec's previous args and environment
// are replaced.
func WithDockerProcess(img v1.ImageConfig, entrypoint, cmd, env []string, cwd string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		args := ProcessArgs(img, entrypoint, cmd)
		if len(args) == 0 {
			return ErrNoCommand
		}
		if cwd == "" {
			cwd = img.WorkingDir
		}
		if cwd == "" {
			cwd = "/"
		}
		if !path.IsAbs(cwd) {
			return fmt.Errorf("working directory %q is not an absolute path", cwd)
		}
		base := []string{DefaultPathEnv}
		if s.Hostname != "" {
			base = append(base, "HOSTNAME="+s.Hostname)
		}
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Args = args
		s.Process.CommandLine = ""
		s.Process.Env = MergeEnv(base, img.Env, env)
		s.Process.Cwd = cwd
		return nil
	}
}

// WithDockerUser sets the process's user as Docker does: user ("name",
// "uid", "name:group", "uid:gid", ...) is resolved in the image's
// /etc/passwd and /etc/group, and the supplementary groups are those that
// list the user in /etc/group; an empty user is root with root's groups.
// Like containerd's own user options it reads the container's rootfs
// snapshot (or the spec's absolute root path when the container has no
// snapshot).
func WithDockerUser(user string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if user == "" {
			return oci.WithAdditionalGIDs("root")(ctx, client, c, s)
		}
		if err := oci.WithUser(user)(ctx, client, c, s); err != nil {
			return fmt.Errorf("user %q: %w", user, err)
		}
		uid := strconv.FormatUint(uint64(s.Process.User.UID), 10)
		if err := oci.WithAdditionalGIDs(uid)(ctx, client, c, s); err != nil {
			return fmt.Errorf("groups of user %q: %w", user, err)
		}
		return nil
	}
}

// WithInit runs the static init binary at initBinary (such as
// /usr/bin/tini-static) as PID 1: it is bind-mounted read-only at InitPath
// and the process's arguments are prefixed with it and "--". Apply it after
// the process arguments are set.
func WithInit(initBinary string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if !path.IsAbs(initBinary) {
			return fmt.Errorf("init binary %q is not an absolute path", initBinary)
		}
		if s.Process == nil || len(s.Process.Args) == 0 {
			return fmt.Errorf("init: %w", ErrNoCommand)
		}
		setMount(s, specs.Mount{
			Destination: InitPath,
			Type:        "bind",
			Source:      initBinary,
			Options:     []string{"rbind", "rprivate", "ro"},
		})
		s.Process.Args = append([]string{InitPath, "--"}, s.Process.Args...)
		return nil
	}
}
