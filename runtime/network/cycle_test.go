package network

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// After 50 setup/teardown cycles with tcp and udp mappings, the host is as
// it was after the first: no veth, address lease, namespace, record, CNI
// cache entry, link or iptables rule more. (The first cycle may add the
// CNI chains the plugins share and never remove, and the bridge.)
func TestSetupTeardownCycles(t *testing.T) {
	e := newEnv(t, 9, nil)
	ports := []PortMapping{
		{ContainerPort: 80},
		{ContainerPort: 53, Protocol: "udp"},
		{ContainerPortRange: "9000-9001"},
	}
	cycle := func(i int) bool {
		id := fmt.Sprintf("cycle-%d", i)
		a, err := e.m.Setup(t.Context(), id, ModeBridge, ports)
		if err != nil {
			t.Errorf("cycle %d: Setup: %v", i, err)
			return false
		}
		if a.IPv4 == "" || len(a.Bindings) != 3 {
			t.Errorf("cycle %d: attachment %+v", i, a)
		}
		if err := e.m.Teardown(t.Context(), id); err != nil {
			t.Errorf("cycle %d: Teardown: %v", i, err)
			return false
		}
		return true
	}
	if !cycle(0) {
		t.FailNow()
	}
	// Only this package's rules and links count: other packages' tests
	// (ecsd end to end) may add and remove their own meanwhile.
	type snapshot struct{ v4, v6, links string }
	snap := func() snapshot {
		return snapshot{ours(iptablesSave("iptables-save")), ours(iptablesSave("ip6tables-save")), linkNames(t)}
	}
	before := snap()
	// Five workers at once, ten cycles each: calls for different ids run
	// concurrently in ecsd too.
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 5 {
		wg.Go(func() {
			for i := range 10 {
				if !cycle(1 + w*10 + i) {
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("50 cycles in %v", time.Since(start).Round(time.Millisecond))
	after := snap()
	if d := diffLines(before.v4, after.v4); len(d) > 0 {
		t.Errorf("iptables changed:\n%s", strings.Join(d, "\n"))
	}
	if d := diffLines(before.v6, after.v6); len(d) > 0 {
		t.Errorf("ip6tables changed:\n%s", strings.Join(d, "\n"))
	}
	if before.links != after.links {
		t.Errorf("links before: %s\nafter: %s", before.links, after.links)
	}
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("left over: %v", l)
	}
	if n := len(e.m.ports.owner); n != 0 {
		t.Errorf("%d host ports still claimed", n)
	}
}

// ours keeps the lines of an iptables-save that name this package's test
// networks (their bridges, subnets and CNI comments).
func ours(save string) string {
	var b strings.Builder
	for l := range strings.Lines(save) {
		if ourRule.MatchString(l) {
			b.WriteString(l)
		}
	}
	return b.String()
}

// linkNames lists this package's test bridges and the interfaces enslaved
// to them.
func linkNames(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range ifs {
		master, _ := os.Readlink(filepath.Join("/sys/class/net", i.Name, "master"))
		if ourBridge.MatchString(i.Name) || ourBridge.MatchString(filepath.Base(master)) {
			names = append(names, i.Name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, " ")
}

var ourBridge = regexp.MustCompile(`^ecsdt\d+$`)

// An agent crash leaves attachments behind. A new Manager on the same
// state keeps their host ports claimed; Cleanup removes those not kept,
// including one whose record was lost, and the kept one still works.
func TestCleanupAfterCrash(t *testing.T) {
	e := newEnv(t, 10, nil)
	static, keptPort := freePort(t), freePort(t)
	gone := map[string]*Attachment{
		"a":    e.setup(t, "a", ModeBridge, PortMapping{ContainerPort: 80, HostPort: static}),
		"b":    e.setup(t, "b", ModeBridge, PortMapping{ContainerPort: 80}, PortMapping{ContainerPort: 53, Protocol: "udp"}),
		"c":    e.setup(t, "c", ModeNone),
		"lost": e.setup(t, "lost", ModeBridge, PortMapping{ContainerPort: 80}),
	}
	kept := e.setup(t, "kept", ModeBridge, PortMapping{ContainerPort: 80, HostPort: keptPort})
	startHTTPD(t, kept.NetNSPath, "still here")
	// The crash: the Manager is dropped without teardown, and one record
	// is lost on top.
	if err := os.Remove(filepath.Join(e.cfg.StateDir, "attachments", "lost.json")); err != nil {
		t.Fatal(err)
	}

	m := e.open(t)
	e.m = m
	_, err := m.Setup(t.Context(), "x", ModeBridge, []PortMapping{{ContainerPort: 80, HostPort: static}})
	if !errors.Is(err, ErrPortUnavailable) {
		t.Fatalf("port of a surviving attachment: err = %v, want ErrPortUnavailable", err)
	}
	if err := m.Cleanup(t.Context(), func(id string) bool { return id == "kept" }); err != nil {
		t.Fatalf("Cleanup: %v", err)
	}

	// What is left is kept's: one of each, and nothing that names the
	// others, their addresses or their host ports.
	var marks []string
	for id, a := range gone {
		marks = append(marks, `id: \\"`+id+`\\"`, "/"+id+"$")
		if a.IPv4 != "" {
			marks = append(marks, regexp.QuoteMeta(a.IPv4)+`($|[^0-9])`)
		}
		for _, b := range a.Bindings {
			marks = append(marks, fmt.Sprintf("--dports? %d($|[^0-9])", b.HostPort))
		}
	}
	theirs := regexp.MustCompile(strings.Join(marks, "|"))
	count := map[string]int{}
	for _, l := range e.leftovers() {
		if theirs.MatchString(l) {
			t.Errorf("after Cleanup: %s", l)
		}
		what, _, _ := strings.Cut(l, " ")
		count[what]++
	}
	for _, what := range []string{"record", "namespace", "address", "veth"} {
		if count[what] != 1 {
			t.Errorf("after Cleanup: %d %s, want kept's only", count[what], what)
		}
	}
	if got := httpGet(t, fmt.Sprintf("127.0.0.1:%d", keptPort), nil); got != "still here" {
		t.Errorf("kept container: %q", got)
	}
	e.setup(t, "x", ModeBridge, PortMapping{ContainerPort: 80, HostPort: static})
	e.teardown(t, "x")
	e.teardown(t, "kept")
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("left over: %s", strings.Join(l, "\n"))
	}
}

// Someone flushes the container's masquerade rule (a firewall reload, an
// admin's iptables -F): Teardown still removes everything.
func TestTeardownAfterMasqueradeFlushed(t *testing.T) {
	e := newEnv(t, 11, nil)
	e.setup(t, "a", ModeBridge, PortMapping{ContainerPort: 80})
	var jump []string
	for r := range strings.Lines(iptablesSave("iptables-save")) {
		if strings.HasPrefix(r, "-A POSTROUTING ") && strings.Contains(r, `id: \"a\"`) {
			jump = splitRule(strings.TrimSpace(r))
		}
	}
	if jump == nil {
		t.Fatal("no masquerade rule for a")
	}
	chain := jump[len(jump)-1]
	for _, args := range [][]string{
		append([]string{"-t", "nat", "-D"}, jump[1:]...),
		{"-t", "nat", "-F", chain},
		{"-t", "nat", "-X", chain},
	} {
		if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables %v: %v: %s", args, err, out)
		}
	}
	e.teardown(t, "a")
	if l := e.leftovers(); len(l) > 0 {
		t.Errorf("left over: %s", strings.Join(l, "\n"))
	}
}
