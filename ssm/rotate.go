package ssm

import (
	"context"
	"crypto/rsa"
	"fmt"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// rotate replaces the instance's RSA key, robust to a lost answer and to a
// failed save:
//
//  1. make a key; UpdateManagedInstancePublicKey, signed with the old key;
//  2. if that fails, probe RequestManagedInstanceRoleToken: the old key still
//     works → SSM refused, keep it; the new key works → the update landed,
//     go on; neither → fail, keeping the old key;
//  3. use the new key and save it in the vault;
//  4. if the save fails, put the old public key back (signed with the new
//     key) and use the old key again; if that fails too, keep the new key in
//     memory and retry the save from Run (ErrKeyNotSaved).
//
// The caller holds fetch.
func (p *Provider) rotate(ctx context.Context) error {
	p.mu.Lock()
	oldKey, oldCreated := p.key, p.keyCreated
	p.mu.Unlock()
	newKey, err := p.newKey()
	if err != nil {
		return err
	}
	newPub, err := encodePublicKey(newKey)
	if err != nil {
		return err
	}
	oldPub, err := encodePublicKey(oldKey)
	if err != nil {
		return err
	}

	if err := p.updatePublicKey(ctx, oldKey, newPub); err != nil {
		if _, perr := p.requestToken(ctx, oldKey); perr == nil {
			return fmt.Errorf("SSM did not take the new key, keeping the current one: %w", err)
		}
		if _, perr := p.requestToken(ctx, newKey); perr != nil {
			return fmt.Errorf("update public key: %w (and neither key works now: %v)", err, perr)
		}
		p.log.Warn("the key update reached SSM although its answer was lost")
	}

	now := p.clock.Now()
	p.setKey(newKey, now)
	if err := p.vault.storeKey(newKey, now); err != nil {
		if rerr := p.updatePublicKey(ctx, newKey, oldPub); rerr != nil {
			p.mu.Lock()
			p.keyUnsaved = true
			p.mu.Unlock()
			return fmt.Errorf("save rotated key: %w; put old key back in SSM: %v: %w", err, rerr, ErrKeyNotSaved)
		}
		p.setKey(oldKey, oldCreated)
		return fmt.Errorf("save rotated key (the old key is back in use): %w", err)
	}
	p.log.Info("rotated the managed instance's RSA key")
	return nil
}

func (p *Provider) setKey(k *rsa.PrivateKey, created time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.key, p.keyCreated = k, created
}

// saveUnsavedKey retries saving a rotated key that SSM already holds.
func (p *Provider) saveUnsavedKey() error {
	p.mu.Lock()
	k, created := p.key, p.keyCreated
	p.mu.Unlock()
	if err := p.vault.storeKey(k, created); err != nil {
		return fmt.Errorf("save rotated key: %w: %w", err, ErrKeyNotSaved)
	}
	p.mu.Lock()
	p.keyUnsaved = false
	p.mu.Unlock()
	p.log.Info("saved the rotated RSA key")
	return nil
}

// updatePublicKey calls UpdateManagedInstancePublicKey signed with key.
func (p *Provider) updatePublicKey(ctx context.Context, key *rsa.PrivateKey, newPub string) error {
	s := rsaSigner{instanceID: p.instanceID, region: p.region, key: key}
	in := wire.UpdateManagedInstancePublicKeyInput{NewPublicKey: newPub, NewPublicKeyType: wire.PublicKeyTypeRsa}
	return p.client.call(ctx, wire.TargetUpdateManagedInstancePublicKey, in, nil, s.sign)
}
