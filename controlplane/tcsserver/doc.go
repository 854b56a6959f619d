// Package tcsserver is ecs-local's end of the TCS (telemetry) websocket:
// an http.Handler that verifies the agent's signed handshake and then the
// SigV4 signature of every frame (each frame is a signed request's header
// block, an empty line and the JSON envelope), acknowledges each publish
// (AckPublishMetric, AckPublishHealth, AckPublishInstanceStatus), sends
// heartbeats, and keeps in memory the latest metrics set, health set and
// instance status of each container instance for Latest and the status
// page. Frames are the shapes of wire/tcs; garbage is logged and skipped.
// The connection scaffolding (upgrade, the session per instance,
// heartbeats, timed writes, Close) is controlplane/wsserver's.
package tcsserver
