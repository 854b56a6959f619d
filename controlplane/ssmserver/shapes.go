package ssmserver

import (
	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// The shapes of the SigV4-signed calls, spelled as AWS spells them (the
// aws-sdk-go-v2 ssm client sends and reads them; the tests drive this
// server with that client to keep them in step). The calls hybrid
// registration uses are in wire/ssm.

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type createActivationInput struct {
	IamRole             string          `json:"IamRole"`
	DefaultInstanceName string          `json:"DefaultInstanceName"`
	Description         string          `json:"Description"`
	ExpirationDate      *wire.Timestamp `json:"ExpirationDate"`
	RegistrationLimit   *int32          `json:"RegistrationLimit"`
	Tags                []tag           `json:"Tags"`
}

type createActivationOutput struct {
	ActivationId   string      `json:"ActivationId"`
	ActivationCode wire.Secret `json:"ActivationCode"`
}

type describeActivationsFilter struct {
	FilterKey    string   `json:"FilterKey"`
	FilterValues []string `json:"FilterValues"`
}

type describeActivationsInput struct {
	Filters    []describeActivationsFilter `json:"Filters"`
	MaxResults *int32                      `json:"MaxResults"`
	NextToken  string                      `json:"NextToken"`
}

type activationShape struct {
	ActivationId        string         `json:"ActivationId"`
	Description         string         `json:"Description,omitempty"`
	DefaultInstanceName string         `json:"DefaultInstanceName,omitempty"`
	IamRole             string         `json:"IamRole"`
	RegistrationLimit   int32          `json:"RegistrationLimit"`
	RegistrationsCount  int32          `json:"RegistrationsCount"`
	ExpirationDate      wire.Timestamp `json:"ExpirationDate"`
	Expired             bool           `json:"Expired"`
	CreatedDate         wire.Timestamp `json:"CreatedDate"`
	Tags                []tag          `json:"Tags,omitempty"`
}

type describeActivationsOutput struct {
	ActivationList []activationShape `json:"ActivationList"`
	NextToken      string            `json:"NextToken,omitempty"`
}

type deleteActivationInput struct {
	ActivationId string `json:"ActivationId"`
}

type instanceInformationFilter struct {
	Key      string   `json:"key"`
	ValueSet []string `json:"valueSet"`
}

type instanceInformationStringFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type describeInstanceInformationInput struct {
	InstanceInformationFilterList []instanceInformationFilter       `json:"InstanceInformationFilterList"`
	Filters                       []instanceInformationStringFilter `json:"Filters"`
	MaxResults                    *int32                            `json:"MaxResults"`
	NextToken                     string                            `json:"NextToken"`
}

type instanceInformation struct {
	InstanceId       string         `json:"InstanceId"`
	PingStatus       string         `json:"PingStatus"`
	LastPingDateTime wire.Timestamp `json:"LastPingDateTime,omitzero"`
	AgentVersion     string         `json:"AgentVersion,omitempty"`
	PlatformType     string         `json:"PlatformType,omitempty"`
	ActivationId     string         `json:"ActivationId,omitempty"`
	IamRole          string         `json:"IamRole,omitempty"`
	RegistrationDate wire.Timestamp `json:"RegistrationDate,omitzero"`
	ResourceType     string         `json:"ResourceType"`
	Name             string         `json:"Name,omitempty"`
	IPAddress        string         `json:"IPAddress,omitempty"`
	SourceId         string         `json:"SourceId,omitempty"`
	SourceType       string         `json:"SourceType,omitempty"`
}

type describeInstanceInformationOutput struct {
	InstanceInformationList []instanceInformation `json:"InstanceInformationList"`
	NextToken               string                `json:"NextToken,omitempty"`
}

type deregisterManagedInstanceInput struct {
	InstanceId string `json:"InstanceId"`
}

// emptyOutput is the body of calls that answer nothing.
type emptyOutput struct{}
