package ssmserver

import (
	"crypto/sha256"
	"fmt"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Limits of CreateActivation's fields, from SSM's model.
const (
	maxRegistrationLimit = 1000
	maxIamRoleLength     = 64
	maxNameLength        = 256
	maxDescriptionLength = 256
	maxTags              = 1000
)

// createActivation makes an activation and gives out its code, the only
// time the code is seen.
func (s *Server) createActivation(c *call) (any, error) {
	var in createActivationInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	a := activation{
		ActivationId:        newUUID(),
		IamRole:             in.IamRole,
		DefaultInstanceName: in.DefaultInstanceName,
		Description:         in.Description,
		RegistrationLimit:   1,
		ExpirationDate:      c.now.Add(defaultActivationTTL),
		CreatedDate:         c.now,
		Tags:                in.Tags,
	}
	if in.RegistrationLimit != nil {
		a.RegistrationLimit = *in.RegistrationLimit
	}
	if in.ExpirationDate != nil && !in.ExpirationDate.IsZero() {
		a.ExpirationDate = in.ExpirationDate.UTC()
	}
	if err := validateActivation(a, c); err != nil {
		return nil, err
	}
	code := newActivationCode()
	sum := sha256.Sum256([]byte(code))
	a.CodeSHA256 = sum[:]
	if err := s.db.Update(func(tx *bolt.Tx) error { return putActivation(tx, a) }); err != nil {
		return nil, fmt.Errorf("save activation %s: %w", a.ActivationId, err)
	}
	c.log.Info("created activation", logKeyActivation, a.ActivationId, "role", a.IamRole,
		"limit", a.RegistrationLimit, "expires", a.ExpirationDate)
	return createActivationOutput{ActivationId: a.ActivationId, ActivationCode: wire.Secret(code)}, nil
}

func validateActivation(a activation, c *call) error {
	switch {
	case a.IamRole == "":
		return badRequest(codeValidation, "1 validation error detected: Value null at 'iamRole' failed to satisfy constraint: Member must not be null")
	case len(a.IamRole) > maxIamRoleLength:
		return badRequest(codeValidation, "Value at 'iamRole' failed to satisfy constraint: Member must have length less than or equal to %d", maxIamRoleLength)
	case a.RegistrationLimit < 1 || a.RegistrationLimit > maxRegistrationLimit:
		return badRequest(codeValidation, "Value '%d' at 'registrationLimit' failed to satisfy constraint: Member must have value between 1 and %d", a.RegistrationLimit, maxRegistrationLimit)
	case !a.ExpirationDate.After(c.now):
		return badRequest(codeValidation, "ExpirationDate %s is not in the future", a.ExpirationDate.Format("2006-01-02T15:04:05Z07:00"))
	case a.ExpirationDate.After(c.now.Add(maxActivationTTL)):
		return badRequest(codeValidation, "ExpirationDate %s is more than 30 days away", a.ExpirationDate.Format("2006-01-02T15:04:05Z07:00"))
	case len(a.DefaultInstanceName) > maxNameLength:
		return badRequest(codeValidation, "Value at 'defaultInstanceName' failed to satisfy constraint: Member must have length less than or equal to %d", maxNameLength)
	case len(a.Description) > maxDescriptionLength:
		return badRequest(codeValidation, "Value at 'description' failed to satisfy constraint: Member must have length less than or equal to %d", maxDescriptionLength)
	case len(a.Tags) > maxTags:
		return badRequest(codeValidation, "Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", maxTags)
	}
	for i, t := range a.Tags {
		if t.Key == "" {
			return badRequest(codeValidation, "Value null at 'tags.%d.member.key' failed to satisfy constraint: Member must not be null", i+1)
		}
	}
	return nil
}
