package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Cleanup tears down every attachment a previous run left (those New
// found) whose id keep rejects: their containers are gone. It also frees
// address leases that have no attachment at all. ecsd calls it at start,
// after adopting its containers; attachments this Manager set up are not
// its business. It tries every attachment and returns every failure.
func (m *Manager) Cleanup(ctx context.Context, keep func(id string) bool) error {
	var errs []error
	for _, id := range m.previous {
		if keep(id) {
			continue
		}
		if err := m.Teardown(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	leases, err := m.leaseOwners()
	if err != nil {
		errs = append(errs, err)
	}
	for _, id := range leases {
		if keep(id) {
			continue
		}
		if err := m.freeLease(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network cleanup: %w", err)
	}
	return nil
}

// leaseOwners lists the container ids host-local holds addresses for. Each
// lease is a file named by the address whose first line is the id.
func (m *Manager) leaseOwners() ([]string, error) {
	dir := filepath.Join(m.ipamDir, m.cfg.BridgeName)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list address leases: %w", err)
	}
	seen := map[string]bool{}
	var ids []string
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), "last_reserved_ip") || e.Name() == "lock" {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // released meanwhile
		}
		sc := bufio.NewScanner(f)
		sc.Scan()
		id := strings.TrimSpace(sc.Text())
		f.Close()
		if validID(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// freeLease undoes an attachment whose record was lost but whose address
// lease remains: CNI DEL, in its namespace if that is still there, then the
// namespace. The port claims went with the record.
func (m *Manager) freeLease(ctx context.Context, id string) error {
	unlock := m.lockID(id)
	defer unlock()
	if _, ok, err := m.records.get(id); err != nil || ok {
		return err // a Setup made it meanwhile
	}
	ns := filepath.Join(m.cfg.NetNSDir, id)
	path := ns
	if !isNetNS(path) {
		path = ""
	}
	// portmap's DEL does nothing without port mappings, but then removes
	// the container's rules by its id whatever the mappings say: give it
	// one.
	anyPort := portOpts(record{PortMappings: []cniPortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "tcp"}}})
	if err := m.cniDel(ctx, id, path, anyPort...); err != nil {
		return fmt.Errorf("free address lease of %s: %w", id, err)
	}
	if err := removeNetNS(ns); err != nil {
		return err
	}
	m.log.Info("freed address lease without attachment", logID, id)
	return nil
}
