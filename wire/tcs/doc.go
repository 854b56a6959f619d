// Package tcs holds the messages of the ECS Telemetry Communication Service
// (TCS) websocket, spelled exactly as AWS spells them on the wire (model
// ecstcs, apiVersion 2015-03-10). It is data only: agent/tcs encodes the
// publish requests and decodes the server's messages, and
// controlplane/tcsserver does the reverse.
//
// Every frame carries one envelope, {"type":"<ShapeName>","message":{...}}
// (Message). Frames from the agent are each SigV4 signed: the websocket
// text message is the signed request's header block in HTTP wire form, an
// empty line, then the envelope; that framing belongs to the two ends, not
// to this package. Timestamps are Timestamp: epoch seconds with a
// millisecond fraction, as a JSON number.
package tcs
