package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// Network is what the engine needs of task networking.
type Network interface {
	Setup(ctx context.Context, id string, mode network.Mode, ports []network.PortMapping) (*network.Attachment, error)
	Teardown(ctx context.Context, id string) error
	Cleanup(ctx context.Context, keep func(id string) bool) error
}

// networkMode is the task's mode; ECS's default for external instances
// is bridge.
func networkMode(t *task.Task) network.Mode {
	switch t.Def.NetworkMode {
	case acs.NetworkModeHost:
		return network.ModeHost
	case acs.NetworkModeNone:
		return network.ModeNone
	}
	return network.ModeBridge
}

// attach prepares the container's network (one namespace per container,
// as ECS bridge mode) and records its port bindings. It returns the
// namespace to join, "" for host mode or when networking is off.
func (w *worker) attach(ctx context.Context, c *task.Container, id string) (string, error) {
	if w.e.cfg.Network == nil {
		return "", nil
	}
	mode := networkMode(w.t)
	if mode == network.ModeNone {
		return "", nil // the runtime gives the container a namespace with only loopback
	}
	var ports []network.PortMapping
	for _, p := range c.Def.PortMappings {
		pm := network.PortMapping{ContainerPortRange: p.ContainerPortRange, Protocol: p.Protocol}
		if p.ContainerPort != nil {
			pm.ContainerPort = int(*p.ContainerPort)
		}
		if p.HostPort != nil {
			pm.HostPort = int(*p.HostPort)
		}
		ports = append(ports, pm)
	}
	att, err := w.e.cfg.Network.Setup(ctx, id, mode, ports)
	if errors.Is(err, network.ErrExists) {
		// Left by a crash between setup and create: start afresh.
		if err := w.e.cfg.Network.Teardown(ctx, id); err != nil {
			return "", err
		}
		att, err = w.e.cfg.Network.Setup(ctx, id, mode, ports)
	}
	if err != nil {
		return "", err
	}
	var bindings []task.NetworkBinding
	for _, b := range att.Bindings {
		bindings = append(bindings, task.NetworkBinding{
			BindIP: b.BindIP, ContainerPort: b.ContainerPort, HostPort: b.HostPort, Protocol: b.Protocol,
			ContainerPortRange: b.ContainerPortRange, HostPortRange: b.HostPortRange,
		})
	}
	w.edit(func(*task.Task) { c.NetworkBindings, c.IPv4Address = bindings, att.IPv4 })
	w.ips[c.Name] = att.IPv4
	return att.NetNSPath, nil
}

// links resolves the container's links to /etc/hosts entries for the
// linked containers' addresses.
func (w *worker) links(c *task.Container) []linkHost {
	var out []linkHost
	for _, l := range c.Def.Links {
		name, alias, _ := strings.Cut(l, ":")
		ip := w.ips[name]
		if ip == "" {
			continue
		}
		out = append(out, linkHost{name: name, ip: ip})
		if alias != "" && alias != name {
			out = append(out, linkHost{name: alias, ip: ip})
		}
	}
	return out
}

type linkHost struct{ name, ip string }

// detach releases a stopped container's network.
func (w *worker) detach(c *task.Container) {
	if w.e.cfg.Network == nil || c.RuntimeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.e.cfg.Network.Teardown(ctx, c.RuntimeID); err != nil {
		w.log.Warn("release container network", "container", c.Name, "error", err)
	}
}

// cleanupNetworks releases every network attachment whose container is
// not running, after an agent crash.
func (e *Engine) cleanupNetworks(ctx context.Context, live map[string]bool) error {
	if e.cfg.Network == nil {
		return nil
	}
	if err := e.cfg.Network.Cleanup(ctx, func(id string) bool { return live[id] }); err != nil {
		return fmt.Errorf("clean up networks: %w", err)
	}
	return nil
}
