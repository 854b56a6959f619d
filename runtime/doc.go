// Package runtime runs containers on containerd for ecsd: it pulls and
// imports images, creates containers from a ContainerSpec, starts, waits for,
// stops, execs into and removes them, reads their stats, and lists the
// containers ecsd owns (by label) so that a restarted agent can adopt them.
//
// Everything lives in one containerd namespace (ecsd by default). runtime
// knows nothing of ECS: the agent translates task definitions into
// ContainerSpecs. Errors that ECS reports by name wrap the sentinels in
// errors.go, whose text is ECS's own error name.
//
// A container's life:
//
//	Create ──► Start ──► (running) ──► exit ──► Start again (restart in place)
//	   │                    │                │
//	   │                    └── Stop ────────┤
//	   └──────────────────────────────────── Remove
//
// When the main process exits, its status (code, OOM kill, time) is written
// to the container's labels before containerd's task is deleted, so the
// status survives an agent crash.
package runtime
