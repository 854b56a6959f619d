package ssmserver

import (
	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// authenticateInstance checks an RSA-signed call: the time of its signature
// (before anything else, so that a client with a wrong clock learns it from
// the answer's Date header whatever else is wrong), that the instance named
// in its credential is registered, and its signature against that
// instance's current public key. It returns the instance as stored.
func authenticateInstance(tx *bolt.Tx, c *call, region string) (instance, error) {
	a, err := parseRSAAuth(c.r.Header, region)
	if err != nil {
		return instance{}, err
	}
	if err := checkSkew(a, c.now); err != nil {
		return instance{}, err
	}
	inst, ok, err := getInstance(tx, a.instanceID)
	if err != nil {
		return instance{}, err
	}
	if !ok {
		return instance{}, invalidInstanceID(a.instanceID)
	}
	der, err := decodePublicKeyDER(inst.PublicKey)
	if err != nil {
		return instance{}, err
	}
	pub, err := rsaKey(der)
	if err != nil {
		return instance{}, err
	}
	if err := verifyRSA(c.r, c.body, a, pub); err != nil {
		return instance{}, err
	}
	return inst, nil
}

func invalidInstanceID(id string) *apiError {
	return badRequest(wire.ErrCodeInvalidInstanceId, "Instance Id %s is not valid or is not registered.", id)
}
