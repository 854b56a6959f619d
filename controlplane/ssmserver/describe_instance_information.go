package ssmserver

import (
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// What DescribeInstanceInformation says of every instance here.
const (
	resourceTypeManagedInstance = "ManagedInstance"
	platformTypeLinux           = "Linux"
	pingStatusOnline            = "Online"
	pingStatusConnectionLost    = "ConnectionLost"
)

// describeInstanceInformation lists managed instances. An instance is
// Online while its last ping (registration or token request) is less than
// Config.RoleCredentialsTTL old: it asks for credentials halfway through
// their life, so one missed refresh makes it ConnectionLost.
func (s *Server) describeInstanceInformation(c *call) (any, error) {
	var in describeInstanceInformationInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	limit, err := pageSize(in.MaxResults, minInstancePageSize)
	if err != nil {
		return nil, err
	}
	filters := map[string][]string{}
	for _, f := range in.InstanceInformationFilterList {
		if !instanceFilterKeys[f.Key] {
			return nil, badRequest(codeInvalidFilterKey, "The filter key %q is not valid.", f.Key)
		}
		if len(f.ValueSet) == 0 {
			return nil, badRequest(codeInvalidInstanceFilter, "The filter %s has no values.", f.Key)
		}
		filters[f.Key] = f.ValueSet
	}
	for _, f := range in.Filters {
		if !instanceFilterKeys[f.Key] && !strings.HasPrefix(f.Key, "tag:") && f.Key != "tag-key" {
			return nil, badRequest(codeInvalidFilterKey, "The filter key %q is not valid.", f.Key)
		}
		if len(f.Values) == 0 {
			return nil, badRequest(codeInvalidInstanceFilter, "The filter %s has no values.", f.Key)
		}
		filters[f.Key] = f.Values
	}
	match := func(inst instance) bool {
		info := s.information(inst, c)
		for key, values := range filters {
			if !slices.Contains(values, info.field(key)) {
				return false
			}
		}
		return true
	}
	var found []instance
	var next string
	err = s.db.View(func(tx *bolt.Tx) error {
		var err error
		found, next, err = page(tx, bucketInstances, in.NextToken, limit, match)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := describeInstanceInformationOutput{InstanceInformationList: []instanceInformation{}, NextToken: next}
	for _, inst := range found {
		out.InstanceInformationList = append(out.InstanceInformationList, s.information(inst, c))
	}
	return out, nil
}

// instanceFilterKeys are the keys of InstanceInformationFilterKey.
var instanceFilterKeys = map[string]bool{
	"InstanceIds": true, "AgentVersion": true, "PingStatus": true, "PlatformTypes": true,
	"ActivationIds": true, "IamRole": true, "ResourceType": true, "AssociationStatus": true,
}

func (s *Server) information(inst instance, c *call) instanceInformation {
	ping := pingStatusOnline
	if c.now.Sub(inst.LastPingDateTime) > s.cfg.RoleCredentialsTTL {
		ping = pingStatusConnectionLost
	}
	return instanceInformation{
		InstanceId:       inst.InstanceId,
		PingStatus:       ping,
		LastPingDateTime: wire.Timestamp{Time: inst.LastPingDateTime},
		AgentVersion:     inst.AgentVersion,
		PlatformType:     platformTypeLinux,
		ActivationId:     inst.ActivationId,
		IamRole:          inst.IamRole,
		RegistrationDate: wire.Timestamp{Time: inst.RegistrationDate},
		ResourceType:     resourceTypeManagedInstance,
		Name:             inst.Name,
		IPAddress:        inst.IPAddress,
		SourceId:         inst.InstanceId,
		SourceType:       "AWS::SSM::ManagedInstance",
	}
}

// field is the value a filter key compares with; "" for keys no instance
// here has a value for (association status, tags).
func (i instanceInformation) field(key string) string {
	switch key {
	case "InstanceIds":
		return i.InstanceId
	case "AgentVersion":
		return i.AgentVersion
	case "PingStatus":
		return i.PingStatus
	case "PlatformTypes":
		return i.PlatformType
	case "ActivationIds":
		return i.ActivationId
	case "IamRole":
		return i.IamRole
	case "ResourceType":
		return i.ResourceType
	}
	return ""
}
