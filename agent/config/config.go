package config

import (
	"fmt"
	"log/slog"
	"time"
)

// Config is ecsd's effective configuration. Load fills every field; each
// field's variable, default and rules are in settings.go. Slices and maps
// are shared between copies: treat them as read-only.
type Config struct {
	// Cluster is the cluster to join, a name or a cluster ARN (ECS_CLUSTER).
	Cluster string
	// Region is the AWS region of every API (AWS_DEFAULT_REGION, else
	// AWS_REGION). Required: ecsd does not ask instance metadata.
	Region string
	// BackendHost overrides the ECS API endpoint (ECS_BACKEND_HOST): a host,
	// host:port or URL; empty means the SDK's endpoint for Region.
	BackendHost string
	// External is ECS Anywhere mode (ECS_EXTERNAL).
	External bool
	// DataDir holds ecsd's state (ECS_DATADIR).
	DataDir string
	// LogLevel is ecsd's log level (ECS_LOGLEVEL).
	LogLevel LogLevel

	// ReservedMemory is MiB left out of the MEMORY registered with ECS
	// (ECS_RESERVED_MEMORY).
	ReservedMemory int
	// ReservedPorts and ReservedPortsUDP are host ports reported as in use
	// and never mapped (ECS_RESERVED_PORTS, ECS_RESERVED_PORTS_UDP).
	ReservedPorts    []int
	ReservedPortsUDP []int
	// DynamicHostPortRange bounds the host ports given to dynamic port
	// mappings (ECS_DYNAMIC_HOST_PORT_RANGE).
	DynamicHostPortRange PortRange

	// InstanceAttributes are custom attributes sent at registration
	// (ECS_INSTANCE_ATTRIBUTES).
	InstanceAttributes map[string]string
	// ContainerInstanceTags are tags sent at registration
	// (ECS_CONTAINER_INSTANCE_TAGS).
	ContainerInstanceTags map[string]string
	// AvailableLoggingDrivers are advertised as
	// com.amazonaws.ecs.capability.logging-driver.* attributes
	// (ECS_AVAILABLE_LOGGING_DRIVERS); each is one ecsd implements.
	AvailableLoggingDrivers []string

	// ContainerStopTimeout is the grace between SIGTERM and SIGKILL when a
	// task does not set stopTimeout (ECS_CONTAINER_STOP_TIMEOUT).
	ContainerStopTimeout time.Duration
	// TaskCleanupWait is how long a stopped task stays before its containers
	// are removed (ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION).
	TaskCleanupWait time.Duration
	// ImagePullBehavior is ECS_IMAGE_PULL_BEHAVIOR.
	ImagePullBehavior ImagePullBehavior
	// PullDependentContainersUpfront pulls every image of a task before
	// dependsOn conditions are met (ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT).
	PullDependentContainersUpfront bool
	// EnableTaskCPUMemLimit puts each task in a cgroup with its task-level
	// cpu and memory limits (ECS_ENABLE_TASK_CPU_MEM_LIMIT).
	EnableTaskCPUMemLimit bool

	// Image garbage collection: ECS_DISABLE_IMAGE_CLEANUP,
	// ECS_IMAGE_CLEANUP_INTERVAL, ECS_IMAGE_MINIMUM_CLEANUP_AGE,
	// ECS_NUM_IMAGES_DELETE_PER_CYCLE, ECS_EXCLUDE_UNTRACKED_IMAGE.
	ImageCleanupDisabled    bool
	ImageCleanupInterval    time.Duration
	ImageMinimumCleanupAge  time.Duration
	NumImagesDeletePerCycle int
	ImageCleanupExclude     []string

	// AlternateCredentialProfile is the profile read from the rotating
	// credentials file (ECS_ALTERNATE_CREDENTIAL_PROFILE).
	AlternateCredentialProfile string

	// HTTPSProxy, HTTPProxy and NoProxy are HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY (or their lower-case forms). NoProxy always includes the
	// local endpoints (see AlwaysNoProxy). Use ProxyFunc rather than these.
	HTTPSProxy string
	HTTPProxy  string
	NoProxy    string

	// ACSEndpoint and TCSEndpoint replace the endpoints DiscoverPollEndpoint
	// returns, for sites without public DNS (ECSD_ACS_ENDPOINT,
	// ECSD_TCS_ENDPOINT); empty means discover.
	ACSEndpoint string
	TCSEndpoint string
	// ContainerdAddress is containerd's socket (ECSD_CONTAINERD_ADDRESS).
	ContainerdAddress string
	// ContainerdNamespace holds ecsd's images and containers
	// (ECSD_CONTAINERD_NAMESPACE).
	ContainerdNamespace string
	// CredentialsListen is the task credentials and metadata endpoint's
	// address (ECSD_CREDENTIALS_LISTEN); tasks reach it as
	// 169.254.170.2:80 through the redirect.
	CredentialsListen string
	// TaskEndpointRedirect installs the iptables redirect of
	// 169.254.170.2:80 to CredentialsListen, as ecs-init does
	// (ECSD_TASK_ENDPOINT_REDIRECT).
	TaskEndpointRedirect bool
	// TaskEndpointChain names the redirect's iptables chain in the nat and
	// filter tables (ECSD_TASK_ENDPOINT_CHAIN).
	TaskEndpointChain string
	// TaskMetadataRate and TaskMetadataBurst bound requests to the task
	// endpoint (ECS_TASK_METADATA_RPS_LIMIT "rate,burst").
	TaskMetadataRate  int
	TaskMetadataBurst int
	// TaskIAMRole serves task role credentials and advertises
	// task-iam-role (ECS_ENABLE_TASK_IAM_ROLE); TaskIAMRoleNetworkHost
	// also redirects host-network tasks and advertises
	// task-iam-role-network-host (ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST).
	TaskIAMRole            bool
	TaskIAMRoleNetworkHost bool
	// DisableMetrics stops container metrics going to TCS
	// (ECS_DISABLE_METRICS); health and instance status still go.
	DisableMetrics bool
	// IntrospectionListen is the introspection API's address
	// (ECSD_INTROSPECTION_LISTEN).
	IntrospectionListen string
	// SSMStateRoot is the SSM agent's data directory, where the hybrid
	// activation's identity lives (ECSD_SSM_STATE_ROOT).
	SSMStateRoot string
	// SSMEndpoint overrides the SSM endpoint for credential refresh.
	SSMEndpoint string
	// SharedCredentialsFile, if set, is rewritten (atomically, 0600) with
	// the managed instance's role credentials under profile
	// SharedCredentialsProfile after every refresh, as the SSM agent does
	// for the stock ECS agent; other profiles are kept. Empty, the default:
	// ecsd's own clients need no file, and root's [default] profile is not
	// overwritten (ECSD_SHARED_CREDENTIALS_FILE,
	// ECSD_SHARED_CREDENTIALS_PROFILE).
	SharedCredentialsFile    string
	SharedCredentialsProfile string
	// CNIBridge and CNISubnet are the bridge network's Linux bridge and IPv4
	// subnet (ECSD_CNI_BRIDGE, ECSD_CNI_SUBNET).
	CNIBridge string
	CNISubnet string
}

// LogLevel is an ECS_LOGLEVEL value.
type LogLevel string

// Log levels, as the stock agent spells them.
const (
	LogDebug LogLevel = "debug"
	LogInfo  LogLevel = "info"
	LogWarn  LogLevel = "warn"
	LogError LogLevel = "error"
	LogCrit  LogLevel = "crit"
)

// LevelCrit is the slog level of LogCrit: above slog.LevelError.
const LevelCrit = slog.LevelError + 4

// Level is the slog level to log at.
func (l LogLevel) Level() slog.Level {
	switch l {
	case LogDebug:
		return slog.LevelDebug
	case LogWarn:
		return slog.LevelWarn
	case LogError:
		return slog.LevelError
	case LogCrit:
		return LevelCrit
	}
	return slog.LevelInfo
}

// ImagePullBehavior is an ECS_IMAGE_PULL_BEHAVIOR value; runtime's
// PullBehavior has the same spellings.
type ImagePullBehavior string

// Image pull behaviors.
const (
	PullDefault      ImagePullBehavior = "default"
	PullAlways       ImagePullBehavior = "always"
	PullOnce         ImagePullBehavior = "once"
	PullPreferCached ImagePullBehavior = "prefer-cached"
)

// PortRange is a range of ports, both ends included.
type PortRange struct {
	First, Last int
}

// String renders the range as ECS_DYNAMIC_HOST_PORT_RANGE spells it.
func (r PortRange) String() string { return fmt.Sprintf("%d-%d", r.First, r.Last) }

// DefaultFiles are the ecs.config files Load reads when Sources.Files is
// nil, lowest precedence first: ecs-init reads the instance defaults in
// /var/lib/ecs/ecs.config and lets /etc/ecs/ecs.config override them.
func DefaultFiles() []string {
	return []string{"/var/lib/ecs/ecs.config", "/etc/ecs/ecs.config"}
}

// SupportedLoggingDrivers are the log drivers ecsd implements, the only
// values ECS_AVAILABLE_LOGGING_DRIVERS may list: json-file (a file per
// container, as Docker's), journald, awslogs (CloudWatch Logs) and none.
func SupportedLoggingDrivers() []string {
	return []string{"json-file", "journald", "awslogs", "none"}
}

// Default is the configuration with every variable at its default. Region
// has none, so Default does not pass Load's validation on its own.
func Default() Config {
	var c Config
	for _, s := range settings() {
		if s.def == "" {
			continue
		}
		if err := s.parse(&c, s.def); err != nil {
			panic(fmt.Sprintf("config: default of %s: %v", s.name, err)) // TestDefaults parses every default
		}
	}
	return c
}
