package network

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// The tests change the host's network (bridges, namespaces, iptables), so
// they need root, and two runs of them must not overlap: TestMain holds a
// lock file for the whole run. At the end it removes the CNI chains the
// plugins create once and never delete (CNI-HOSTPORT-*, CNI-FORWARD,
// CNI-ADMIN), and the iptables tables and ip_forward setting they brought,
// unless another CNI user is active on the host meanwhile.
func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "runtime/network: tests need root (network namespaces, CNI plugins, iptables)")
		os.Exit(1)
	}
	lock, err := os.OpenFile("/run/lock/ecsd-network-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, "runtime/network:", err)
		os.Exit(1)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, "runtime/network: lock:", err)
		os.Exit(1)
	}
	before := snapshotHost()
	code := m.Run()
	if err := restoreHost(before); err != nil {
		fmt.Fprintln(os.Stderr, "runtime/network: restore host:", err)
		code = 1
	}
	lock.Close()
	os.Exit(code)
}

// hostSnapshot is the host state the tests may change outside their own
// bridges and state dirs.
type hostSnapshot struct {
	v4, v6      string // normalised iptables-save, ip6tables-save
	ipForward   string
	cniCacheDir []string // which of /var/lib/cni, /var/lib/cni/results existed
}

var cniCacheDirs = []string{"/var/lib/cni", "/var/lib/cni/results"}

func snapshotHost() hostSnapshot {
	s := hostSnapshot{v4: iptablesSave("iptables-save"), v6: iptablesSave("ip6tables-save")}
	b, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	s.ipForward = strings.TrimSpace(string(b))
	for _, d := range cniCacheDirs {
		if _, err := os.Stat(d); err == nil {
			s.cniCacheDir = append(s.cniCacheDir, d)
		}
	}
	return s
}

// ourRule matches what the tests' networks put in iptables: their names
// (bridges ecsdt<N>) and their subnets (10.199.64.0/18).
var ourRule = regexp.MustCompile(`ecsdt\d|10\.199\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.`)

func restoreHost(before hostSnapshot) error {
	var errs []error
	busy := false
	for _, fam := range []struct{ save, cmd, nft, before string }{
		{"iptables-save", "iptables", "ip", before.v4},
		{"ip6tables-save", "ip6tables", "ip6", before.v6},
	} {
		b, err := removeNewCNIChains(fam.save, fam.cmd, fam.nft, parseSave(fam.before))
		busy = busy || b
		if err != nil {
			errs = append(errs, err)
		}
		after := iptablesSave(fam.save)
		for _, l := range diffLines(fam.before, after) {
			if strings.HasPrefix(l, "+") && ourRule.MatchString(l) {
				errs = append(errs, fmt.Errorf("%s: left over: %s", fam.save, l))
			} else if !busy {
				fmt.Fprintf(os.Stderr, "runtime/network: note: %s differs from the start (not ours?): %s\n", fam.save, l)
			}
		}
	}
	if busy {
		fmt.Fprintln(os.Stderr, "runtime/network: another CNI user is active; leaving the shared CNI chains and ip_forward")
	} else if before.ipForward != "" {
		if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte(before.ipForward), 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range slices.Backward(cniCacheDirs) {
		if !slices.Contains(before.cniCacheDir, d) {
			os.Remove(d) // only if empty
		}
	}
	return errors.Join(errs...)
}

// iptablesSave runs cmd and drops comments and counters.
func iptablesSave(cmd string) string {
	out, err := exec.Command(cmd).Output()
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	for l := range strings.Lines(string(out)) {
		if strings.HasPrefix(l, "#") {
			continue
		}
		b.WriteString(counters.ReplaceAllString(l, ""))
	}
	return b.String()
}

var counters = regexp.MustCompile(` \[\d+:\d+\]`)

// diffLines lists the lines of b not in a and of a not in b.
func diffLines(a, b string) []string {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	var d []string
	for _, l := range bs {
		if !slices.Contains(as, l) {
			d = append(d, "+ "+l)
		}
	}
	for _, l := range as {
		if !slices.Contains(bs, l) {
			d = append(d, "- "+l)
		}
	}
	return d
}

type savedTable struct {
	chains []string
	rules  []string // "-A CHAIN ..." lines
}

func parseSave(s string) map[string]*savedTable {
	tables := map[string]*savedTable{}
	var cur *savedTable
	for l := range strings.Lines(s) {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "*"):
			cur = &savedTable{}
			tables[l[1:]] = cur
		case cur != nil && strings.HasPrefix(l, ":"):
			name, _, _ := strings.Cut(l[1:], " ")
			cur.chains = append(cur.chains, name)
		case cur != nil && strings.HasPrefix(l, "-A "):
			cur.rules = append(cur.rules, l)
		}
	}
	return tables
}

var (
	perContainerChain = regexp.MustCompile(`^CNI-(DN-)?[0-9a-f]{20,}$`)
	builtinChains     = []string{"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
)

// removeNewCNIChains deletes the CNI-* chains that appeared since before
// (and the jumps to them), then the tables that appeared and are now empty.
// It does nothing, and says busy, when a per-container CNI chain or a
// container's firewall rule shows someone else uses CNI right now.
func removeNewCNIChains(save, cmd, nftFamily string, before map[string]*savedTable) (busy bool, err error) {
	now := parseSave(iptablesSave(save))
	for _, t := range now {
		for _, c := range t.chains {
			if perContainerChain.MatchString(c) {
				return true, nil
			}
		}
		for _, r := range t.rules {
			if strings.HasPrefix(r, "-A CNI-FORWARD ") && !strings.HasSuffix(r, "-j CNI-ADMIN") {
				return true, nil
			}
		}
	}
	var errs []error
	run := func(args ...string) {
		if out, err := exec.Command(cmd, args...).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, bytes.TrimSpace(out)))
		}
	}
	for name, t := range now {
		var old []string
		if b := before[name]; b != nil {
			old = b.chains
		}
		var added []string
		for _, c := range t.chains {
			if strings.HasPrefix(c, "CNI-") && !slices.Contains(old, c) {
				added = append(added, c)
			}
		}
		for _, r := range t.rules {
			args := splitRule(r)
			from, to := args[1], args[len(args)-1]
			if !slices.Contains(added, from) && slices.Contains(added, to) {
				run(append([]string{"-t", name, "-D"}, args[1:]...)...)
			}
		}
		for _, c := range added {
			run("-t", name, "-F", c)
		}
		for _, c := range added {
			run("-t", name, "-X", c)
		}
	}
	for name, t := range parseSave(iptablesSave(save)) {
		if before[name] != nil || len(t.rules) > 0 || slices.ContainsFunc(t.chains, func(c string) bool { return !slices.Contains(builtinChains, c) }) {
			continue
		}
		if out, err := exec.Command("nft", "delete", "table", nftFamily, name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("nft delete table %s %s: %v: %s", nftFamily, name, err, bytes.TrimSpace(out)))
		}
	}
	return false, errors.Join(errs...)
}

// splitRule splits an iptables-save rule into arguments, undoing its
// double quotes and backslash escapes.
func splitRule(r string) []string {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c == '\\' && i+1 < len(r):
			i++
			cur.WriteByte(r[i])
			inArg = true
		case c == '"':
			quoted = !quoted
			inArg = true
		case c == ' ' && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}
