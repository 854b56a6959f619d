// Package acsserver is ecs-local's end of the ACS websocket: an
// http.Handler for GET /ws that verifies the agent's signed handshake,
// keeps one connection per container instance (a new one replaces the
// old), sends heartbeats, and lets the control plane send messages,
// deliver payloads and wait for their AckRequest. Frames are the shapes of
// wire/acs; garbage from an agent is logged and skipped. The connection
// scaffolding (upgrade, the session per instance, heartbeats, timed
// writes, Close) is controlplane/wsserver's; this package keeps the
// handshake's query and refusals, acks, payloads, manifests and
// credentials acks.
package acsserver
