package ssmserver

import (
	"fmt"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// requestManagedInstanceRoleToken gives a managed instance its role's
// credentials, minted by Config.Issue for the instance's principal. The
// call counts as the instance's ping. UpdateKeyPair asks the instance to
// rotate its key once the key is older than Config.RotateKeyAfter.
func (s *Server) requestManagedInstanceRoleToken(c *call) (any, error) {
	var inst instance
	var rotate bool
	err := s.db.Update(func(tx *bolt.Tx) error {
		var err error
		inst, err = authenticateInstance(tx, c, s.cfg.Region)
		if err != nil {
			return err
		}
		var in wire.RequestManagedInstanceRoleTokenInput
		if err := c.decode(&in); err != nil {
			return err
		}
		if in.Fingerprint != inst.Fingerprint {
			return badRequest(wire.ErrCodeMachineFingerprintDoesNotMatch, "Fingerprint %q does not match the one instance %s registered with.", in.Fingerprint, inst.InstanceId)
		}
		rotate = s.cfg.RotateKeyAfter > 0 && c.now.Sub(inst.KeyRegistered) >= s.cfg.RotateKeyAfter
		inst.LastPingDateTime = c.now
		inst.IPAddress = remoteIP(c.r)
		if v := agentVersion(c.r.UserAgent()); v != "" {
			inst.AgentVersion = v
		}
		return putInstance(tx, inst)
	})
	if err != nil {
		return nil, err
	}
	principal := s.principal(inst.IamRole, inst.InstanceId)
	akid, secret, token, expires, err := s.cfg.Issue(principal, s.cfg.RoleCredentialsTTL)
	if err != nil {
		return nil, fmt.Errorf("issue credentials for %s: %w", principal, err)
	}
	c.log.Debug("issued role credentials", logKeyInstance, inst.InstanceId, logKeyPrincipal, principal, "expires", expires, "update_key_pair", rotate)
	return wire.RequestManagedInstanceRoleTokenOutput{
		AccessKeyId:         akid,
		SecretAccessKey:     wire.Secret(secret),
		SessionToken:        wire.Secret(token),
		TokenExpirationDate: wire.Timestamp{Time: expires},
		UpdateKeyPair:       rotate,
	}, nil
}
