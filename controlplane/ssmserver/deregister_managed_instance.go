package ssmserver

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// deregisterManagedInstance forgets a managed instance: its key no longer
// verifies and its token requests get InvalidInstanceId. An admin may
// deregister any instance, an instance only itself.
func (s *Server) deregisterManagedInstance(c *call, principal string) (any, error) {
	var in deregisterManagedInstanceInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if !instanceIDPattern.MatchString(in.InstanceId) {
		return nil, invalidInstanceID(in.InstanceId)
	}
	if self, ok := s.instanceOf(principal); ok && self != in.InstanceId {
		return nil, accessDenied(principal, c.op, in.InstanceId)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		inst, ok, err := getInstance(tx, in.InstanceId)
		if err != nil {
			return err
		}
		if !ok {
			return invalidInstanceID(in.InstanceId)
		}
		return deleteInstance(tx, inst)
	})
	if err != nil {
		return nil, fmt.Errorf("deregister %s: %w", in.InstanceId, err)
	}
	c.log.Info("deregistered managed instance", logKeyInstance, in.InstanceId)
	return emptyOutput{}, nil
}
