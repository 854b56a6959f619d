package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Task endpoint redirection, as ecs-init installs it (ecs-agent-protocol.md
// §4.1): tasks reach the agent's task endpoint at 169.254.170.2:80, which
// the host sends to the endpoint's loopback listener.
//
//	nat    PREROUTING -d 169.254.170.2/32 -p tcp --dport 80 -j CHAIN   (bridge containers)
//	nat    OUTPUT     -d 169.254.170.2/32 -p tcp --dport 80 -j CHAIN   (host network; optional)
//	nat    CHAIN      -j DNAT --to-destination 127.0.0.1:51679
//	filter INPUT      -d 127.0.0.0/8 -j CHAIN
//	filter CHAIN      ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
//	sysctl net.ipv4.conf.all.route_localnet=1 (DNAT to 127.0.0.1 from a bridge)
//
// Everything lives in one chain name per table, so removal is: delete the
// jumps, flush and delete the chains, restore route_localnet. The DROP rule
// keeps route_localnet from opening the host's loopback services to the
// network: only DNAT'd traffic may reach 127.0.0.0/8 from outside it.

// Defaults of RedirectConfig.
const (
	DefaultRedirectChain = "ECSD-TASK-ENDPOINTS"
)

// DefaultTaskEndpoint is where tasks reach the task endpoint.
var DefaultTaskEndpoint = netip.MustParseAddrPort("169.254.170.2:80")

// RedirectConfig says what to redirect where.
type RedirectConfig struct {
	// Chain names ecsd's chain in the nat and filter tables (at most 28
	// characters); default DefaultRedirectChain. Two ecsd on one host need
	// two chains, and only one of them can own the task endpoint address.
	Chain string
	// Service is the address tasks connect to; default 169.254.170.2:80.
	Service netip.AddrPort
	// Target is the task endpoint's listener, a loopback IPv4 address.
	Target netip.AddrPort
	// HostNetwork also redirects connections made on the host itself
	// (host-network tasks; ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST).
	HostNetwork bool
	// StateFile keeps route_localnet's value from before ecsd changed it,
	// so that a crashed ecsd's successor still restores the original.
	// Empty: only kept in memory.
	StateFile string
	Log       *slog.Logger
}

// Redirect is an installed redirection; Remove undoes it.
type Redirect struct {
	cfg      RedirectConfig
	oldLocal string // route_localnet before Install
}

const routeLocalnet = "/proc/sys/net/ipv4/conf/all/route_localnet"

// InstallRedirect installs the redirection, first removing whatever a
// previous run with the same chain left (so a crash's leftovers are
// replaced, not duplicated).
func InstallRedirect(ctx context.Context, cfg RedirectConfig) (*Redirect, error) {
	if cfg.Chain == "" {
		cfg.Chain = DefaultRedirectChain
	}
	if !cfg.Service.IsValid() {
		cfg.Service = DefaultTaskEndpoint
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case len(cfg.Chain) > 28 || strings.ContainsAny(cfg.Chain, " \t!"):
		return nil, fmt.Errorf("redirect chain %q: want at most 28 characters without spaces", cfg.Chain)
	case !cfg.Target.IsValid() || !cfg.Target.Addr().Is4() || !cfg.Target.Addr().IsLoopback() || cfg.Target.Port() == 0:
		return nil, fmt.Errorf("redirect target %s: want a loopback IPv4 address and a port", cfg.Target)
	case !cfg.Service.Addr().Is4():
		return nil, fmt.Errorf("redirect service address %s: want IPv4", cfg.Service)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("task endpoint redirect needs iptables: %w", err)
	}
	r := &Redirect{cfg: cfg}
	old, err := r.originalLocalnet()
	if err != nil {
		return nil, err
	}
	r.oldLocal = old
	if err := r.removeRules(ctx); err != nil {
		return nil, fmt.Errorf("remove old redirect: %w", err)
	}
	if err := r.install(ctx); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		return nil, errors.Join(err, r.Remove(rctx))
	}
	cfg.Log.Info("task endpoint redirect installed", "service", cfg.Service, "target", cfg.Target,
		"chain", cfg.Chain, "hostNetwork", cfg.HostNetwork)
	return r, nil
}

// originalLocalnet reads route_localnet's original value: the state file's
// if a previous run left one, else the current value, which it records.
func (r *Redirect) originalLocalnet() (string, error) {
	if f := r.cfg.StateFile; f != "" {
		if b, err := os.ReadFile(f); err == nil {
			if v := strings.TrimSpace(string(b)); v == "0" || v == "1" {
				return v, nil
			}
		}
	}
	b, err := os.ReadFile(routeLocalnet)
	if err != nil {
		return "", fmt.Errorf("read route_localnet: %w", err)
	}
	v := strings.TrimSpace(string(b))
	if f := r.cfg.StateFile; f != "" {
		if err := os.MkdirAll(filepath.Dir(f), 0o700); err != nil {
			return "", err
		}
		if err := os.WriteFile(f, []byte(v+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("record route_localnet: %w", err)
		}
	}
	return v, nil
}

func (r *Redirect) jumps() [][]string {
	svc := []string{"-d", r.cfg.Service.Addr().String() + "/32", "-p", "tcp", "--dport", strconv.Itoa(int(r.cfg.Service.Port())), "-j", r.cfg.Chain}
	js := [][]string{append([]string{"-t", "nat", "PREROUTING"}, svc...)}
	js = append(js, append([]string{"-t", "nat", "OUTPUT"}, svc...))
	js = append(js, []string{"-t", "filter", "INPUT", "-d", "127.0.0.0/8", "-j", r.cfg.Chain})
	return js
}

func (r *Redirect) install(ctx context.Context) error {
	c := r.cfg.Chain
	steps := [][]string{
		{"-t", "nat", "-N", c},
		{"-t", "nat", "-A", c, "-p", "tcp", "-j", "DNAT", "--to-destination", r.cfg.Target.String()},
		{"-t", "filter", "-N", c},
		{"-t", "filter", "-A", c, "!", "-s", "127.0.0.0/8", "-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP"},
	}
	for _, j := range r.jumps() {
		if j[2] == "OUTPUT" && !r.cfg.HostNetwork {
			continue
		}
		steps = append(steps, append([]string{j[0], j[1], "-I", j[2], "1"}, j[3:]...))
	}
	for _, s := range steps {
		if err := iptables(ctx, s...); err != nil {
			return err
		}
	}
	if err := os.WriteFile(routeLocalnet, []byte("1"), 0o644); err != nil {
		return fmt.Errorf("set route_localnet: %w", err)
	}
	return nil
}

// Remove deletes the rules and chains and restores route_localnet.
func (r *Redirect) Remove(ctx context.Context) error {
	err := r.removeRules(ctx)
	if r.oldLocal != "" {
		if werr := os.WriteFile(routeLocalnet, []byte(r.oldLocal), 0o644); werr != nil {
			err = errors.Join(err, fmt.Errorf("restore route_localnet: %w", werr))
		} else if r.cfg.StateFile != "" {
			os.Remove(r.cfg.StateFile)
		}
	}
	if err == nil {
		r.cfg.Log.Info("task endpoint redirect removed", "chain", r.cfg.Chain)
	}
	return err
}

// removeRules deletes every jump to the chain (however many a crash left)
// and the chains themselves; what is absent is fine.
func (r *Redirect) removeRules(ctx context.Context) error {
	var errs []error
	for _, j := range r.jumps() {
		rule := append([]string{j[0], j[1], "-D", j[2]}, j[3:]...)
		check := append([]string{j[0], j[1], "-C", j[2]}, j[3:]...)
		for range 100 {
			if iptables(ctx, check...) != nil {
				break
			}
			if err := iptables(ctx, rule...); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	for _, table := range []string{"nat", "filter"} {
		if iptables(ctx, "-t", table, "-n", "-L", r.cfg.Chain) != nil {
			continue // no such chain
		}
		if err := iptables(ctx, "-t", table, "-F", r.cfg.Chain); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := iptables(ctx, "-t", table, "-X", r.cfg.Chain); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func iptables(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "iptables", append([]string{"-w", "5"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// RemoveRedirect removes what InstallRedirect with cfg (Chain, Service,
// StateFile) installed, without the Redirect it returned: after a crash,
// or in a test's clean-up. route_localnet is restored only from the state
// file, when there is one.
func RemoveRedirect(ctx context.Context, cfg RedirectConfig) error {
	if cfg.Chain == "" {
		cfg.Chain = DefaultRedirectChain
	}
	if !cfg.Service.IsValid() {
		cfg.Service = DefaultTaskEndpoint
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Redirect{cfg: cfg}
	if cfg.StateFile != "" {
		if b, err := os.ReadFile(cfg.StateFile); err == nil {
			if v := strings.TrimSpace(string(b)); v == "0" || v == "1" {
				r.oldLocal = v
			}
		}
	}
	return r.Remove(ctx)
}
