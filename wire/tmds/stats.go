package tmds

// Stats is Docker's container stats JSON (GET /containers/{id}/stats), the
// shape of /v3|v4/{endpointId}/stats and of each value of .../task/stats.
// NetworkRateStats is v4's addition.
type Stats struct {
	Read             string                  `json:"read"`
	PreRead          string                  `json:"preread"`
	PidsStats        PidsStats               `json:"pids_stats"`
	BlkioStats       BlkioStats              `json:"blkio_stats"`
	NumProcs         uint32                  `json:"num_procs"`
	StorageStats     struct{}                `json:"storage_stats"`
	CPUStats         CPUStats                `json:"cpu_stats"`
	PreCPUStats      CPUStats                `json:"precpu_stats"`
	MemoryStats      MemoryStats             `json:"memory_stats"`
	Name             string                  `json:"name"`
	ID               string                  `json:"id"`
	Networks         map[string]NetworkStats `json:"networks,omitempty"`
	NetworkRateStats *NetworkRateStats       `json:"network_rate_stats,omitempty"`
}

// PidsStats counts a container's processes.
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats are block I/O counters; ecsd fills io_service_bytes_recursive.
type BlkioStats struct {
	IOServiceBytesRecursive []BlkioEntry `json:"io_service_bytes_recursive"`
	IOServicedRecursive     []BlkioEntry `json:"io_serviced_recursive"`
	IOQueueRecursive        []BlkioEntry `json:"io_queue_recursive"`
	IOServiceTimeRecursive  []BlkioEntry `json:"io_service_time_recursive"`
	IOWaitTimeRecursive     []BlkioEntry `json:"io_wait_time_recursive"`
	IOMergedRecursive       []BlkioEntry `json:"io_merged_recursive"`
	IOTimeRecursive         []BlkioEntry `json:"io_time_recursive"`
	SectorsRecursive        []BlkioEntry `json:"sectors_recursive"`
}

// BlkioEntry is one block I/O counter.
type BlkioEntry struct {
	Major uint64 `json:"major"`
	Minor uint64 `json:"minor"`
	Op    string `json:"op"`
	Value uint64 `json:"value"`
}

// CPUStats are CPU counters in nanoseconds.
type CPUStats struct {
	CPUUsage       CPUUsage       `json:"cpu_usage"`
	SystemUsage    uint64         `json:"system_cpu_usage,omitempty"`
	OnlineCPUs     uint32         `json:"online_cpus,omitempty"`
	ThrottlingData ThrottlingData `json:"throttling_data"`
}

// CPUUsage is a container's CPU time.
type CPUUsage struct {
	TotalUsage        uint64 `json:"total_usage"`
	UsageInKernelmode uint64 `json:"usage_in_kernelmode"`
	UsageInUsermode   uint64 `json:"usage_in_usermode"`
}

// ThrottlingData is CFS throttling.
type ThrottlingData struct {
	Periods          uint64 `json:"periods"`
	ThrottledPeriods uint64 `json:"throttled_periods"`
	ThrottledTime    uint64 `json:"throttled_time"`
}

// MemoryStats are memory counters in bytes.
type MemoryStats struct {
	Usage    uint64            `json:"usage,omitempty"`
	MaxUsage uint64            `json:"max_usage,omitempty"`
	Stats    map[string]uint64 `json:"stats,omitempty"`
	Limit    uint64            `json:"limit,omitempty"`
}

// NetworkStats are one interface's counters.
type NetworkStats struct {
	RxBytes   uint64 `json:"rx_bytes"`
	RxPackets uint64 `json:"rx_packets"`
	RxErrors  uint64 `json:"rx_errors"`
	RxDropped uint64 `json:"rx_dropped"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxPackets uint64 `json:"tx_packets"`
	TxErrors  uint64 `json:"tx_errors"`
	TxDropped uint64 `json:"tx_dropped"`
}

// NetworkRateStats are bytes per second since the previous sample.
type NetworkRateStats struct {
	RxBytesPerSec float64 `json:"rx_bytes_per_sec"`
	TxBytesPerSec float64 `json:"tx_bytes_per_sec"`
}
