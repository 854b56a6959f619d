// Package acs holds the messages of the ECS Agent Communication Service
// (ACS) websocket, spelled exactly as AWS spells them on the wire. It is
// data only: agent/acs decodes these types and controlplane (ecs-local)
// encodes them.
//
// Every frame is one envelope, {"type":"<ShapeName>","message":{...}};
// Message carries the envelope and the Type* constants name every shape.
// Optional scalars whose absence means something other than their zero value
// (cpu, memory, essential, privileged, hostPort, ...) are pointers. Fields
// the model types as String holding JSON (overrides, dockerConfig.config,
// dockerConfig.hostConfig, agentConfiguration) stay strings: they are
// decoded where they are used. Secrets (secretAccessKey, sessionToken) are
// SensitiveString, which prints and logs as "[redacted]" but encodes its
// real value.
package acs
