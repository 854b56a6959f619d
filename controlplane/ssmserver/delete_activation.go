package ssmserver

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// deleteActivation removes an activation, so nothing more can register with
// it; instances that did stay registered.
func (s *Server) deleteActivation(c *call) (any, error) {
	var in deleteActivationInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if !activationIDPattern.MatchString(in.ActivationId) {
		return nil, badRequest(codeInvalidActivationID, "The activation ID %q is not valid.", in.ActivationId)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if _, ok, err := getActivation(tx, in.ActivationId); err != nil {
			return err
		} else if !ok {
			return badRequest(wire.ErrCodeInvalidActivation, "Activation %s does not exist.", in.ActivationId)
		}
		return tx.Bucket(bucketActivations).Delete([]byte(in.ActivationId))
	})
	if err != nil {
		return nil, fmt.Errorf("delete activation %s: %w", in.ActivationId, err)
	}
	c.log.Info("deleted activation", logKeyActivation, in.ActivationId)
	return emptyOutput{}, nil
}
