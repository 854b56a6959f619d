package ocispec

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/cap"
	"github.com/containerd/containerd/v2/pkg/oci"
)

// allCapabilities is the magic name of CapAdd/CapDrop.
const allCapabilities = "ALL"

// NormalizeCapabilities upper-cases capability names and adds the CAP_
// prefix where missing, as Docker does ("net_admin" → "CAP_NET_ADMIN").
// "ALL" stays "ALL". An unknown name is an error.
func NormalizeCapabilities(names []string) ([]string, error) {
	out := make([]string, 0, len(names))
	for _, n := range names {
		c := strings.ToUpper(strings.TrimSpace(n))
		if c == allCapabilities {
			out = append(out, c)
			continue
		}
		if !strings.HasPrefix(c, "CAP_") {
			c = "CAP_" + c
		}
		if !slices.Contains(cap.Known(), c) {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		out = append(out, c)
	}
	return out, nil
}

// WithCapabilities adds and drops capabilities with Docker's rules, starting
// from the spec's current bounding set (containerd's default set, which is
// Docker's):
//
//   - "ALL" in add: every capability except those in drop;
//   - else "ALL" in drop: exactly the capabilities in add;
//   - else: the current set less drop, then plus add, so a capability named
//     in both lists is kept, as in Docker.
//
// Names may be given with or without CAP_ and in any case; an unknown name
// is an error. With both lists empty the spec is left alone.
func WithCapabilities(add, drop []string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if len(add) == 0 && len(drop) == 0 {
			return nil
		}
		capAdd, err := NormalizeCapabilities(add)
		if err != nil {
			return fmt.Errorf("cap add: %w", err)
		}
		capDrop, err := NormalizeCapabilities(drop)
		if err != nil {
			return fmt.Errorf("cap drop: %w", err)
		}
		var basics []string
		if s.Process != nil && s.Process.Capabilities != nil {
			basics = s.Process.Capabilities.Bounding
		}
		var caps []string
		switch {
		case slices.Contains(capAdd, allCapabilities):
			for _, c := range cap.Known() {
				if !slices.Contains(capDrop, c) {
					caps = append(caps, c)
				}
			}
		case slices.Contains(capDrop, allCapabilities):
			caps = appendNew(nil, capAdd...)
		default:
			for _, c := range basics {
				if !slices.Contains(capDrop, c) {
					caps = append(caps, c)
				}
			}
			caps = appendNew(caps, capAdd...)
		}
		return oci.WithCapabilities(caps)(ctx, client, c, s)
	}
}

// appendNew appends the elements of add not yet in list.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		if !slices.Contains(list, a) {
			list = append(list, a)
		}
	}
	return list
}
