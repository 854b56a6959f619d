package ecs

// TaskDefinition is one revision of a task family.
type TaskDefinition struct {
	TaskDefinitionARN       string                              `json:"taskDefinitionArn,omitempty"`
	Family                  string                              `json:"family,omitempty"`
	Revision                int32                               `json:"revision"`
	Status                  string                              `json:"status,omitempty"`
	ContainerDefinitions    []ContainerDefinition               `json:"containerDefinitions,omitempty"`
	TaskRoleARN             string                              `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN        string                              `json:"executionRoleArn,omitempty"`
	NetworkMode             string                              `json:"networkMode,omitempty"`
	Volumes                 []Volume                            `json:"volumes,omitempty"`
	RequiresAttributes      []Attribute                         `json:"requiresAttributes,omitempty"`
	PlacementConstraints    []TaskDefinitionPlacementConstraint `json:"placementConstraints,omitempty"`
	Compatibilities         []string                            `json:"compatibilities,omitempty"`
	RequiresCompatibilities []string                            `json:"requiresCompatibilities,omitempty"`
	RuntimePlatform         *RuntimePlatform                    `json:"runtimePlatform,omitempty"`
	// CPU is in CPU units ("256") or vCPUs ("0.25 vcpu").
	CPU string `json:"cpu,omitempty"`
	// Memory is in MiB ("512") or GB ("1 GB").
	Memory               string    `json:"memory,omitempty"`
	PidMode              string    `json:"pidMode,omitempty"`
	IpcMode              string    `json:"ipcMode,omitempty"`
	EnableFaultInjection *bool     `json:"enableFaultInjection,omitempty"`
	RegisteredAt         Timestamp `json:"registeredAt,omitzero"`
	DeregisteredAt       Timestamp `json:"deregisteredAt,omitzero"`
	RegisteredBy         string    `json:"registeredBy,omitempty"`
}

// Network modes.
const (
	NetworkModeBridge = "bridge"
	NetworkModeHost   = "host"
	NetworkModeNone   = "none"
	NetworkModeAWSVPC = "awsvpc"
)

// RuntimePlatform is the operating system and CPU architecture a task needs.
type RuntimePlatform struct {
	CPUArchitecture       string `json:"cpuArchitecture,omitempty"`
	OperatingSystemFamily string `json:"operatingSystemFamily,omitempty"`
}

// TaskDefinitionPlacementConstraint is a memberOf constraint of a task
// definition.
type TaskDefinitionPlacementConstraint struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// ContainerDefinition is one container of a task definition.
type ContainerDefinition struct {
	Name  string `json:"name,omitempty"`
	Image string `json:"image,omitempty"`
	// CPU is in CPU units, 1024 to a vCPU; always present.
	CPU int32 `json:"cpu"`
	// Memory is the hard limit and MemoryReservation the soft limit, in MiB.
	Memory                 *int32                  `json:"memory,omitempty"`
	MemoryReservation      *int32                  `json:"memoryReservation,omitempty"`
	RepositoryCredentials  *RepositoryCredentials  `json:"repositoryCredentials,omitempty"`
	Links                  []string                `json:"links,omitempty"`
	PortMappings           []PortMapping           `json:"portMappings,omitempty"`
	Essential              *bool                   `json:"essential,omitempty"`
	RestartPolicy          *ContainerRestartPolicy `json:"restartPolicy,omitempty"`
	EntryPoint             []string                `json:"entryPoint,omitempty"`
	Command                []string                `json:"command,omitempty"`
	Environment            []KeyValuePair          `json:"environment,omitempty"`
	EnvironmentFiles       []EnvironmentFile       `json:"environmentFiles,omitempty"`
	MountPoints            []MountPoint            `json:"mountPoints,omitempty"`
	VolumesFrom            []VolumeFrom            `json:"volumesFrom,omitempty"`
	LinuxParameters        *LinuxParameters        `json:"linuxParameters,omitempty"`
	Secrets                []Secret                `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency   `json:"dependsOn,omitempty"`
	StartTimeout           *int32                  `json:"startTimeout,omitempty"`
	StopTimeout            *int32                  `json:"stopTimeout,omitempty"`
	VersionConsistency     string                  `json:"versionConsistency,omitempty"`
	Hostname               string                  `json:"hostname,omitempty"`
	User                   string                  `json:"user,omitempty"`
	WorkingDirectory       string                  `json:"workingDirectory,omitempty"`
	DisableNetworking      *bool                   `json:"disableNetworking,omitempty"`
	Privileged             *bool                   `json:"privileged,omitempty"`
	ReadonlyRootFilesystem *bool                   `json:"readonlyRootFilesystem,omitempty"`
	DNSServers             []string                `json:"dnsServers,omitempty"`
	DNSSearchDomains       []string                `json:"dnsSearchDomains,omitempty"`
	ExtraHosts             []HostEntry             `json:"extraHosts,omitempty"`
	DockerSecurityOptions  []string                `json:"dockerSecurityOptions,omitempty"`
	Interactive            *bool                   `json:"interactive,omitempty"`
	PseudoTerminal         *bool                   `json:"pseudoTerminal,omitempty"`
	DockerLabels           map[string]string       `json:"dockerLabels,omitempty"`
	Ulimits                []Ulimit                `json:"ulimits,omitempty"`
	LogConfiguration       *LogConfiguration       `json:"logConfiguration,omitempty"`
	HealthCheck            *HealthCheck            `json:"healthCheck,omitempty"`
	SystemControls         []SystemControl         `json:"systemControls,omitempty"`
	ResourceRequirements   []ResourceRequirement   `json:"resourceRequirements,omitempty"`
	FirelensConfiguration  *FirelensConfiguration  `json:"firelensConfiguration,omitempty"`
	CredentialSpecs        []string                `json:"credentialSpecs,omitempty"`
}

// RepositoryCredentials names a Secrets Manager secret with registry
// credentials.
type RepositoryCredentials struct {
	CredentialsParameter string `json:"credentialsParameter,omitempty"`
}

// PortMapping publishes a container port on the host. A missing or zero
// HostPort in bridge mode asks for a dynamic port.
type PortMapping struct {
	ContainerPort      *int32 `json:"containerPort,omitempty"`
	HostPort           *int32 `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	Name               string `json:"name,omitempty"`
	AppProtocol        string `json:"appProtocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
}

// Transport protocols of PortMapping and NetworkBinding.
const (
	ProtocolTCP = "tcp"
	ProtocolUDP = "udp"
)

// ContainerRestartPolicy restarts an exited container in place.
type ContainerRestartPolicy struct {
	Enabled              *bool   `json:"enabled,omitempty"`
	IgnoredExitCodes     []int32 `json:"ignoredExitCodes,omitempty"`
	RestartAttemptPeriod *int32  `json:"restartAttemptPeriod,omitempty"`
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	Value string `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
}

// MountPoint mounts a task volume into the container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      *bool  `json:"readOnly,omitempty"`
}

// VolumeFrom mounts the volumes of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer,omitempty"`
	ReadOnly        *bool  `json:"readOnly,omitempty"`
}

// LinuxParameters are Linux-specific container settings.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	SharedMemorySize   *int32              `json:"sharedMemorySize,omitempty"`
	Tmpfs              []Tmpfs             `json:"tmpfs,omitempty"`
	MaxSwap            *int32              `json:"maxSwap,omitempty"`
	Swappiness         *int32              `json:"swappiness,omitempty"`
}

// KernelCapabilities are added to or dropped from Docker's default set.
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device maps a host device into the container.
type Device struct {
	HostPath      string   `json:"hostPath,omitempty"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is a tmpfs mount; Size is in MiB.
type Tmpfs struct {
	ContainerPath string   `json:"containerPath,omitempty"`
	Size          int32    `json:"size"`
	MountOptions  []string `json:"mountOptions,omitempty"`
}

// Secret is an environment variable or log option taken from SSM Parameter
// Store or Secrets Manager.
type Secret struct {
	Name      string `json:"name,omitempty"`
	ValueFrom string `json:"valueFrom,omitempty"`
}

// ContainerDependency orders a container after another.
type ContainerDependency struct {
	ContainerName string `json:"containerName,omitempty"`
	Condition     string `json:"condition,omitempty"`
}

// HostEntry is a line of /etc/hosts.
type HostEntry struct {
	Hostname  string `json:"hostname,omitempty"`
	IPAddress string `json:"ipAddress,omitempty"`
}

// Ulimit is a resource limit.
type Ulimit struct {
	Name      string `json:"name,omitempty"`
	SoftLimit int32  `json:"softLimit"`
	HardLimit int32  `json:"hardLimit"`
}

// LogConfiguration is the container's log driver and its options.
type LogConfiguration struct {
	LogDriver     string            `json:"logDriver,omitempty"`
	Options       map[string]string `json:"options,omitempty"`
	SecretOptions []Secret          `json:"secretOptions,omitempty"`
}

// HealthCheck is a container health check; the times are in seconds.
type HealthCheck struct {
	Command     []string `json:"command,omitempty"`
	Interval    *int32   `json:"interval,omitempty"`
	Timeout     *int32   `json:"timeout,omitempty"`
	Retries     *int32   `json:"retries,omitempty"`
	StartPeriod *int32   `json:"startPeriod,omitempty"`
}

// SystemControl is a namespaced kernel parameter (sysctl).
type SystemControl struct {
	Namespace string `json:"namespace,omitempty"`
	Value     string `json:"value,omitempty"`
}

// ResourceRequirement asks for GPUs or an inference accelerator.
type ResourceRequirement struct {
	Type  string `json:"type,omitempty"`
	Value string `json:"value,omitempty"`
}

// FirelensConfiguration configures a FireLens log router container.
type FirelensConfiguration struct {
	Type    string            `json:"type,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Volume is a task volume: a bind mount of a host path (Host), a scratch
// volume (no configuration), a Docker volume or an EFS file system.
type Volume struct {
	Name                      string                     `json:"name,omitempty"`
	Host                      *HostVolumeProperties      `json:"host,omitempty"`
	DockerVolumeConfiguration *DockerVolumeConfiguration `json:"dockerVolumeConfiguration,omitempty"`
	EFSVolumeConfiguration    *EFSVolumeConfiguration    `json:"efsVolumeConfiguration,omitempty"`
	ConfiguredAtLaunch        *bool                      `json:"configuredAtLaunch,omitempty"`
}

// HostVolumeProperties is the host side of a bind mount.
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

// EFSVolumeConfiguration is an Amazon EFS file system.
type EFSVolumeConfiguration struct {
	FileSystemID          string                  `json:"fileSystemId,omitempty"`
	RootDirectory         string                  `json:"rootDirectory,omitempty"`
	TransitEncryption     string                  `json:"transitEncryption,omitempty"`
	TransitEncryptionPort *int32                  `json:"transitEncryptionPort,omitempty"`
	AuthorizationConfig   *EFSAuthorizationConfig `json:"authorizationConfig,omitempty"`
}

// EFSAuthorizationConfig is how an EFS volume is accessed.
type EFSAuthorizationConfig struct {
	AccessPointID string `json:"accessPointId,omitempty"`
	IAM           string `json:"iam,omitempty"`
}

// RegisterTaskDefinitionRequest registers the next revision of a family.
type RegisterTaskDefinitionRequest struct {
	Family                  string                              `json:"family,omitempty"`
	TaskRoleARN             string                              `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN        string                              `json:"executionRoleArn,omitempty"`
	NetworkMode             string                              `json:"networkMode,omitempty"`
	ContainerDefinitions    []ContainerDefinition               `json:"containerDefinitions,omitempty"`
	Volumes                 []Volume                            `json:"volumes,omitempty"`
	PlacementConstraints    []TaskDefinitionPlacementConstraint `json:"placementConstraints,omitempty"`
	RequiresCompatibilities []string                            `json:"requiresCompatibilities,omitempty"`
	CPU                     string                              `json:"cpu,omitempty"`
	Memory                  string                              `json:"memory,omitempty"`
	Tags                    []Tag                               `json:"tags,omitempty"`
	PidMode                 string                              `json:"pidMode,omitempty"`
	IpcMode                 string                              `json:"ipcMode,omitempty"`
	RuntimePlatform         *RuntimePlatform                    `json:"runtimePlatform,omitempty"`
	EnableFaultInjection    *bool                               `json:"enableFaultInjection,omitempty"`
}

// RegisterTaskDefinitionResponse returns the new revision.
type RegisterTaskDefinitionResponse struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// DeregisterTaskDefinitionRequest names a revision ("family:revision" or an
// ARN) to make INACTIVE.
type DeregisterTaskDefinitionRequest struct {
	TaskDefinition string `json:"taskDefinition,omitempty"`
}

// DeregisterTaskDefinitionResponse returns the revision, now INACTIVE.
type DeregisterTaskDefinitionResponse struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
}

// DescribeTaskDefinitionRequest names a family (its latest ACTIVE revision),
// a "family:revision" or an ARN.
type DescribeTaskDefinitionRequest struct {
	TaskDefinition string   `json:"taskDefinition,omitempty"`
	Include        []string `json:"include,omitempty"`
}

// DescribeTaskDefinitionResponse returns the revision and, when asked for,
// its tags.
type DescribeTaskDefinitionResponse struct {
	TaskDefinition *TaskDefinition `json:"taskDefinition,omitempty"`
	Tags           []Tag           `json:"tags,omitempty"`
}

// ListTaskDefinitionsRequest filters revisions by exact family (the member
// is named familyPrefix) and status.
type ListTaskDefinitionsRequest struct {
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	Status       string `json:"status,omitempty"`
	Sort         string `json:"sort,omitempty"`
	MaxResults   *int32 `json:"maxResults,omitempty"`
	NextToken    string `json:"nextToken,omitempty"`
}

// ListTaskDefinitionsResponse is one page of revision ARNs.
type ListTaskDefinitionsResponse struct {
	TaskDefinitionARNs []string `json:"taskDefinitionArns"`
	NextToken          string   `json:"nextToken,omitempty"`
}

// Sort orders of ListTaskDefinitions.
const (
	SortASC  = "ASC"
	SortDESC = "DESC"
)

// ListTaskDefinitionFamiliesRequest filters families by prefix and status
// (ACTIVE, INACTIVE or ALL).
type ListTaskDefinitionFamiliesRequest struct {
	FamilyPrefix string `json:"familyPrefix,omitempty"`
	Status       string `json:"status,omitempty"`
	MaxResults   *int32 `json:"maxResults,omitempty"`
	NextToken    string `json:"nextToken,omitempty"`
}

// ListTaskDefinitionFamiliesResponse is one page of family names.
type ListTaskDefinitionFamiliesResponse struct {
	Families  []string `json:"families"`
	NextToken string   `json:"nextToken,omitempty"`
}

// StatusAll is the ListTaskDefinitionFamilies status that lists every
// family.
const StatusAll = "ALL"
