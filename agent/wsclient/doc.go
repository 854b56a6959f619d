// Package wsclient is the part that agent/acs and agent/tcs share: a
// SigV4-signed websocket client connection to an ECS endpoint. It builds
// the https://ENDPOINT/ws?QUERY URL, signs and dials the handshake (service
// "ecs", proxy, TLS 1.2 or later), paces reconnects with the stock agent's
// backoff, and keeps one connection's write lock, socket deadlines,
// inactivity timeout and maximum lifetime. What the frames mean, the query
// each service wants and how a refusal's body decodes stay with the
// protocol packages, which this one never imports.
//
//	EndpointURL ─► Dialer.Dial (signed GET) ─► Conn ─┬─ Read / Write (deadlines, one writer)
//	                                                 └─ Monitor: idle timeout, lifetime, ctx ─► Close
package wsclient
