package network

import (
	"context"
	"fmt"
)

// Teardown removes id's attachment: CNI DEL with the port mappings it was
// set up with, then the namespace, the record and the port claims. An id
// with no attachment (already torn down, host mode) is not an error. On
// error the record stays, so a later Teardown or Cleanup tries again.
func (m *Manager) Teardown(ctx context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("network teardown %q: bad id: %w", id, ErrInvalid)
	}
	unlock := m.lockID(id)
	defer unlock()
	rec, ok, err := m.records.get(id)
	if err != nil {
		return fmt.Errorf("network teardown %s: %w", id, err)
	}
	if !ok {
		return nil
	}
	if err := m.teardown(ctx, rec); err != nil {
		return fmt.Errorf("network teardown %s: %w", id, err)
	}
	m.log.Info("network detached", logID, id, logMode, rec.Mode)
	return nil
}

// teardown undoes rec; the caller holds rec.ID's lock.
func (m *Manager) teardown(ctx context.Context, rec record) error {
	if rec.Mode == ModeBridge {
		// DEL in the namespace while it lives: the bridge plugin finds the
		// container's address, and so its masquerade rule, there. Without
		// it (after a reboot) DEL still frees the lease and the port rules.
		path := rec.NetNS
		if !isNetNS(path) {
			path = ""
		}
		err := m.cniDel(ctx, rec.ID, path, portOpts(rec)...)
		if err != nil && path != "" && ctx.Err() == nil {
			// The bridge plugin's DEL fails when the masquerade chain is
			// gone (a firewall reload, an admin's iptables -F): it has
			// removed the veth, then tries to delete a jump to a chain
			// that does not exist. Without the namespace it skips that
			// part (the jump cannot exist without its chain) and the rest
			// of DEL is idempotent.
			m.log.Warn("cni del failed; again without the namespace", logID, rec.ID, logErr, err)
			err = m.cniDel(ctx, rec.ID, "", portOpts(rec)...)
		}
		if err != nil {
			return fmt.Errorf("cni del: %w", err)
		}
	}
	if err := removeNetNS(rec.NetNS); err != nil {
		return err
	}
	if err := m.records.remove(rec.ID); err != nil {
		return err
	}
	m.mu.Lock()
	m.ports.release(rec.ID)
	m.mu.Unlock()
	return nil
}
