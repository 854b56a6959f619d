package network

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

// Setup gives container id a network in mode with ports mapped from the
// host. Bridge and none modes create a namespace at Attachment.NetNSPath;
// host mode creates nothing and reports each port on itself. A host port
// that cannot be had fails with ErrPortUnavailable; on any failure nothing
// is left behind.
func (m *Manager) Setup(ctx context.Context, id string, mode Mode, ports []PortMapping) (*Attachment, error) {
	if !validID(id) {
		return nil, fmt.Errorf("network setup %q: bad id: %w", id, ErrInvalid)
	}
	reqs, err := parseMappings(ports)
	if err != nil {
		return nil, fmt.Errorf("network setup %s: %w", id, err)
	}
	switch mode {
	case ModeHost:
		return hostAttachment(id, reqs)
	case ModeNone:
		if len(reqs) > 0 {
			return nil, fmt.Errorf("network setup %s: port mappings need bridge or host mode: %w", id, ErrInvalid)
		}
	case ModeBridge:
	default:
		return nil, fmt.Errorf("network setup %s: network mode %q: %w", id, mode, ErrInvalid)
	}

	unlock := m.lockID(id)
	defer unlock()
	if _, ok, err := m.records.get(id); err != nil {
		return nil, fmt.Errorf("network setup %s: %w", id, err)
	} else if ok {
		return nil, fmt.Errorf("network setup %s: %w", id, ErrExists)
	}

	rec := record{ID: id, Mode: mode, NetNS: filepath.Join(m.cfg.NetNSDir, id)}
	m.mu.Lock()
	hosts, err := m.ports.claim(id, reqs)
	m.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("network setup %s: %w", id, err)
	}
	for i, r := range reqs {
		for k := range r.container.len() {
			rec.PortMappings = append(rec.PortMappings, cniPortMapping{
				HostPort:      hosts[i].first + k,
				ContainerPort: r.container.first + k,
				Protocol:      r.proto,
				HostIP:        r.hostIP,
			})
		}
		rec.Bindings = append(rec.Bindings, r.binding(hosts[i]))
	}
	// Persist before creating anything, so that Cleanup finds whatever a
	// crash in the middle leaves.
	if err := m.records.put(rec); err != nil {
		m.mu.Lock()
		m.ports.release(id)
		m.mu.Unlock()
		return nil, fmt.Errorf("network setup %s: %w", id, err)
	}

	if err := m.attach(ctx, &rec); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if derr := m.teardown(cctx, rec); derr != nil {
			m.log.Error("undo failed network setup", logID, id, logErr, derr)
			err = errors.Join(err, fmt.Errorf("undo: %w", derr))
		}
		return nil, fmt.Errorf("network setup %s: %w", id, err)
	}
	m.log.Info("network attached", logID, id, logMode, mode, logNetNS, rec.NetNS, logIPv4, rec.IPv4)
	return &Attachment{Mode: mode, NetNSPath: rec.NetNS, IPv4: rec.IPv4, Bindings: rec.Bindings}, nil
}

// attach creates rec's namespace and runs CNI ADD in it.
func (m *Manager) attach(ctx context.Context, rec *record) error {
	if err := removeNetNS(rec.NetNS); err != nil { // a stray from before a crash
		return err
	}
	if err := createNetNS(rec.NetNS); err != nil {
		return err
	}
	if rec.Mode == ModeNone {
		return nil
	}
	res, err := m.cniAdd(ctx, rec.ID, rec.NetNS, portOpts(*rec)...)
	if err != nil {
		return fmt.Errorf("cni add: %w", err)
	}
	if eth := res.Interfaces[ifName]; eth != nil {
		for _, ipc := range eth.IPConfigs {
			if ip4 := ipc.IP.To4(); ip4 != nil {
				rec.IPv4 = ip4.String()
				break
			}
		}
	}
	if rec.IPv4 == "" {
		return fmt.Errorf("cni add: %w on %s", errNoIPv4, ifName)
	}
	return m.records.put(*rec)
}

// hostAttachment reports host mode's ports: each on itself.
func hostAttachment(id string, reqs []request) (*Attachment, error) {
	a := &Attachment{Mode: ModeHost, HostNetwork: true}
	for _, r := range reqs {
		if r.hostPort != 0 && r.hostPort != r.container.first {
			return nil, fmt.Errorf("network setup %s: host mode maps container port %d to itself, not to %d: %w",
				id, r.container.first, r.hostPort, ErrInvalid)
		}
		a.Bindings = append(a.Bindings, r.binding(r.container))
	}
	return a, nil
}
