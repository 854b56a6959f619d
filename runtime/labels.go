package runtime

// Labels on every containerd container ecsd creates. The identity labels
// are the ones the ECS agent puts on its Docker containers; LabelManagedBy
// (value "true") marks a container as ecsd's, so that a restarted agent can
// list, adopt or remove exactly its own containers.
const (
	LabelTaskARN       = "com.amazonaws.ecs.task-arn"
	LabelContainerName = "com.amazonaws.ecs.container-name"
	LabelTaskFamily    = "com.amazonaws.ecs.task-definition-family"
	LabelTaskVersion   = "com.amazonaws.ecs.task-definition-version"
	LabelCluster       = "com.amazonaws.ecs.cluster"
	LabelManagedBy     = "io.ecsd.managed"
	// LabelEssential records the container's essential flag, so that a
	// task rebuilt from labels (after its state was lost) keeps it.
	LabelEssential = "io.ecsd.essential"
)

// Labels the runtime keeps for itself.
const (
	// labelStopSignal is the signal Stop sends first, resolved at Create
	// from the spec or the image.
	labelStopSignal = "io.ecsd.stop-signal"
	// The main process's exit, written before containerd's task is deleted
	// so that it survives an agent crash. Empty while the container runs.
	labelExitCode  = "io.ecsd.exit-code"
	labelExitedAt  = "io.ecsd.exited-at"
	labelOOMKilled = "io.ecsd.oom-killed"
)
