package ssmserver

import (
	"slices"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Page sizes of the Describe calls, from SSM's model.
const (
	maxPageSize           = 50
	minActivationPageSize = 1
	minInstancePageSize   = 5
)

// describeActivations lists activations, expired ones included, optionally
// filtered by ActivationIds, DefaultInstanceName or IamRole.
func (s *Server) describeActivations(c *call) (any, error) {
	var in describeActivationsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	limit, err := pageSize(in.MaxResults, minActivationPageSize)
	if err != nil {
		return nil, err
	}
	for _, f := range in.Filters {
		switch f.FilterKey {
		case "ActivationIds", "DefaultInstanceName", "IamRole":
		default:
			return nil, badRequest(codeInvalidFilter, "The filter key %q is not valid; use ActivationIds, DefaultInstanceName or IamRole", f.FilterKey)
		}
	}
	match := func(a activation) bool {
		for _, f := range in.Filters {
			var v string
			switch f.FilterKey {
			case "ActivationIds":
				v = a.ActivationId
			case "DefaultInstanceName":
				v = a.DefaultInstanceName
			case "IamRole":
				v = a.IamRole
			}
			if len(f.FilterValues) > 0 && !slices.Contains(f.FilterValues, v) {
				return false
			}
		}
		return true
	}
	var found []activation
	var next string
	err = s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, next, err = page(tx, bucketActivations, in.NextToken, limit, match)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := describeActivationsOutput{ActivationList: []activationShape{}, NextToken: next}
	for _, a := range found {
		out.ActivationList = append(out.ActivationList, activationShape{
			ActivationId:        a.ActivationId,
			Description:         a.Description,
			DefaultInstanceName: a.DefaultInstanceName,
			IamRole:             a.IamRole,
			RegistrationLimit:   a.RegistrationLimit,
			RegistrationsCount:  a.RegistrationsCount,
			ExpirationDate:      wire.Timestamp{Time: a.ExpirationDate},
			Expired:             a.expired(c.now),
			CreatedDate:         wire.Timestamp{Time: a.CreatedDate},
			Tags:                a.Tags,
		})
	}
	return out, nil
}

// pageSize reads MaxResults: maxPageSize if absent, else between min and
// maxPageSize.
func pageSize(maxResults *int32, min int) (int, error) {
	if maxResults == nil {
		return maxPageSize, nil
	}
	n := int(*maxResults)
	if n < min || n > maxPageSize {
		return 0, badRequest(codeValidation, "Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between %d and %d", n, min, maxPageSize)
	}
	return n, nil
}
