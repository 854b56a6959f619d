// Package controlplane is ecs-local as a library: an http.Handler that
// serves the Amazon ECS API (JSON 1.1, SigV4-verified against an
// auth.Keyring) for external container instances, schedules tasks onto
// them, and hands the tasks to the agents through a Dispatcher that the ACS
// server implements. AmazonSSM.* requests go to Config.SSM and websocket
// connections (GET /ws) to Config.ACS.
//
//	POST /  X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>  → ECS API (this package)
//	POST /  X-Amz-Target: AmazonSSM.<Op>                          → Config.SSM
//	GET  /ws                                                      → Config.ACS
//
// A task's life here:
//
//	RunTask/StartTask/service ──► PENDING, desired RUNNING ──Dispatch──► agent acknowledges (acked RUNNING)
//	SubmitTaskStateChange RUNNING ──► RUNNING
//	StopTask/scheduler ──► desired STOPPED ──Dispatch──► agent stops it
//	SubmitTaskStateChange STOPPED ──► STOPPED (resources released; a service starts a replacement)
//
// A task no agent has acknowledged stops at once. Tasks are dispatched after
// the transaction that creates or stops them commits; what an agent has not
// acknowledged is dispatched again by OnConnect, and by Run while the agent
// is connected. Service reconciliation is event-driven (after every change
// that can affect a service) and also runs every ReconcileInterval in Run.
//
// State lives in one bbolt file, DataDir/ecs-local.db (mode 0600); values
// are JSON:
//
//	meta         schema → "1"
//	clusters     NAME → ecs.Cluster (counts computed when described)
//	taskdefs     FAMILY:REVISION(10 digits) → ecs.TaskDefinition
//	tasks        CLUSTER/TASKID → taskRecord (ecs.Task, service, acked status, reservations, credentials)
//	instances    CLUSTER/INSTANCEID → instanceRecord (ecs.ContainerInstance, registering principal)
//	services     CLUSTER/NAME → serviceRecord (ecs.Service with deployments and events)
//	tags         ARN → []ecs.Tag
//	credentials  ACCESSKEYID → credentialRecord (admin keys; task role keys until they expire)
//
// On first start New creates admin credentials and writes them, with the
// region, to DataDir/credentials and DataDir/config in the AWS CLI formats.
// Re-registering a container instance keeps its ARN and takes the resources
// and attributes it reports now.
package controlplane
