package ecs

// ContainerInstance is a host registered in a cluster. For an external
// instance Ec2InstanceID holds the managed instance ID (mi-…), if known.
type ContainerInstance struct {
	ContainerInstanceARN string       `json:"containerInstanceArn,omitempty"`
	EC2InstanceID        string       `json:"ec2InstanceId,omitempty"`
	Version              int64        `json:"version"`
	VersionInfo          *VersionInfo `json:"versionInfo,omitempty"`
	RemainingResources   []Resource   `json:"remainingResources,omitempty"`
	RegisteredResources  []Resource   `json:"registeredResources,omitempty"`
	Status               string       `json:"status,omitempty"`
	StatusReason         string       `json:"statusReason,omitempty"`
	AgentConnected       bool         `json:"agentConnected"`
	RunningTasksCount    int32        `json:"runningTasksCount"`
	PendingTasksCount    int32        `json:"pendingTasksCount"`
	Attributes           []Attribute  `json:"attributes,omitempty"`
	RegisteredAt         Timestamp    `json:"registeredAt,omitzero"`
	Tags                 []Tag        `json:"tags,omitempty"`
}

// VersionInfo names the agent and its container runtime.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// Resource is an amount of a resource. ECS writes every value member,
// whatever the type.
type Resource struct {
	Name           string   `json:"name,omitempty"`
	Type           string   `json:"type,omitempty"`
	DoubleValue    float64  `json:"doubleValue"`
	LongValue      int64    `json:"longValue"`
	IntegerValue   int32    `json:"integerValue"`
	StringSetValue []string `json:"stringSetValue,omitempty"`
}

// Resource names and types of an instance's registered resources.
const (
	ResourceCPU      = "CPU"
	ResourceMemory   = "MEMORY"
	ResourcePorts    = "PORTS"
	ResourcePortsUDP = "PORTS_UDP"

	ResourceTypeInteger   = "INTEGER"
	ResourceTypeStringSet = "STRINGSET"
)

// Attribute is a name, and an optional value, of a container instance; in
// PutAttributes it also names its target.
type Attribute struct {
	Name       string `json:"name,omitempty"`
	Value      string `json:"value,omitempty"`
	TargetType string `json:"targetType,omitempty"`
	TargetID   string `json:"targetId,omitempty"`
}

// TargetTypeContainerInstance is the only attribute target type.
const TargetTypeContainerInstance = "container-instance"

// PlatformDevice is a device of the host, such as a GPU.
type PlatformDevice struct {
	ID   string `json:"id,omitempty"`
	Type string `json:"type,omitempty"`
}

// RegisterContainerInstanceRequest registers a host, or re-registers it
// when ContainerInstanceARN is set. External instances send empty identity
// documents.
type RegisterContainerInstanceRequest struct {
	Cluster                           string           `json:"cluster,omitempty"`
	InstanceIdentityDocument          string           `json:"instanceIdentityDocument,omitempty"`
	InstanceIdentityDocumentSignature string           `json:"instanceIdentityDocumentSignature,omitempty"`
	TotalResources                    []Resource       `json:"totalResources,omitempty"`
	VersionInfo                       *VersionInfo     `json:"versionInfo,omitempty"`
	ContainerInstanceARN              string           `json:"containerInstanceArn,omitempty"`
	Attributes                        []Attribute      `json:"attributes,omitempty"`
	PlatformDevices                   []PlatformDevice `json:"platformDevices,omitempty"`
	Tags                              []Tag            `json:"tags,omitempty"`
	// ClientToken is the ECS agent's idempotency token, one per call
	// (a member of the agent's model, not of the public SDK's).
	ClientToken string `json:"clientToken,omitempty"`
}

// RegisterContainerInstanceResponse returns the container instance.
type RegisterContainerInstanceResponse struct {
	ContainerInstance *ContainerInstance `json:"containerInstance,omitempty"`
}

// DeregisterContainerInstanceRequest deregisters a host; Force does so even
// with tasks on it.
type DeregisterContainerInstanceRequest struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	Force             *bool  `json:"force,omitempty"`
}

// DeregisterContainerInstanceResponse returns the instance, now INACTIVE.
type DeregisterContainerInstanceResponse struct {
	ContainerInstance *ContainerInstance `json:"containerInstance,omitempty"`
}

// DescribeContainerInstancesRequest names instances by ARN or ID.
type DescribeContainerInstancesRequest struct {
	Cluster            string   `json:"cluster,omitempty"`
	ContainerInstances []string `json:"containerInstances,omitempty"`
	Include            []string `json:"include,omitempty"`
}

// DescribeContainerInstancesResponse lists the instances found and a MISSING
// failure for each one not found.
type DescribeContainerInstancesResponse struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// ListContainerInstancesRequest filters a cluster's instances by a cluster
// query expression and status.
type ListContainerInstancesRequest struct {
	Cluster    string `json:"cluster,omitempty"`
	Filter     string `json:"filter,omitempty"`
	Status     string `json:"status,omitempty"`
	MaxResults *int32 `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListContainerInstancesResponse is one page of instance ARNs.
type ListContainerInstancesResponse struct {
	ContainerInstanceARNs []string `json:"containerInstanceArns"`
	NextToken             string   `json:"nextToken,omitempty"`
}

// UpdateContainerInstancesStateRequest sets instances ACTIVE or DRAINING.
type UpdateContainerInstancesStateRequest struct {
	Cluster            string   `json:"cluster,omitempty"`
	ContainerInstances []string `json:"containerInstances,omitempty"`
	Status             string   `json:"status,omitempty"`
}

// UpdateContainerInstancesStateResponse lists the instances updated.
type UpdateContainerInstancesStateResponse struct {
	ContainerInstances []ContainerInstance `json:"containerInstances"`
	Failures           []Failure           `json:"failures"`
}

// PutAttributesRequest sets custom attributes on container instances.
type PutAttributesRequest struct {
	Cluster    string      `json:"cluster,omitempty"`
	Attributes []Attribute `json:"attributes,omitempty"`
}

// PutAttributesResponse echoes the attributes.
type PutAttributesResponse struct {
	Attributes []Attribute `json:"attributes"`
}

// DiscoverPollEndpointRequest asks where an instance's agent connects.
type DiscoverPollEndpointRequest struct {
	ContainerInstance string `json:"containerInstance,omitempty"`
	Cluster           string `json:"cluster,omitempty"`
	// ZoneID is sent, empty, by the ECS agent (its model's member); an
	// availability zone only when asking for the system-logs endpoint.
	ZoneID string `json:"zoneId,omitempty"`
}

// DiscoverPollEndpointResponse gives the ACS (Endpoint), TCS
// (TelemetryEndpoint) and Service Connect base URLs.
type DiscoverPollEndpointResponse struct {
	Endpoint               string `json:"endpoint,omitempty"`
	TelemetryEndpoint      string `json:"telemetryEndpoint,omitempty"`
	ServiceConnectEndpoint string `json:"serviceConnectEndpoint,omitempty"`
}
