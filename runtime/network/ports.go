package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// PortMapping is one of a container's portMappings.
type PortMapping struct {
	ContainerPort int
	// HostPort 0 picks a free port from Config.DynamicPortRange.
	HostPort int
	// ContainerPortRange ("8000-8010") maps to an equally long range of
	// dynamic host ports; ContainerPort and HostPort stay 0.
	ContainerPortRange string
	// Protocol is "tcp" (the default) or "udp".
	Protocol string
	// HostIP limits the mapping to one host IPv4 address; empty means all.
	HostIP string
}

// Binding is where a mapping landed on the host, shaped as ECS's
// NetworkBinding: either ContainerPort and HostPort, or ContainerPortRange
// and HostPortRange.
type Binding struct {
	BindIP             string `json:"bindIP"`
	ContainerPort      int    `json:"containerPort,omitempty"`
	HostPort           int    `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	HostPortRange      string `json:"hostPortRange,omitempty"`
}

// portRange is first..last, both included.
type portRange struct{ first, last int }

func (r portRange) len() int { return r.last - r.first + 1 }

func (r portRange) String() string { return fmt.Sprintf("%d-%d", r.first, r.last) }

func parsePortRange(s string) (portRange, error) {
	a, b, ok := strings.Cut(s, "-")
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return portRange{}, fmt.Errorf("port range %q: want FIRST-LAST within 1-65535", s)
	}
	return portRange{first, last}, nil
}

// request is a checked PortMapping.
type request struct {
	proto     string
	hostIP    string // "" for all addresses
	container portRange
	hostPort  int // static host port; 0 for dynamic
	isRange   bool
}

// parseMappings checks every mapping and lists every problem.
func parseMappings(ms []PortMapping) ([]request, error) {
	var reqs []request
	var errs []error
	for i, m := range ms {
		r, err := parseMapping(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("port mapping %d: %w", i, err))
			continue
		}
		reqs = append(reqs, r)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return reqs, nil
}

func parseMapping(m PortMapping) (request, error) {
	r := request{proto: m.Protocol}
	switch m.Protocol {
	case "":
		r.proto = "tcp"
	case "tcp", "udp":
	default:
		return r, fmt.Errorf("protocol %q: want tcp or udp", m.Protocol)
	}
	if m.HostIP != "" {
		ip, err := netip.ParseAddr(m.HostIP)
		if err != nil || !ip.Is4() {
			return r, fmt.Errorf("host IP %q: want an IPv4 address", m.HostIP)
		}
		if !ip.IsUnspecified() {
			r.hostIP = ip.String()
		}
	}
	if m.ContainerPortRange != "" {
		if m.ContainerPort != 0 || m.HostPort != 0 {
			return r, fmt.Errorf("container port range %s: containerPort and hostPort must be unset", m.ContainerPortRange)
		}
		pr, err := parsePortRange(m.ContainerPortRange)
		if err != nil {
			return r, err
		}
		r.container, r.isRange = pr, true
		return r, nil
	}
	if m.ContainerPort < 1 || m.ContainerPort > 65535 {
		return r, fmt.Errorf("container port %d: want 1-65535", m.ContainerPort)
	}
	if m.HostPort < 0 || m.HostPort > 65535 {
		return r, fmt.Errorf("host port %d: want 0-65535", m.HostPort)
	}
	r.container = portRange{m.ContainerPort, m.ContainerPort}
	r.hostPort = m.HostPort
	return r, nil
}

// binding is how ECS reports request r landing on host ports h.
func (r request) binding(h portRange) Binding {
	b := Binding{BindIP: r.hostIP, Protocol: r.proto}
	if b.BindIP == "" {
		b.BindIP = "0.0.0.0"
	}
	if r.isRange {
		b.ContainerPortRange, b.HostPortRange = r.container.String(), h.String()
	} else {
		b.ContainerPort, b.HostPort = r.container.first, h.first
	}
	return b
}

// hostPort is one claimed host port.
type hostPort struct {
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
}

// portClaims hands out host ports. It is not safe for concurrent use; the
// Manager guards it.
type portClaims struct {
	dynamic  portRange
	reserved map[hostPort]bool
	owner    map[hostPort]string
	byID     map[string][]hostPort
	next     map[string]int // per protocol: where the next dynamic search starts
	// probe says whether the host lets us bind the port (nil if it does).
	probe func(proto, ip string, port int) error
}

func newPortClaims(dynamic [2]int, reservedTCP, reservedUDP []int, probe func(proto, ip string, port int) error) *portClaims {
	p := &portClaims{
		dynamic:  portRange{dynamic[0], dynamic[1]},
		reserved: map[hostPort]bool{},
		owner:    map[hostPort]string{},
		byID:     map[string][]hostPort{},
		next:     map[string]int{},
		probe:    probe,
	}
	for _, port := range reservedTCP {
		p.reserved[hostPort{"tcp", port}] = true
	}
	for _, port := range reservedUDP {
		p.reserved[hostPort{"udp", port}] = true
	}
	return p
}

// claim gives id host ports for every request, all or none: static ports
// first, so that a dynamic pick never takes a port a static mapping of the
// same container asks for. It returns the host range of each request.
func (p *portClaims) claim(id string, reqs []request) ([]portRange, error) {
	hosts := make([]portRange, len(reqs))
	var got []hostPort
	take := func(proto string, r portRange) {
		for port := r.first; port <= r.last; port++ {
			k := hostPort{proto, port}
			p.owner[k] = id
			got = append(got, k)
		}
	}
	fail := func(err error) ([]portRange, error) {
		for _, k := range got {
			delete(p.owner, k)
		}
		return nil, err
	}
	for _, static := range []bool{true, false} {
		for i, r := range reqs {
			if (r.hostPort != 0) != static {
				continue
			}
			if static {
				if err := p.check(r.proto, r.hostIP, r.hostPort); err != nil {
					return fail(err)
				}
				hosts[i] = portRange{r.hostPort, r.hostPort}
			} else {
				first, err := p.pick(r.proto, r.hostIP, r.container.len())
				if err != nil {
					return fail(err)
				}
				hosts[i] = portRange{first, first + r.container.len() - 1}
			}
			take(r.proto, hosts[i])
		}
	}
	p.byID[id] = append(p.byID[id], got...)
	return hosts, nil
}

// check says why a host port cannot be mapped, or nil.
func (p *portClaims) check(proto, ip string, port int) error {
	k := hostPort{proto, port}
	if p.reserved[k] {
		return fmt.Errorf("host port %d/%s is reserved: %w", port, proto, ErrPortUnavailable)
	}
	if owner, ok := p.owner[k]; ok {
		return fmt.Errorf("host port %d/%s is already mapped for %s: %w", port, proto, owner, ErrPortUnavailable)
	}
	if err := p.probe(proto, ip, port); err != nil {
		return fmt.Errorf("host port %d/%s is in use on the host (%v): %w", port, proto, err, ErrPortUnavailable)
	}
	return nil
}

// pick finds n consecutive free ports in the dynamic range, starting after
// the last pick so that a port just released is not reused at once.
func (p *portClaims) pick(proto, ip string, n int) (int, error) {
	lo, hi := p.dynamic.first, p.dynamic.last
	total := hi - lo + 1
	start := p.next[proto]
	if start < lo || start > hi {
		start = lo
	}
	for off := 0; off < total; {
		s := lo + (start-lo+off)%total
		if s+n-1 > hi {
			off += hi - s + 1 // wrap to lo
			continue
		}
		bad := -1
		for port := s; port < s+n; port++ {
			if p.check(proto, ip, port) != nil {
				bad = port
				break
			}
		}
		if bad < 0 {
			p.next[proto] = s + n
			return s, nil
		}
		off += bad - s + 1
	}
	if n == 1 {
		return 0, fmt.Errorf("no free %s host port in %s: %w", proto, p.dynamic, ErrPortUnavailable)
	}
	return 0, fmt.Errorf("no %d consecutive free %s host ports in %s: %w", n, proto, p.dynamic, ErrPortUnavailable)
}

// restore marks ports of an attachment found on disk as claimed.
func (p *portClaims) restore(id string, ports []hostPort) {
	for _, k := range ports {
		p.owner[k] = id
	}
	p.byID[id] = append(p.byID[id], ports...)
}

// release frees every port claimed for id.
func (p *portClaims) release(id string) {
	for _, k := range p.byID[id] {
		if p.owner[k] == id {
			delete(p.owner, k)
		}
	}
	delete(p.byID, id)
}

// probeBind binds the port on the host and lets it go again. With no ip
// it binds all addresses, IPv6 included, so it also fails when a process
// listens on one address only.
func probeBind(proto, ip string, port int) error {
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}
