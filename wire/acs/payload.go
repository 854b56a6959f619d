package acs

import "log/slog"

// PayloadMessage delivers tasks to run or stop.
type PayloadMessage struct {
	ContainerInstanceARN string `json:"containerInstanceArn,omitempty"`
	ClusterARN           string `json:"clusterArn,omitempty"`
	Tasks                []Task `json:"tasks,omitempty"`
	GeneratedAt          int64  `json:"generatedAt,omitempty"`
	MessageID            string `json:"messageId,omitempty"`
	SeqNum               int64  `json:"seqNum,omitempty"`
	Timeline             *int64 `json:"timeline,omitempty"`
}

// LogValue logs the message's identity and its tasks' ARNs, never the
// credentials inside the tasks.
func (m PayloadMessage) LogValue() slog.Value {
	arns := make([]string, len(m.Tasks))
	for i, t := range m.Tasks {
		arns[i] = t.ARN
	}
	return slog.GroupValue(
		slog.String("messageId", m.MessageID),
		slog.Int64("seqNum", m.SeqNum),
		slog.Any("tasks", arns),
	)
}

// Task desired statuses as ACS sends them.
const (
	DesiredStatusRunning = "RUNNING"
	DesiredStatusStopped = "STOPPED"
)

// Task network modes.
const (
	NetworkModeBridge = "bridge"
	NetworkModeHost   = "host"
	NetworkModeNone   = "none"
	NetworkModeAWSVPC = "awsvpc"
)

// Task is one ECS task as ACS describes it.
type Task struct {
	ARN            string `json:"arn,omitempty"`
	TaskClusterARN string `json:"taskClusterArn,omitempty"`
	Family         string `json:"family,omitempty"`
	// Version is the task definition revision, as a string.
	Version       string `json:"version,omitempty"`
	DesiredStatus string `json:"desiredStatus,omitempty"`
	// Overrides is a JSON document, kept as the string ACS sends.
	Overrides  string      `json:"overrides,omitempty"`
	Containers []Container `json:"containers,omitempty"`
	Volumes    []Volume    `json:"volumes,omitempty"`

	RoleCredentials          *IAMRoleCredentials `json:"roleCredentials,omitempty"`
	ExecutionRoleCredentials *IAMRoleCredentials `json:"executionRoleCredentials,omitempty"`

	ElasticNetworkInterfaces []ElasticNetworkInterface `json:"elasticNetworkInterfaces,omitempty"`
	// CPU is the task-level limit in vCPUs.
	CPU *float64 `json:"cpu,omitempty"`
	// Memory is the task-level limit in MiB.
	Memory             *int64              `json:"memory,omitempty"`
	Associations       []Association       `json:"associations,omitempty"`
	PidMode            string              `json:"pidMode,omitempty"`
	IpcMode            string              `json:"ipcMode,omitempty"`
	ProxyConfiguration *ProxyConfiguration `json:"proxyConfiguration,omitempty"`
	// AgentConfiguration is a JSON document, kept as a string.
	AgentConfiguration            string                         `json:"agentConfiguration,omitempty"`
	LaunchType                    string                         `json:"launchType,omitempty"`
	Attachments                   []Attachment                   `json:"attachments,omitempty"`
	NetworkMode                   string                         `json:"networkMode,omitempty"`
	ServiceName                   string                         `json:"serviceName,omitempty"`
	Group                         string                         `json:"group,omitempty"`
	Zone                          string                         `json:"zone,omitempty"`
	TaskDefinitionAccountID       string                         `json:"taskDefinitionAccountId,omitempty"`
	EnableFaultInjection          bool                           `json:"enableFaultInjection,omitempty"`
	TrustedExecutionConfiguration *TrustedExecutionConfiguration `json:"trustedExecutionConfiguration,omitempty"`
}

// LogValue logs the task's identity, never its credentials.
func (t Task) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("arn", t.ARN),
		slog.String("family", t.Family),
		slog.String("version", t.Version),
		slog.String("desiredStatus", t.DesiredStatus),
		slog.Int("containers", len(t.Containers)),
	)
}

// TrustedExecutionConfiguration is the task's isolation requirement.
type TrustedExecutionConfiguration struct {
	IsolationMode     string `json:"isolationMode,omitempty"`
	AttestationPolicy string `json:"attestationPolicy,omitempty"`
}

// Association ties an elastic-inference accelerator or GPU to containers.
type Association struct {
	Name       string         `json:"name,omitempty"`
	Type       string         `json:"type,omitempty"`
	Content    *EncodedString `json:"content,omitempty"`
	Containers []string       `json:"containers,omitempty"`
}

// EncodedString is a value with its encoding ("identity" or "base64").
type EncodedString struct {
	Value    string `json:"value,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

// ProxyConfiguration is the task's App Mesh proxy setup.
type ProxyConfiguration struct {
	Type          string            `json:"type,omitempty"`
	ContainerName string            `json:"containerName,omitempty"`
	Properties    map[string]string `json:"properties,omitempty"`
}

// Volume types.
const (
	VolumeTypeHost            = "host"
	VolumeTypeDocker          = "docker"
	VolumeTypeEFS             = "efs"
	VolumeTypeFSxWindows      = "fsxWindowsFileServer"
	VolumeTypeEBS             = "ebs"
	VolumeTypeLogDriverOutput = "logDriverOutput"
)

// Volume is a task volume. A host volume with an empty SourcePath is a
// scratch volume the agent creates.
type Volume struct {
	Name                                    string                                   `json:"name,omitempty"`
	Type                                    string                                   `json:"type,omitempty"`
	Host                                    *HostVolumeProperties                    `json:"host,omitempty"`
	DockerVolumeConfiguration               *DockerVolumeConfiguration               `json:"dockerVolumeConfiguration,omitempty"`
	EFSVolumeConfiguration                  *EFSVolumeConfiguration                  `json:"efsVolumeConfiguration,omitempty"`
	FSxWindowsFileServerVolumeConfiguration *FSxWindowsFileServerVolumeConfiguration `json:"fsxWindowsFileServerVolumeConfiguration,omitempty"`
	EBSVolumeConfiguration                  *EBSVolumeConfiguration                  `json:"ebsVolumeConfiguration,omitempty"`
	LogDriverVolumeConfiguration            *LogDriverVolumeConfiguration            `json:"logDriverVolumeConfiguration,omitempty"`
}

// HostVolumeProperties is the host side of a host volume.
type HostVolumeProperties struct {
	SourcePath string `json:"sourcePath,omitempty"`
}

// DockerVolumeConfiguration is a Docker-managed volume.
type DockerVolumeConfiguration struct {
	Scope         string            `json:"scope,omitempty"`
	Autoprovision *bool             `json:"autoprovision,omitempty"`
	Driver        string            `json:"driver,omitempty"`
	DriverOpts    map[string]string `json:"driverOpts,omitempty"`
	Labels        map[string]string `json:"labels,omitempty"`
}

// EFSVolumeConfiguration is an Amazon EFS volume.
type EFSVolumeConfiguration struct {
	FileSystemID          string                  `json:"fileSystemId,omitempty"`
	RootDirectory         string                  `json:"rootDirectory,omitempty"`
	TransitEncryption     string                  `json:"transitEncryption,omitempty"`
	TransitEncryptionPort *int64                  `json:"transitEncryptionPort,omitempty"`
	AuthorizationConfig   *EFSAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// EFSAuthorizationConfig is how an EFS volume is accessed.
type EFSAuthorizationConfig struct {
	AccessPointID string `json:"accessPointId,omitempty"`
	IAM           string `json:"iam,omitempty"`
}

// FSxWindowsFileServerVolumeConfiguration is an FSx for Windows volume.
type FSxWindowsFileServerVolumeConfiguration struct {
	FileSystemID        string                                   `json:"fileSystemId,omitempty"`
	RootDirectory       string                                   `json:"rootDirectory,omitempty"`
	AuthorizationConfig *FSxWindowsFileServerAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// FSxWindowsFileServerAuthorizationConfig is how an FSx volume is accessed.
type FSxWindowsFileServerAuthorizationConfig struct {
	CredentialsParameter string `json:"credentialsParameter,omitempty"`
	Domain               string `json:"domain,omitempty"`
}

// EBSVolumeConfiguration is an Amazon EBS volume.
type EBSVolumeConfiguration struct {
	VolumeID            string `json:"volumeId,omitempty"`
	DeleteOnTermination *bool  `json:"deleteOnTermination,omitempty"`
	DeviceName          string `json:"deviceName,omitempty"`
	FilesystemType      string `json:"filesystemType,omitempty"`
}

// LogDriverVolumeConfiguration is a volume for a log driver's output.
type LogDriverVolumeConfiguration struct {
	Driver string `json:"driver,omitempty"`
}
