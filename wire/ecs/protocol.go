package ecs

// Protocol constants: AWS JSON 1.1 under the ECS target prefix, signed with
// SigV4 for the signing name "ecs".
const (
	ContentType  = "application/x-amz-json-1.1"
	TargetPrefix = "AmazonEC2ContainerServiceV20141113"
	SigningName  = "ecs"

	HeaderTarget    = "X-Amz-Target"
	HeaderErrorType = "X-Amzn-Errortype"
	HeaderRequestID = "X-Amzn-Requestid"
)

// Operation names, the part of X-Amz-Target after TargetPrefix and a dot.
const (
	OpCreateCluster                 = "CreateCluster"
	OpDeleteCluster                 = "DeleteCluster"
	OpDescribeClusters              = "DescribeClusters"
	OpListClusters                  = "ListClusters"
	OpRegisterTaskDefinition        = "RegisterTaskDefinition"
	OpDeregisterTaskDefinition      = "DeregisterTaskDefinition"
	OpDescribeTaskDefinition        = "DescribeTaskDefinition"
	OpListTaskDefinitions           = "ListTaskDefinitions"
	OpListTaskDefinitionFamilies    = "ListTaskDefinitionFamilies"
	OpRunTask                       = "RunTask"
	OpStartTask                     = "StartTask"
	OpStopTask                      = "StopTask"
	OpDescribeTasks                 = "DescribeTasks"
	OpListTasks                     = "ListTasks"
	OpRegisterContainerInstance     = "RegisterContainerInstance"
	OpDeregisterContainerInstance   = "DeregisterContainerInstance"
	OpDescribeContainerInstances    = "DescribeContainerInstances"
	OpListContainerInstances        = "ListContainerInstances"
	OpUpdateContainerInstancesState = "UpdateContainerInstancesState"
	OpPutAttributes                 = "PutAttributes"
	OpDiscoverPollEndpoint          = "DiscoverPollEndpoint"
	OpSubmitTaskStateChange         = "SubmitTaskStateChange"
	OpSubmitContainerStateChange    = "SubmitContainerStateChange"
	OpCreateService                 = "CreateService"
	OpUpdateService                 = "UpdateService"
	OpDeleteService                 = "DeleteService"
	OpDescribeServices              = "DescribeServices"
	OpListServices                  = "ListServices"
	OpTagResource                   = "TagResource"
	OpListTagsForResource           = "ListTagsForResource"
)

// Error types of the ECS API, as ErrorResponse.Type spells them.
const (
	ErrClientException                            = "ClientException"
	ErrServerException                            = "ServerException"
	ErrInvalidParameterException                  = "InvalidParameterException"
	ErrClusterNotFoundException                   = "ClusterNotFoundException"
	ErrClusterContainsContainerInstancesException = "ClusterContainsContainerInstancesException"
	ErrClusterContainsServicesException           = "ClusterContainsServicesException"
	ErrClusterContainsTasksException              = "ClusterContainsTasksException"
	ErrServiceNotFoundException                   = "ServiceNotFoundException"
	ErrServiceNotActiveException                  = "ServiceNotActiveException"
	ErrAccessDeniedException                      = "AccessDeniedException"
	ErrUnsupportedFeatureException                = "UnsupportedFeatureException"
	ErrResourceNotFoundException                  = "ResourceNotFoundException"
)

// Error types every AWS JSON 1.1 endpoint may return, whatever the service.
const (
	ErrUnknownOperationException = "UnknownOperationException"
	ErrSerializationException    = "SerializationException"
)

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	Type    string `json:"__type"`
	Message string `json:"message,omitempty"`
}

// Failure reports one item of a batch call that could not be done.
type Failure struct {
	ARN    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Failure reasons.
const (
	ReasonMissing = "MISSING"
)

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// KeyValuePair is a name and a value (environment variables, statistics,
// settings).
type KeyValuePair struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// Statuses of tasks and containers, as lastStatus and desiredStatus.
const (
	StatusProvisioning   = "PROVISIONING"
	StatusPending        = "PENDING"
	StatusActivating     = "ACTIVATING"
	StatusRunning        = "RUNNING"
	StatusDeactivating   = "DEACTIVATING"
	StatusStopping       = "STOPPING"
	StatusDeprovisioning = "DEPROVISIONING"
	StatusStopped        = "STOPPED"
)

// Statuses of clusters, services, task definitions and container instances.
const (
	StatusActive   = "ACTIVE"
	StatusInactive = "INACTIVE"
	StatusDraining = "DRAINING"
)

// Launch types.
const (
	LaunchTypeEC2      = "EC2"
	LaunchTypeFargate  = "FARGATE"
	LaunchTypeExternal = "EXTERNAL"
)

// Values of the include members of the Describe calls.
const (
	IncludeTags = "TAGS"
)
