package network

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/internal/testenv"
)

// The test redirects 169.254.170.3, not the real 169.254.170.2, so that it
// cannot disturb an end-to-end test serving the real address meanwhile.
const testRedirectChain = "ECSD-TE-NETTEST"

var testService = netip.MustParseAddrPort("169.254.170.3:80")

// chainRules lists the iptables-save lines naming the test chain.
func chainRules(t *testing.T) []string {
	t.Helper()
	var out []string
	for l := range strings.Lines(iptablesSave("iptables-save")) {
		if strings.Contains(l, testRedirectChain) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

func readLocalnet(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(routeLocalnet)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestRedirect installs the redirect twice (the second time as a restarted
// ecsd would, over a crash's leftovers), checks the rules, sends a
// host-network request through it, removes it and checks that nothing is
// left and route_localnet is back.
func TestRedirect(t *testing.T) {
	testenv.HostLock(t, "route_localnet")
	origLocalnet := readLocalnet(t)
	cleanup := func() {
		r := &Redirect{cfg: RedirectConfig{Chain: testRedirectChain, Service: testService}}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r.removeRules(ctx)
		os.WriteFile(routeLocalnet, []byte(origLocalnet), 0o644)
	}
	t.Cleanup(cleanup)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "endpoint:"+r.URL.Path)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	target := netip.MustParseAddrPort(ln.Addr().String())

	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "route_localnet")
	cfg := RedirectConfig{Chain: testRedirectChain, Service: testService, Target: target, HostNetwork: true, StateFile: state}
	if _, err := InstallRedirect(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// A crash: install again without removing.
	r, err := InstallRedirect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		":" + testRedirectChain + " -",
		"-A PREROUTING -d 169.254.170.3/32 -p tcp -m tcp --dport 80 -j " + testRedirectChain,
		"-A OUTPUT -d 169.254.170.3/32 -p tcp -m tcp --dport 80 -j " + testRedirectChain,
		"-A " + testRedirectChain + " -p tcp -j DNAT --to-destination " + target.String(),
		":" + testRedirectChain + " -",
		"-A INPUT -d 127.0.0.0/8 -j " + testRedirectChain,
		"-A " + testRedirectChain + " ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP",
	}
	got := chainRules(t)
	for _, w := range want {
		n := 0
		for _, g := range got {
			if g == w {
				n++
			}
		}
		wantN := 1
		if strings.HasPrefix(w, ":") {
			wantN = 2 // nat and filter
		}
		if n != wantN {
			t.Errorf("rule %q appears %d times, want %d; rules:\n%s", w, n, wantN, strings.Join(got, "\n"))
		}
	}
	if len(got) != 7 {
		t.Errorf("%d rules name the chain, want 7:\n%s", len(got), strings.Join(got, "\n"))
	}
	if v := readLocalnet(t); v != "1" {
		t.Errorf("route_localnet = %s, want 1", v)
	}
	if b, err := os.ReadFile(state); err != nil || strings.TrimSpace(string(b)) != origLocalnet {
		t.Errorf("state file = %q, %v; want %s", b, err, origLocalnet)
	}

	// A host process reaches the endpoint through the service address.
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + testService.String() + "/v2/credentials/x")
	if err != nil {
		t.Fatalf("GET through the redirect: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "endpoint:/v2/credentials/x" {
		t.Errorf("body %q", body)
	}

	if err := r.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if got := chainRules(t); len(got) != 0 {
		t.Errorf("left after Remove:\n%s", strings.Join(got, "\n"))
	}
	if v := readLocalnet(t); v != origLocalnet {
		t.Errorf("route_localnet = %s after Remove, want %s", v, origLocalnet)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file left: %v", err)
	}
	// Removing twice is fine.
	if err := r.Remove(ctx); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestRedirectWithoutHostNetwork(t *testing.T) {
	testenv.HostLock(t, "route_localnet")
	origLocalnet := readLocalnet(t)
	t.Cleanup(func() {
		r := &Redirect{cfg: RedirectConfig{Chain: testRedirectChain, Service: testService}}
		r.removeRules(context.Background())
		os.WriteFile(routeLocalnet, []byte(origLocalnet), 0o644)
	})
	r, err := InstallRedirect(context.Background(), RedirectConfig{Chain: testRedirectChain, Service: testService,
		Target: netip.MustParseAddrPort("127.0.0.1:51999")})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range chainRules(t) {
		if strings.HasPrefix(l, "-A OUTPUT") {
			t.Errorf("OUTPUT jump without HostNetwork: %s", l)
		}
	}
	if err := r.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := chainRules(t); len(got) != 0 {
		t.Errorf("left after Remove:\n%s", strings.Join(got, "\n"))
	}
}

// TestRemoveRedirectAfterCrash: what a crashed ecsd left is removed by
// RemoveRedirect, which restores route_localnet from the state file.
func TestRemoveRedirectAfterCrash(t *testing.T) {
	testenv.HostLock(t, "route_localnet")
	origLocalnet := readLocalnet(t)
	t.Cleanup(func() {
		r := &Redirect{cfg: RedirectConfig{Chain: testRedirectChain, Service: testService}}
		r.removeRules(context.Background())
		os.WriteFile(routeLocalnet, []byte(origLocalnet), 0o644)
	})
	cfg := RedirectConfig{Chain: testRedirectChain, Service: testService, HostNetwork: true,
		Target: netip.MustParseAddrPort("127.0.0.1:51999"), StateFile: filepath.Join(t.TempDir(), "state")}
	if _, err := InstallRedirect(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := RemoveRedirect(context.Background(), RedirectConfig{Chain: cfg.Chain, Service: cfg.Service, StateFile: cfg.StateFile}); err != nil {
		t.Fatal(err)
	}
	if got := chainRules(t); len(got) != 0 {
		t.Errorf("left after RemoveRedirect:\n%s", strings.Join(got, "\n"))
	}
	if v := readLocalnet(t); v != origLocalnet {
		t.Errorf("route_localnet = %s, want %s", v, origLocalnet)
	}
}

func TestRedirectConfigErrors(t *testing.T) {
	for _, cfg := range []RedirectConfig{
		{Target: netip.MustParseAddrPort("10.0.0.1:51679")},
		{Target: netip.MustParseAddrPort("127.0.0.1:0")},
		{Target: netip.MustParseAddrPort("127.0.0.1:51679"), Chain: strings.Repeat("X", 29)},
		{},
	} {
		if _, err := InstallRedirect(context.Background(), cfg); err == nil {
			t.Errorf("InstallRedirect(%+v) = nil error", cfg)
		}
	}
}
