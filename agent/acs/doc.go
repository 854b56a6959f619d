// Package acs is ecsd's end of the ECS Agent Communication Service (ACS)
// websocket: it dials wss://ENDPOINT/ws with a SigV4-signed handshake,
// answers every message type as the stock agent does (one file per type),
// and reconnects with backoff. What a message means for tasks and
// credentials is the Handler's business; this package only speaks the
// protocol, whose shapes live in wire/acs. The connection itself (URL,
// signed dial, backoff, deadlines, lifetime) is agent/wsclient's, shared
// with agent/tcs.
//
//	Run ─► Endpoint() ─► dial (signed GET, proxy) ─► serve ─┬─ read loop ─► dispatch ─► Handler
//	 ▲                                                      └─ monitor: inactivity, lifetime, ctx
//	 └─ wait: none (clean close, expiry) | backoff | InactivePause ◄── why the connection ended
//
// Acks follow "persist before you promise": a PayloadMessage is acked only
// after Handler.Payload returned nil, a TaskManifestMessage only after its
// timeline was stored with Handler.SetManifestSeq.
package acs
