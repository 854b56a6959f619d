package acs

// TaskManifestMessage lists the tasks ACS believes run on the instance.
type TaskManifestMessage struct {
	ContainerInstanceARN string           `json:"containerInstanceArn,omitempty"`
	ClusterARN           string           `json:"clusterArn,omitempty"`
	Tasks                []TaskIdentifier `json:"tasks,omitempty"`
	GeneratedAt          int64            `json:"generatedAt,omitempty"`
	MessageID            string           `json:"messageId,omitempty"`
	Timeline             *int64           `json:"timeline,omitempty"`
}

// TaskIdentifier names a task and its desired status.
type TaskIdentifier struct {
	TaskARN        string `json:"taskArn,omitempty"`
	TaskClusterARN string `json:"taskClusterArn,omitempty"`
	DesiredStatus  string `json:"desiredStatus,omitempty"`
}

// TaskStopVerificationMessage (agent to ACS) asks which of the running
// tasks missing from the manifest should stop.
type TaskStopVerificationMessage struct {
	MessageID      string           `json:"messageId,omitempty"`
	StopCandidates []TaskIdentifier `json:"stopCandidates,omitempty"`
}

// TaskStopVerificationAck (ACS to agent) lists the tasks to stop.
type TaskStopVerificationAck struct {
	GeneratedAt int64            `json:"generatedAt,omitempty"`
	MessageID   string           `json:"messageId,omitempty"`
	StopTasks   []TaskIdentifier `json:"stopTasks,omitempty"`
}
