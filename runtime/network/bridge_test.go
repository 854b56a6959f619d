package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

func TestBridgeHTTP(t *testing.T) {
	e := newEnv(t, 1, nil)
	a := e.setup(t, "web", ModeBridge, PortMapping{ContainerPort: 80})
	if len(a.Bindings) != 1 {
		t.Fatalf("bindings = %+v, want one", a.Bindings)
	}
	b := a.Bindings[0]
	lo, hi := DefaultDynamicPortRange[0], DefaultDynamicPortRange[1]
	if b.BindIP != "0.0.0.0" || b.ContainerPort != 80 || b.Protocol != "tcp" || b.HostPort < lo || b.HostPort > hi {
		t.Fatalf("binding = %+v, want 0.0.0.0 80 -> %d-%d tcp", b, lo, hi)
	}
	if ip := net.ParseIP(a.IPv4); ip == nil || !ip.Equal(ip.To4()) {
		t.Fatalf("IPv4 = %q", a.IPv4)
	}
	var ifs []net.Interface
	if err := inNetNS(a.NetNSPath, func() (err error) { ifs, err = net.Interfaces(); return err }); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 {
			names = append(names, i.Name)
		}
	}
	if len(ifs) != 2 || fmt.Sprint(names) != "[lo eth0]" {
		t.Errorf("interfaces in bridge mode = %+v, want lo and eth0, up", ifs)
	}
	startHTTPD(t, a.NetNSPath, "hello from web")

	host := net.JoinHostPort(hostIPv4(t), fmt.Sprint(b.HostPort))
	for _, addr := range []string{
		fmt.Sprintf("127.0.0.1:%d", b.HostPort), // portmap's snat + route_localnet
		host,                                    // the host's own address
		a.IPv4 + ":80",                          // the container directly
	} {
		if got := httpGet(t, addr, nil); got != "hello from web" {
			t.Errorf("GET %s = %q", addr, got)
		}
	}
	if _, err := e.m.Setup(t.Context(), "web", ModeBridge, nil); !errors.Is(err, ErrExists) {
		t.Errorf("second Setup of web: err = %v, want ErrExists", err)
	}
	for _, bad := range []string{"", "../x", "-x", "a/b"} {
		if _, err := e.m.Setup(t.Context(), bad, ModeBridge, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("Setup of id %q: err = %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := e.m.Setup(t.Context(), "x", "awsvpc", nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("Setup in awsvpc mode: err = %v, want ErrInvalid", err)
	}
	e.teardown(t, "web")
	e.teardown(t, "web")     // idempotent
	e.teardown(t, "unknown") // never set up
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s after teardown: %v", a.NetNSPath, err)
	}
}

func TestBridgeUDP(t *testing.T) {
	e := newEnv(t, 2, nil)
	static := freePort(t)
	a := e.setup(t, "dns", ModeBridge,
		PortMapping{ContainerPort: 5353, HostPort: static, Protocol: "udp"},
		PortMapping{ContainerPort: 5354, Protocol: "udp"},
	)
	want := []Binding{
		{BindIP: "0.0.0.0", ContainerPort: 5353, HostPort: static, Protocol: "udp"},
		{BindIP: "0.0.0.0", ContainerPort: 5354, HostPort: a.Bindings[1].HostPort, Protocol: "udp"},
	}
	if fmt.Sprint(a.Bindings) != fmt.Sprint(want) || a.Bindings[1].HostPort == 0 {
		t.Fatalf("bindings = %+v, want %+v", a.Bindings, want)
	}
	udpEcho(t, a.NetNSPath, 5353)
	udpEcho(t, a.NetNSPath, 5354)
	hostIP := hostIPv4(t)
	for _, b := range a.Bindings {
		for _, ip := range []string{"127.0.0.1", hostIP} {
			addr := net.JoinHostPort(ip, fmt.Sprint(b.HostPort))
			msg := "ping " + addr
			if got := udpAsk(t, addr, msg); got != msg {
				t.Errorf("udp %s echoed %q", addr, got)
			}
		}
	}
	e.teardown(t, "dns")
}

// Two containers on the bridge reach each other by IPv4 (what links'
// /etc/hosts entries point at) and reach the host through the gateway.
func TestBridgeReachEachOther(t *testing.T) {
	e := newEnv(t, 3, nil)
	a := e.setup(t, "a", ModeBridge)
	b := e.setup(t, "b", ModeBridge)
	if a.IPv4 == b.IPv4 {
		t.Fatalf("both containers got %s", a.IPv4)
	}
	startHTTPD(t, b.NetNSPath, "b here")
	startHTTPD(t, a.NetNSPath, "a here")
	if got := httpGet(t, b.IPv4+":80", dialFrom(a.NetNSPath)); got != "b here" {
		t.Errorf("a -> b: %q", got)
	}
	if got := httpGet(t, a.IPv4+":80", dialFrom(b.NetNSPath)); got != "a here" {
		t.Errorf("b -> a: %q", got)
	}

	// Outbound: a listener on the host's address, reached from a through
	// the bridge's gateway (and masquerade).
	l, err := net.Listen("tcp4", net.JoinHostPort(hostIPv4(t), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			got <- err.Error()
			return
		}
		c.Close()
		got <- c.RemoteAddr().(*net.TCPAddr).IP.String()
	}()
	c, err := dialFrom(a.NetNSPath)(t.Context(), "tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("a -> host %s: %v", l.Addr(), err)
	}
	c.Close()
	if from := <-got; from != a.IPv4 {
		t.Errorf("host saw a connection from %s, want %s", from, a.IPv4)
	}
	e.teardown(t, "a")
	e.teardown(t, "b")
}

func TestNoneMode(t *testing.T) {
	e := newEnv(t, 4, nil)
	a := e.setup(t, "sealed", ModeNone)
	if a.NetNSPath == "" || a.HostNetwork || a.IPv4 != "" || len(a.Bindings) != 0 {
		t.Fatalf("attachment = %+v", a)
	}
	var ifs []net.Interface
	if err := inNetNS(a.NetNSPath, func() (err error) { ifs, err = net.Interfaces(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(ifs) != 1 || ifs[0].Name != "lo" || ifs[0].Flags&net.FlagUp == 0 {
		t.Fatalf("interfaces in none mode = %+v, want only lo, up", ifs)
	}
	// lo works: a listener on 127.0.0.1 in the namespace answers.
	err := inNetNS(a.NetNSPath, func() error {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer l.Close()
		c, err := net.Dial("tcp4", l.Addr().String())
		if err != nil {
			return err
		}
		return c.Close()
	})
	if err != nil {
		t.Errorf("loopback in none mode: %v", err)
	}
	if _, err := e.m.Setup(t.Context(), "sealed2", ModeNone, []PortMapping{{ContainerPort: 80}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("none mode with a port mapping: err = %v, want ErrInvalid", err)
	}
	e.teardown(t, "sealed")
	if _, err := os.Stat(a.NetNSPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s after teardown: %v", a.NetNSPath, err)
	}
}

func TestHostMode(t *testing.T) {
	e := newEnv(t, 5, nil)
	a := e.setup(t, "h", ModeHost,
		PortMapping{ContainerPort: 8080},
		PortMapping{ContainerPort: 53, HostPort: 53, Protocol: "udp"},
		PortMapping{ContainerPortRange: "9000-9002"},
	)
	want := &Attachment{Mode: ModeHost, HostNetwork: true, Bindings: []Binding{
		{BindIP: "0.0.0.0", ContainerPort: 8080, HostPort: 8080, Protocol: "tcp"},
		{BindIP: "0.0.0.0", ContainerPort: 53, HostPort: 53, Protocol: "udp"},
		{BindIP: "0.0.0.0", Protocol: "tcp", ContainerPortRange: "9000-9002", HostPortRange: "9000-9002"},
	}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("host attachment = %+v, want %+v", a, want)
	}
	if _, err := e.m.Setup(t.Context(), "h2", ModeHost, []PortMapping{{ContainerPort: 80, HostPort: 8080}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("host mode 80 -> 8080: err = %v, want ErrInvalid", err)
	}
	e.teardown(t, "h") // nothing to do
}

func TestDynamicPorts(t *testing.T) {
	base := freeBlock(t, 10)
	e := newEnv(t, 6, func(c *Config) {
		c.DynamicPortRange = [2]int{base, base + 9}
		c.ReservedTCP = []int{base, base + 3}
		c.ReservedUDP = []int{base + 1}
	})
	// A host process holds base+2/tcp.
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+2))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	a := e.setup(t, "a", ModeBridge,
		PortMapping{ContainerPort: 80},
		PortMapping{ContainerPortRange: "7000-7002"},
		PortMapping{ContainerPort: 81},
		PortMapping{ContainerPort: 53, Protocol: "udp"},
	)
	// tcp: free are base+1, +4..+9; 80 takes +1, the range the first three
	// consecutive (+4..+6), 81 the next (+7). udp: base+1 is reserved.
	want := []Binding{
		{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: base + 1, Protocol: "tcp"},
		{BindIP: "0.0.0.0", Protocol: "tcp", ContainerPortRange: "7000-7002", HostPortRange: fmt.Sprintf("%d-%d", base+4, base+6)},
		{BindIP: "0.0.0.0", ContainerPort: 81, HostPort: base + 7, Protocol: "tcp"},
		{BindIP: "0.0.0.0", ContainerPort: 53, HostPort: base, Protocol: "udp"},
	}
	if !reflect.DeepEqual(a.Bindings, want) {
		t.Fatalf("bindings = %+v\nwant %+v", a.Bindings, want)
	}
	// The range really is mapped: a server on 7001 answers on base+5.
	startHTTPDPort(t, a.NetNSPath, 7001, "seven thousand one")
	if got := httpGet(t, fmt.Sprintf("127.0.0.1:%d", base+5), nil); got != "seven thousand one" {
		t.Errorf("GET range port: %q", got)
	}

	// Two tcp ports are left (+8, +9): a range of three does not fit.
	_, err = e.m.Setup(t.Context(), "b", ModeBridge, []PortMapping{{ContainerPortRange: "1-3"}})
	if !isPortUnavailable(err) {
		t.Fatalf("Setup needing 3 of 2 free ports: err = %v, want ErrPortUnavailable", err)
	}
	t.Logf("exhausted: %v", err)
	c := e.setup(t, "c", ModeBridge, PortMapping{ContainerPortRange: "1-2"})
	if got := c.Bindings[0].HostPortRange; got != fmt.Sprintf("%d-%d", base+8, base+9) {
		t.Errorf("last two ports: %s", got)
	}
	// Released ports come back.
	e.teardown(t, "a")
	b := e.setup(t, "b", ModeBridge, PortMapping{ContainerPortRange: "1-3"})
	if got := b.Bindings[0].HostPortRange; got != fmt.Sprintf("%d-%d", base+4, base+6) {
		t.Errorf("after release: %s", got)
	}
	e.teardown(t, "b")
	e.teardown(t, "c")
}

func TestStaticPortUnavailable(t *testing.T) {
	reserved := freePort(t)
	e := newEnv(t, 7, func(c *Config) { c.ReservedTCP = []int{reserved} })

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	mapped := freePort(t)
	e.setup(t, "first", ModeBridge, PortMapping{ContainerPort: 80, HostPort: mapped})
	before := e.leftovers()

	for _, c := range []struct {
		name string
		port int
		want string
	}{
		{"bound on the host", taken, fmt.Sprintf("host port %d/tcp is in use on the host", taken)},
		{"reserved", reserved, fmt.Sprintf("host port %d/tcp is reserved", reserved)},
		{"mapped already", mapped, fmt.Sprintf("host port %d/tcp is already mapped for first", mapped)},
	} {
		_, err := e.m.Setup(t.Context(), "second", ModeBridge, []PortMapping{
			{ContainerPort: 81}, // a dynamic port, claimed and then given back
			{ContainerPort: 80, HostPort: c.port},
		})
		if !isPortUnavailable(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want ErrPortUnavailable saying %q", c.name, err, c.want)
		}
	}
	if after := e.leftovers(); !reflect.DeepEqual(after, before) {
		t.Errorf("failed setups left: %v", diffLines(strings.Join(before, "\n"), strings.Join(after, "\n")))
	}
	// The same port for the other protocol is fine.
	e.setup(t, "second", ModeBridge, PortMapping{ContainerPort: 53, HostPort: mapped, Protocol: "udp"})
	e.teardown(t, "first")
	e.teardown(t, "second")
}

// A failure after the namespace exists (here the bridge plugin refuses a
// device of the bridge's name that is not a bridge) is undone.
func TestSetupFailureUndone(t *testing.T) {
	e := newEnv(t, 8, nil)
	if out, err := exec.Command("ip", "link", "add", e.cfg.BridgeName, "type", "veth", "peer", "name", e.cfg.BridgeName+"p").CombinedOutput(); err != nil {
		t.Fatalf("ip link add: %v: %s", err, out)
	}
	_, err := e.m.Setup(t.Context(), "doomed", ModeBridge, []PortMapping{{ContainerPort: 80}})
	if err == nil {
		t.Fatal("Setup on a non-bridge device succeeded")
	}
	t.Logf("Setup: %v", err)
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("failed setup left: %v", l)
	}
	if n := len(e.m.ports.owner); n != 0 {
		t.Errorf("%d host ports still claimed", n)
	}
}
