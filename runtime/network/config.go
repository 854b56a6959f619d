package network

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
)

// Defaults.
const (
	DefaultBridgeName = "ecsd0"
	// DefaultSubnet is private (RFC 1918) and clear of the ranges other
	// container stacks take by default: docker0 and Docker's address pools
	// (172.17.0.0/16 to 172.31.0.0/16, 192.168.0.0/16), the AWS default VPC
	// (172.31.0.0/16), containerd's and Podman's CNI network
	// (10.88.0.0/16), Kubernetes service and pod ranges (10.96.0.0/12,
	// 10.244.0.0/16, k3s 10.42.0.0/15, kubespray 10.233.0.0/17) and home
	// LANs (192.168.x, 10.0.x). A /20 holds 4093 containers.
	DefaultSubnet   = "10.199.0.0/20"
	DefaultStateDir = "/var/lib/ecs/data/cni"
)

// DefaultPluginDirs are where Debian (/usr/lib/cni) and the upstream
// release tarball (/opt/cni/bin) put the CNI plugins.
var DefaultPluginDirs = []string{"/usr/lib/cni", "/opt/cni/bin"}

// DefaultDynamicPortRange is ECS_DYNAMIC_HOST_PORT_RANGE's default.
var DefaultDynamicPortRange = [2]int{32768, 61000}

// Config says how a Manager builds its network. Zero fields take the
// defaults above.
type Config struct {
	// BridgeName is the Linux bridge, also the CNI network's name (at most
	// 15 characters).
	BridgeName string
	// Subnet is the bridge's IPv4 subnet; the gateway takes its first
	// address.
	Subnet string
	// PluginDirs are searched for the CNI plugin binaries.
	PluginDirs []string
	// StateDir holds the conflist, the attachment records and host-local's
	// leases.
	StateDir string
	// NetNSDir holds the namespaces' bind mounts; default StateDir/netns, so
	// that several ecsd can run side by side.
	NetNSDir string
	// DynamicPortRange bounds dynamic host ports, both ends included
	// (ECS_DYNAMIC_HOST_PORT_RANGE).
	DynamicPortRange [2]int
	// ReservedTCP and ReservedUDP are never mapped (ECS_RESERVED_PORTS,
	// ECS_RESERVED_PORTS_UDP).
	ReservedTCP []int
	ReservedUDP []int
	Log         *slog.Logger
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.BridgeName == "" {
		c.BridgeName = DefaultBridgeName
	}
	if c.Subnet == "" {
		c.Subnet = DefaultSubnet
	}
	if len(c.PluginDirs) == 0 {
		c.PluginDirs = DefaultPluginDirs
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir
	}
	if c.NetNSDir == "" {
		c.NetNSDir = filepath.Join(c.StateDir, "netns")
	}
	if c.DynamicPortRange == [2]int{} {
		c.DynamicPortRange = DefaultDynamicPortRange
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// validate lists every problem of a defaulted Config.
func (c Config) validate() error {
	var errs []error
	if len(c.BridgeName) > 15 || !validName(c.BridgeName) {
		errs = append(errs, fmt.Errorf("bridge name %q: want 1 to 15 letters, digits, '_', '.' or '-'", c.BridgeName))
	}
	if p, err := netip.ParsePrefix(c.Subnet); err != nil {
		errs = append(errs, fmt.Errorf("subnet %q: %w", c.Subnet, err))
	} else if !p.Addr().Is4() || p.Bits() > 30 {
		errs = append(errs, fmt.Errorf("subnet %q: want an IPv4 prefix of /30 or wider", c.Subnet))
	} else if p.Masked() != p {
		errs = append(errs, fmt.Errorf("subnet %q: host bits set (want %s)", c.Subnet, p.Masked()))
	}
	if !filepath.IsAbs(c.StateDir) {
		errs = append(errs, fmt.Errorf("state dir %q: want an absolute path", c.StateDir))
	}
	if !filepath.IsAbs(c.NetNSDir) {
		errs = append(errs, fmt.Errorf("netns dir %q: want an absolute path", c.NetNSDir))
	}
	if lo, hi := c.DynamicPortRange[0], c.DynamicPortRange[1]; lo < 1 || hi > 65535 || lo > hi {
		errs = append(errs, fmt.Errorf("dynamic host port range %d-%d: want 1 <= first <= last <= 65535", lo, hi))
	}
	for _, p := range c.ReservedTCP {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("reserved tcp port %d: out of range", p))
		}
	}
	for _, p := range c.ReservedUDP {
		if p < 1 || p > 65535 {
			errs = append(errs, fmt.Errorf("reserved udp port %d: out of range", p))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("network config: %w", errors.Join(errs...))
	}
	return nil
}

// validName: letters, digits, '_', '.', '-', not starting with '.' or '-'
// (CNI's rule for container ids, safe as a file name).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '_' || r == '.' || r == '-'):
		default:
			return false
		}
	}
	return true
}
