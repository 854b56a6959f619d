// Package tcs is ecsd's end of the ECS Telemetry Communication Service
// (TCS) websocket: it samples each running container's CPU and memory,
// and every publish interval sends the instance's metrics, its
// containers' health and its instance status, as the stock agent does.
// The shapes live in wire/tcs; the connection itself (URL, signed dial,
// backoff, deadlines, lifetime) is agent/wsclient's, shared with agent/acs.
//
//	Run ─┬─ sampler: every SampleInterval, Source.Stats per running container ─► bounded queues
//	     └─ Endpoint() ─► dial (signed GET, proxy) ─► serve ─┬─ read loop: heartbeats, acks, stop, exceptions
//	          ▲                                              ├─ publisher: every PublishInterval, metrics, health, status
//	          │                                              └─ monitor: heartbeat timeout, lifetime, ctx
//	          └─ wait: none (clean close, expiry) | backoff ◄── why the connection ended
//
// Unlike ACS, every frame the agent sends is signed on its own: the text
// message is the header block of a SigV4-signed "GET <websocket URL>" whose
// body is the JSON envelope, an empty line, then the envelope itself.
// Frames the server sends are never fatal: unknown or malformed ones are
// logged and skipped.
package tcs
