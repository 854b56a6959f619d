// Package task is ecsd's model of an ECS task and its containers, with the
// pure rules of their lifecycle: statuses and their order, forward-only
// desired status, dependsOn and essential-container semantics, the next
// steps a task's worker can take (Plan), and the state changes to report.
//
// Container progression: NONE → PULLED → CREATED → RUNNING → STOPPED; a
// container whose desired status is STOPPED and that was never created
// goes straight to STOPPED.
package task
