package ecs

// Cluster is a logical group of container instances and the tasks on them.
// The counts are always present.
type Cluster struct {
	ClusterARN                        string           `json:"clusterArn,omitempty"`
	ClusterName                       string           `json:"clusterName,omitempty"`
	Status                            string           `json:"status,omitempty"`
	RegisteredContainerInstancesCount int32            `json:"registeredContainerInstancesCount"`
	RunningTasksCount                 int32            `json:"runningTasksCount"`
	PendingTasksCount                 int32            `json:"pendingTasksCount"`
	ActiveServicesCount               int32            `json:"activeServicesCount"`
	Statistics                        []KeyValuePair   `json:"statistics,omitempty"`
	Tags                              []Tag            `json:"tags,omitempty"`
	Settings                          []ClusterSetting `json:"settings,omitempty"`
	CapacityProviders                 []string         `json:"capacityProviders,omitempty"`
}

// ClusterSetting is a cluster setting such as containerInsights.
type ClusterSetting struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
}

// CreateClusterRequest creates a cluster; creating one that exists returns
// it.
type CreateClusterRequest struct {
	ClusterName string           `json:"clusterName,omitempty"`
	Tags        []Tag            `json:"tags,omitempty"`
	Settings    []ClusterSetting `json:"settings,omitempty"`
}

// CreateClusterResponse returns the cluster.
type CreateClusterResponse struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

// DeleteClusterRequest deletes an empty cluster, by name or ARN.
type DeleteClusterRequest struct {
	Cluster string `json:"cluster,omitempty"`
}

// DeleteClusterResponse returns the cluster, now INACTIVE.
type DeleteClusterResponse struct {
	Cluster *Cluster `json:"cluster,omitempty"`
}

// DescribeClustersRequest names clusters by name or ARN; none means the
// default cluster.
type DescribeClustersRequest struct {
	Clusters []string `json:"clusters,omitempty"`
	Include  []string `json:"include,omitempty"`
}

// DescribeClustersResponse lists the clusters found and a MISSING failure
// for each one not found.
type DescribeClustersResponse struct {
	Clusters []Cluster `json:"clusters"`
	Failures []Failure `json:"failures"`
}

// ListClustersRequest pages through the cluster ARNs.
type ListClustersRequest struct {
	MaxResults *int32 `json:"maxResults,omitempty"`
	NextToken  string `json:"nextToken,omitempty"`
}

// ListClustersResponse is one page of cluster ARNs.
type ListClustersResponse struct {
	ClusterARNs []string `json:"clusterArns"`
	NextToken   string   `json:"nextToken,omitempty"`
}

// TagResourceRequest adds tags to a resource, replacing tags with the same
// key.
type TagResourceRequest struct {
	ResourceARN string `json:"resourceArn,omitempty"`
	Tags        []Tag  `json:"tags,omitempty"`
}

// TagResourceResponse is empty.
type TagResourceResponse struct{}

// ListTagsForResourceRequest names the resource by ARN.
type ListTagsForResourceRequest struct {
	ResourceARN string `json:"resourceArn,omitempty"`
}

// ListTagsForResourceResponse lists the resource's tags.
type ListTagsForResourceResponse struct {
	Tags []Tag `json:"tags"`
}
