package tcs

// PublishMetricsRequest carries the CPU and memory statistics of running
// containers. An idle instance sends one request with Metadata.Idle and
// Metadata.Fin set and no TaskMetrics; otherwise the set is split into
// requests of at most MaxTasksPerRequest tasks and MaxRequestBytes of JSON,
// Fin set on the last.
type PublishMetricsRequest struct {
	Metadata        *MetricsMetadata `json:"metadata,omitempty"`
	InstanceMetrics *InstanceMetrics `json:"instanceMetrics,omitempty"`
	TaskMetrics     []TaskMetric     `json:"taskMetrics,omitempty"`
	Timestamp       Timestamp        `json:"timestamp,omitzero"`
}

// Limits of one publish request.
const (
	MaxTasksPerRequest = 10
	MaxRequestBytes    = 1 << 20
)

// MetricsMetadata identifies a PublishMetricsRequest. Idle and Fin are
// always sent, false included, as the stock agent does.
type MetricsMetadata struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	MessageID         string `json:"messageId,omitempty"`
	Idle              bool   `json:"idle"`
	Fin               bool   `json:"fin"`
}

// InstanceMetrics are instance-wide numbers; the model's member names of
// InstanceStorageMetrics start with a capital letter.
type InstanceMetrics struct {
	Storage *InstanceStorageMetrics `json:"storage,omitempty"`
}

// InstanceStorageMetrics are filesystem use in percent.
type InstanceStorageMetrics struct {
	OSFilesystem   *float64 `json:"OSFilesystem,omitempty"`
	DataFilesystem *float64 `json:"DataFilesystem,omitempty"`
}

// TaskMetric is one task's containers' statistics.
type TaskMetric struct {
	TaskARN                      string                   `json:"taskArn,omitempty"`
	ClusterARN                   string                   `json:"clusterArn,omitempty"`
	TaskDefinitionFamily         string                   `json:"taskDefinitionFamily,omitempty"`
	TaskDefinitionVersion        string                   `json:"taskDefinitionVersion,omitempty"`
	ContainerMetrics             []ContainerMetric        `json:"containerMetrics,omitempty"`
	EphemeralStorageMetrics      *EphemeralStorageMetrics `json:"ephemeralStorageMetrics,omitempty"`
	VolumeMetrics                []VolumeMetric           `json:"volumeMetrics,omitempty"`
	ServiceConnectMetricsWrapper []GeneralMetricsWrapper  `json:"serviceConnectMetricsWrapper,omitempty"`
}

// ContainerMetric is one container's statistics since the last publish.
type ContainerMetric struct {
	ContainerARN    string           `json:"containerArn,omitempty"`
	ContainerName   string           `json:"containerName,omitempty"`
	CPUStatsSet     *CWStatsSet      `json:"cpuStatsSet,omitempty"`
	MemoryStatsSet  *CWStatsSet      `json:"memoryStatsSet,omitempty"`
	NetworkStatsSet *NetworkStatsSet `json:"networkStatsSet,omitempty"`
	StorageStatsSet *StorageStatsSet `json:"storageStatsSet,omitempty"`
	RestartStatsSet *RestartStatsSet `json:"restartStatsSet,omitempty"`
}

// CWStatsSet summarises samples as CloudWatch statistics: CPU in percent
// of one core, memory in MiB.
type CWStatsSet struct {
	Min         float64 `json:"min"`
	Max         float64 `json:"max"`
	SampleCount int64   `json:"sampleCount"`
	Sum         float64 `json:"sum"`
}

// UDoubleCWStatsSet is a CWStatsSet of non-negative values.
type UDoubleCWStatsSet = CWStatsSet

// ULongStatsSet summarises integer samples; the Overflow* members carry
// what exceeds the signed 64-bit range.
type ULongStatsSet struct {
	Min         uint64 `json:"min"`
	Max         uint64 `json:"max"`
	SampleCount uint64 `json:"sampleCount"`
	Sum         uint64 `json:"sum"`
	OverflowMin uint64 `json:"overflowMin,omitempty"`
	OverflowMax uint64 `json:"overflowMax,omitempty"`
	OverflowSum uint64 `json:"overflowSum,omitempty"`
}

// NetworkStatsSet is a container's traffic: per-sample deltas of the
// interface counters and per-second rates.
type NetworkStatsSet struct {
	RxBytesPerSecond *UDoubleCWStatsSet `json:"rxBytesPerSecond,omitempty"`
	RxBytes          *ULongStatsSet     `json:"rxBytes,omitempty"`
	RxDropped        *ULongStatsSet     `json:"rxDropped,omitempty"`
	RxErrors         *ULongStatsSet     `json:"rxErrors,omitempty"`
	RxPackets        *ULongStatsSet     `json:"rxPackets,omitempty"`
	TxBytesPerSecond *UDoubleCWStatsSet `json:"txBytesPerSecond,omitempty"`
	TxBytes          *ULongStatsSet     `json:"txBytes,omitempty"`
	TxDropped        *ULongStatsSet     `json:"txDropped,omitempty"`
	TxErrors         *ULongStatsSet     `json:"txErrors,omitempty"`
	TxPackets        *ULongStatsSet     `json:"txPackets,omitempty"`
}

// StorageStatsSet is a container's block I/O, per-sample deltas.
type StorageStatsSet struct {
	ReadSizeBytes  *ULongStatsSet `json:"readSizeBytes,omitempty"`
	WriteSizeBytes *ULongStatsSet `json:"writeSizeBytes,omitempty"`
}

// RestartStatsSet counts a container's restarts under its restart policy.
type RestartStatsSet struct {
	RestartCount *int64 `json:"restartCount,omitempty"`
}

// EphemeralStorageMetrics is the task's ephemeral storage use.
type EphemeralStorageMetrics struct {
	BytesUtilized *ULongStatsSet `json:"bytesUtilized,omitempty"`
}

// VolumeMetric is one volume's use.
type VolumeMetric struct {
	VolumeID   string             `json:"volumeId,omitempty"`
	VolumeName string             `json:"volumeName,omitempty"`
	Utilized   *UDoubleCWStatsSet `json:"utilized,omitempty"`
	Size       *UDoubleCWStatsSet `json:"size,omitempty"`
}

// GeneralMetricsWrapper carries Service Connect metrics.
type GeneralMetricsWrapper struct {
	Dimensions     []Dimension     `json:"dimensions,omitempty"`
	MetricType     string          `json:"metricType,omitempty"`
	GeneralMetrics []GeneralMetric `json:"generalMetrics,omitempty"`
}

// Dimension is a key and value naming a metric.
type Dimension struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value,omitempty"`
}

// GeneralMetric is a named histogram of values and counts.
type GeneralMetric struct {
	MetricName   string    `json:"metricName,omitempty"`
	MetricValues []float64 `json:"metricValues,omitempty"`
	MetricCounts []int64   `json:"metricCounts,omitempty"`
}
