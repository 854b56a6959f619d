package network

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestParseMappings(t *testing.T) {
	for _, c := range []struct {
		name string
		in   PortMapping
		want request
		err  string
	}{
		{"defaults", PortMapping{ContainerPort: 80}, request{proto: "tcp", container: portRange{80, 80}}, ""},
		{"static udp on an IP", PortMapping{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "192.0.2.2"},
			request{proto: "udp", hostIP: "192.0.2.2", container: portRange{53, 53}, hostPort: 5353}, ""},
		{"0.0.0.0 is all addresses", PortMapping{ContainerPort: 80, HostIP: "0.0.0.0"},
			request{proto: "tcp", container: portRange{80, 80}}, ""},
		{"range", PortMapping{ContainerPortRange: "8000-8010"},
			request{proto: "tcp", container: portRange{8000, 8010}, isRange: true}, ""},
		{"range of one", PortMapping{ContainerPortRange: "8000-8000"},
			request{proto: "tcp", container: portRange{8000, 8000}, isRange: true}, ""},
		{"sctp", PortMapping{ContainerPort: 80, Protocol: "sctp"}, request{}, `protocol "sctp"`},
		{"no port", PortMapping{}, request{}, "container port 0"},
		{"port too big", PortMapping{ContainerPort: 65536}, request{}, "container port 65536"},
		{"host port too big", PortMapping{ContainerPort: 80, HostPort: 70000}, request{}, "host port 70000"},
		{"ipv6 host IP", PortMapping{ContainerPort: 80, HostIP: "::1"}, request{}, `host IP "::1"`},
		{"backwards range", PortMapping{ContainerPortRange: "9-8"}, request{}, `port range "9-8"`},
		{"range and port", PortMapping{ContainerPortRange: "8-9", ContainerPort: 8}, request{}, "must be unset"},
		{"range and host port", PortMapping{ContainerPortRange: "8-9", HostPort: 8}, request{}, "must be unset"},
		{"not a range", PortMapping{ContainerPortRange: "80"}, request{}, `port range "80"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseMappings([]PortMapping{c.in})
			if c.err != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want ErrInvalid saying %q", err, c.err)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0] != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
	_, err := parseMappings([]PortMapping{{ContainerPort: 80}, {}, {ContainerPort: 1, Protocol: "x"}})
	if err == nil || !strings.Contains(err.Error(), "port mapping 1") || !strings.Contains(err.Error(), "port mapping 2") {
		t.Errorf("every bad mapping listed: %v", err)
	}
}

func TestBinding(t *testing.T) {
	r := request{proto: "udp", hostIP: "192.0.2.2", container: portRange{53, 53}}
	if got, want := r.binding(portRange{40000, 40000}), (Binding{BindIP: "192.0.2.2", ContainerPort: 53, HostPort: 40000, Protocol: "udp"}); got != want {
		t.Errorf("binding = %+v, want %+v", got, want)
	}
	r = request{proto: "tcp", container: portRange{8000, 8002}, isRange: true}
	if got, want := r.binding(portRange{40000, 40002}), (Binding{BindIP: "0.0.0.0", Protocol: "tcp", ContainerPortRange: "8000-8002", HostPortRange: "40000-40002"}); got != want {
		t.Errorf("binding = %+v, want %+v", got, want)
	}
}

// fakeHost says which ports the host has bound.
type fakeHost map[hostPort]bool

func (h fakeHost) probe(proto, _ string, port int) error {
	if h[hostPort{proto, port}] {
		return syscall.EADDRINUSE
	}
	return nil
}

// TestClaim runs claims in order against a dynamic range of 100-109 with
// 100 and 104 reserved for tcp and 101 for udp.
func TestClaim(t *testing.T) {
	tcp := func(ports ...int) []request {
		var rs []request
		for _, p := range ports {
			rs = append(rs, request{proto: "tcp", container: portRange{80, 80}, hostPort: p})
		}
		return rs
	}
	span := func(n int) request {
		return request{proto: "tcp", container: portRange{1000, 1000 + n - 1}, isRange: true}
	}
	type step struct {
		id   string // "release X" releases X's ports
		reqs []request
		want []portRange // nil: fails with ErrPortUnavailable saying err
		err  string
	}
	for _, c := range []struct {
		name  string
		bound fakeHost
		steps []step
	}{
		{"dynamic skips reserved and bound", fakeHost{{"tcp", 102}: true}, []step{
			{"a", tcp(0, 0, 0), []portRange{{101, 101}, {103, 103}, {105, 105}}, ""},
		}},
		{"static first, dynamic around it", nil, []step{
			{"a", tcp(0, 101), []portRange{{102, 102}, {101, 101}}, ""},
		}},
		{"static reserved", nil, []step{{"a", tcp(104), nil, "host port 104/tcp is reserved"}}},
		{"static bound", fakeHost{{"tcp", 107}: true}, []step{{"a", tcp(107), nil, "host port 107/tcp is in use on the host"}}},
		{"static bound for udp only", fakeHost{{"udp", 107}: true}, []step{{"a", tcp(107), []portRange{{107, 107}}, ""}}},
		{"static outside the dynamic range", nil, []step{{"a", tcp(80), []portRange{{80, 80}}, ""}}},
		{"static mapped", nil, []step{
			{"a", tcp(107), []portRange{{107, 107}}, ""},
			{"b", tcp(107), nil, "host port 107/tcp is already mapped for a"},
		}},
		{"twice in one container", nil, []step{{"a", tcp(107, 107), nil, "host port 107/tcp is already mapped for a"}}},
		{"range needs consecutive ports", fakeHost{{"tcp", 106}: true}, []step{
			{"a", []request{span(3)}, []portRange{{101, 103}}, ""},
			{"b", []request{span(2)}, []portRange{{107, 108}}, ""}, // 104 reserved, 106 bound
			{"c", []request{span(2)}, nil, "no 2 consecutive free tcp host ports in 100-109"},
			{"d", tcp(0), []portRange{{109, 109}}, ""},
			{"e", tcp(0), []portRange{{105, 105}}, ""}, // wrapped around
			{"f", tcp(0), nil, "no free tcp host port in 100-109"},
		}},
		{"all or nothing", nil, []step{
			{"a", tcp(0, 0, 107), []portRange{{101, 101}, {102, 102}, {107, 107}}, ""},
			{"b", tcp(0, 0, 0, 0, 0, 0), nil, "no free tcp host port"}, // 5 left
			{"c", tcp(0, 0, 0, 0, 0), []portRange{{103, 103}, {105, 105}, {106, 106}, {108, 108}, {109, 109}}, ""},
		}},
		{"udp apart from tcp", nil, []step{
			{"a", tcp(105), []portRange{{105, 105}}, ""},
			{"b", []request{{proto: "udp", container: portRange{53, 53}, hostPort: 105}, {proto: "udp", container: portRange{53, 53}}},
				[]portRange{{105, 105}, {100, 100}}, ""}, // udp reserves 101, not 100
		}},
		{"release", nil, []step{
			{"a", tcp(107), []portRange{{107, 107}}, ""},
			{"release a", nil, nil, ""},
			{"b", tcp(107), []portRange{{107, 107}}, ""},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newPortClaims([2]int{100, 109}, []int{100, 104}, []int{101}, c.bound.probe)
			for _, s := range c.steps {
				if id, ok := strings.CutPrefix(s.id, "release "); ok {
					p.release(id)
					continue
				}
				before := fmt.Sprint(p.owner)
				got, err := p.claim(s.id, s.reqs)
				if s.want == nil {
					if !errors.Is(err, ErrPortUnavailable) || !strings.Contains(err.Error(), s.err) {
						t.Fatalf("%s: err = %v, want ErrPortUnavailable saying %q", s.id, err, s.err)
					}
					if after := fmt.Sprint(p.owner); after != before {
						t.Fatalf("%s: failed claim changed the claims: %s -> %s", s.id, before, after)
					}
					continue
				}
				if err != nil || !reflect.DeepEqual(got, s.want) {
					t.Fatalf("%s: got %v, %v; want %v", s.id, got, err, s.want)
				}
			}
		})
	}
}
