package ssmserver

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// registerManagedInstance makes a managed instance of the caller, which
// proves itself with an activation's id and code only (the call is not
// signed). The code is checked before anything about the activation is
// told, so a caller without it learns nothing. The count of registrations
// goes up in the same transaction as the instance is written.
func (s *Server) registerManagedInstance(c *call) (any, error) {
	var in wire.RegisterManagedInstanceInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if in.Fingerprint == "" {
		return nil, badRequest(codeValidation, "1 validation error detected: Value null at 'fingerprint' failed to satisfy constraint: Member must not be null")
	}
	_, der, err := parsePublicKey(in.PublicKey, in.PublicKeyType)
	if err != nil {
		return nil, err
	}
	var inst instance
	err = s.db.Update(func(tx *bolt.Tx) error {
		a, ok, err := getActivation(tx, in.ActivationId)
		if err != nil {
			return err
		}
		if !ok || !sameSecret(string(in.ActivationCode), a.CodeSHA256) {
			return badRequest(wire.ErrCodeInvalidActivation, "Activation ID or activation code is not valid.")
		}
		if a.expired(c.now) {
			return badRequest(wire.ErrCodeActivationExpired, "Activation %s expired at %s.", a.ActivationId, a.ExpirationDate.Format("2006-01-02T15:04:05Z"))
		}
		if a.RegistrationsCount >= a.RegistrationLimit {
			return badRequest(wire.ErrCodeRegistrationLimitExceeded, "Activation %s has reached its registration limit of %d.", a.ActivationId, a.RegistrationLimit)
		}
		if holder := keyHolder(tx, der); holder != "" {
			return badRequest(wire.ErrCodeInstanceAlreadyRegistered, "An instance is already registered with this public key.")
		}
		id, err := unusedInstanceID(tx)
		if err != nil {
			return err
		}
		inst = instance{
			InstanceId:       id,
			ActivationId:     a.ActivationId,
			IamRole:          a.IamRole,
			Name:             a.DefaultInstanceName,
			PublicKey:        in.PublicKey,
			KeyRegistered:    c.now,
			Fingerprint:      in.Fingerprint,
			RegistrationDate: c.now,
			LastPingDateTime: c.now,
			IPAddress:        remoteIP(c.r),
			AgentVersion:     agentVersion(c.r.UserAgent()),
		}
		a.RegistrationsCount++
		if err := putActivation(tx, a); err != nil {
			return err
		}
		if err := putInstance(tx, inst); err != nil {
			return err
		}
		return setKey(tx, id, nil, der)
	})
	if err != nil {
		return nil, fmt.Errorf("register with activation %s: %w", in.ActivationId, err)
	}
	c.log.Info("registered managed instance", logKeyInstance, inst.InstanceId, logKeyActivation, inst.ActivationId)
	return wire.RegisterManagedInstanceOutput{InstanceId: inst.InstanceId}, nil
}

// unusedInstanceID draws instance ids until one is free.
func unusedInstanceID(tx *bolt.Tx) (string, error) {
	for range 10 {
		id := newInstanceID()
		if tx.Bucket(bucketInstances).Get([]byte(id)) == nil {
			return id, nil
		}
	}
	return "", fmt.Errorf("no free instance id after 10 draws")
}
