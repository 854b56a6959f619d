package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// env is one test's network: its own bridge ecsdt<idx> on 10.199.<64+idx>.0/24
// and its own state dir. Its clean-up tears down whatever the test left,
// deletes the bridge, and fails the test if anything had leaked.
type env struct {
	cfg Config
	m   *Manager
}

func newEnv(t *testing.T, idx int, tweak func(*Config)) *env {
	t.Helper()
	checkGoroutines(t)
	cfg := Config{
		BridgeName: fmt.Sprintf("ecsdt%d", idx),
		Subnet:     fmt.Sprintf("10.199.%d.0/24", 64+idx),
		StateDir:   t.TempDir(),
		Log:        slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if tweak != nil {
		tweak(&cfg)
	}
	e := &env{cfg: cfg}
	t.Cleanup(func() { e.destroy(t) })
	e.m = e.open(t)
	return e
}

// open makes a Manager on the env's config and state, as a restarted ecsd
// would.
func (e *env) open(t *testing.T) *Manager {
	t.Helper()
	m, err := New(e.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// destroy removes everything the env's network may hold, and reports what
// had been left.
func (e *env) destroy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if m, err := New(e.cfg); err != nil {
		t.Errorf("clean-up: New: %v", err)
	} else if err := m.Cleanup(ctx, func(string) bool { return false }); err != nil {
		t.Errorf("clean-up: %v", err)
	}
	for _, l := range e.leftovers() {
		t.Errorf("left over: %s", l)
	}
	// Whatever was left, remove it so that later tests start clean.
	if ents, err := os.ReadDir(e.m.cfg.NetNSDir); err == nil {
		for _, ent := range ents {
			removeNetNS(filepath.Join(e.m.cfg.NetNSDir, ent.Name()))
		}
	}
	if _, err := net.InterfaceByName(e.cfg.BridgeName); err == nil {
		if out, err := exec.Command("ip", "link", "del", e.cfg.BridgeName).CombinedOutput(); err != nil {
			t.Errorf("delete bridge %s: %v: %s", e.cfg.BridgeName, err, out)
		}
	}
	cache, _ := filepath.Glob(filepath.Join("/var/lib/cni/results", e.cfg.BridgeName+"-*"))
	for _, f := range cache {
		os.Remove(f)
	}
}

// leftovers lists what the env's network still holds besides its bridge:
// attachment records, namespaces, address leases, veths on the bridge,
// iptables rules naming the network or its subnet, CNI result cache files.
func (e *env) leftovers() []string {
	var l []string
	cfg := e.m.cfg
	glob := func(what, pattern string) {
		fs, _ := filepath.Glob(pattern)
		for _, f := range fs {
			l = append(l, what+" "+f)
		}
	}
	glob("record", filepath.Join(cfg.StateDir, "attachments", "*"))
	glob("namespace", filepath.Join(cfg.NetNSDir, "*"))
	glob("address lease", filepath.Join(cfg.StateDir, "ipam", cfg.BridgeName, "[0-9]*"))
	glob("veth", filepath.Join("/sys/class/net", cfg.BridgeName, "brif", "*"))
	glob("CNI result cache", filepath.Join("/var/lib/cni/results", cfg.BridgeName+"-*"))
	mine := e.ruleRE()
	for _, save := range []string{"iptables-save", "ip6tables-save"} {
		for r := range strings.Lines(iptablesSave(save)) {
			if mine.MatchString(r) {
				l = append(l, save+": "+strings.TrimSpace(r))
			}
		}
	}
	return l
}

// ruleRE matches iptables rules about the env's network: its name in a
// comment, or an address in its subnet.
func (e *env) ruleRE() *regexp.Regexp {
	prefix := strings.TrimSuffix(e.cfg.Subnet, "0/24")
	return regexp.MustCompile(regexp.QuoteMeta(e.cfg.BridgeName) + `\\?"|` + regexp.QuoteMeta(prefix) + `\d`)
}

func (e *env) setup(t *testing.T, id string, mode Mode, ports ...PortMapping) *Attachment {
	t.Helper()
	a, err := e.m.Setup(context.Background(), id, mode, ports)
	if err != nil {
		t.Fatalf("Setup %s: %v", id, err)
	}
	return a
}

func (e *env) teardown(t *testing.T, id string) {
	t.Helper()
	if err := e.m.Teardown(context.Background(), id); err != nil {
		t.Fatalf("Teardown %s: %v", id, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// checkGoroutines fails the test if it ends with more goroutines than it
// started with.
func checkGoroutines(t *testing.T) {
	t.Helper()
	n := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > n {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("leaked goroutines: %d, want %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// inNetNS runs fn on a thread inside the namespace at path. Sockets fn
// opens stay in that namespace.
func inNetNS(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", syscall.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer target.Close()
		if err := setns(target.Fd()); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", path, err)
			return
		}
		err = fn()
		if setns(orig.Fd()) == nil {
			runtime.UnlockOSThread() // else the thread ends with this goroutine
		}
		errc <- err
	}()
	return <-errc
}

func setns(fd uintptr) error { return unix.Setns(int(fd), unix.CLONE_NEWNET) }

// startHTTPD runs busybox httpd on port 80 in the namespace at ns, serving
// body as /index.html, until the test ends.
func startHTTPD(t *testing.T, ns, body string) {
	t.Helper()
	startHTTPDPort(t, ns, 80, body)
}

// httpGet fetches http://addr/ until it answers or 10 s pass.
func httpGet(t *testing.T, addr string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) string {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true, DialContext: dial}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get("http://" + addr + "/")
		if err == nil {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET http://%s/: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dialFrom dials from inside the namespace at ns.
func dialFrom(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := inNetNS(ns, func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// udpEcho serves UDP echo on port in the namespace at ns until the test
// ends.
func udpEcho(t *testing.T, ns string, port int) {
	t.Helper()
	var pc net.PacketConn
	err := inNetNS(ns, func() (err error) {
		pc, err = net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		return err
	})
	if err != nil {
		t.Fatalf("udp echo: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
}

// udpAsk sends msg to addr and returns the reply, retrying for 10 s.
func udpAsk(t *testing.T, addr, msg string) string {
	t.Helper()
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := c.Write([]byte(msg)); err != nil && time.Now().After(deadline) {
			t.Fatalf("udp %s: %v", addr, err)
		}
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			return string(buf[:n])
		}
		if time.Now().After(deadline) {
			t.Fatalf("udp %s: no echo: %v", addr, err)
		}
	}
}

// hostIPv4 is an address of the host that is not loopback nor on a test
// bridge.
func hostIPv4(t *testing.T) string {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || strings.HasPrefix(ifc.Name, "ecsd") {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && ipn.IP.IsGlobalUnicast() {
				return ipn.IP.String()
			}
		}
	}
	t.Fatal("no non-loopback IPv4 address on the host")
	return ""
}

// freePort is a port that nothing on the host uses for tcp nor udp now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if probeBind("udp", "", p) == nil {
			return p
		}
	}
	t.Fatal("no free port")
	return 0
}

// freeBlock is the first of n consecutive ports, from 40000 up, that
// nothing uses for tcp nor udp now.
func freeBlock(t *testing.T, n int) int {
	t.Helper()
next:
	for base := 40000; base+n < 65000; base += n {
		for p := base; p < base+n; p++ {
			if probeBind("tcp", "", p) != nil || probeBind("udp", "", p) != nil {
				continue next
			}
		}
		return base
	}
	t.Fatalf("no %d free consecutive ports", n)
	return 0
}

func isPortUnavailable(err error) bool { return errors.Is(err, ErrPortUnavailable) }

// startHTTPDPort runs busybox httpd on port in the namespace at ns.
func startHTTPDPort(t *testing.T, ns string, port int, body string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nsenter", "--net="+ns, "busybox", "httpd", "-f", "-p", fmt.Sprint(port), "-h", dir)
	cmd.Stdout, cmd.Stderr = testWriter{t}, testWriter{t}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start httpd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
}
