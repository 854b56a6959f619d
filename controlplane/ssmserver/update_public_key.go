package ssmserver

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// updateManagedInstancePublicKey replaces an instance's key with the one in
// the request, which is signed with the current key; from then on only the
// new key verifies.
func (s *Server) updateManagedInstancePublicKey(c *call) (any, error) {
	var id string
	err := s.db.Update(func(tx *bolt.Tx) error {
		inst, err := authenticateInstance(tx, c, s.cfg.Region)
		if err != nil {
			return err
		}
		id = inst.InstanceId
		var in wire.UpdateManagedInstancePublicKeyInput
		if err := c.decode(&in); err != nil {
			return err
		}
		_, newDER, err := parsePublicKey(in.NewPublicKey, in.NewPublicKeyType)
		if err != nil {
			return err
		}
		oldDER, err := decodePublicKeyDER(inst.PublicKey)
		if err != nil {
			return err
		}
		if bytes.Equal(oldDER, newDER) || keyHolder(tx, newDER) != "" {
			return badRequest(wire.ErrCodePublicKeyAlreadyRegistered, "The public key is already registered.")
		}
		inst.PublicKey = in.NewPublicKey
		inst.KeyRegistered = c.now
		if err := putInstance(tx, inst); err != nil {
			return err
		}
		return setKey(tx, inst.InstanceId, oldDER, newDER)
	})
	if err != nil {
		return nil, fmt.Errorf("update public key: %w", err)
	}
	c.log.Info("replaced managed instance key", logKeyInstance, id)
	return emptyOutput{}, nil
}
