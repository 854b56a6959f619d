// Package wsserver is the websocket endpoint scaffolding that ecs-local's
// ACS and TCS servers share: upgrade after a handshake the protocol has
// verified, one session per container instance (a new connection replaces
// and closes the old), heartbeats on an injected clock, writes under one
// lock with a timeout, and a Close that refuses new handshakes and waits
// for every connection. What the handshake query names, how a refusal's
// body looks and what the frames mean stay with controlplane/acsserver and
// controlplane/tcsserver, which this package never imports; it imports
// only wire/wsenvelope, the frame envelope both protocols use.
//
//	ServeHTTP (protocol: method, signature, query)
//	  └─ Server.Serve ─ upgrade ─► newSession(*Conn) ─► register (old one closed, 1000)
//	        ├─ heartbeat loop ─┐
//	        ├─ OnConnect ──────┤ ctx ends with the connection
//	        └─ read loop ─► OnFrame per text frame ─► end: unregister, wait
package wsserver
