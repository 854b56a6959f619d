// Package ecs holds the request and response shapes of the Amazon ECS API
// calls that ecs-local (package controlplane) serves, spelled exactly as the
// ECS API spells them on the wire. It is data only: controlplane decodes the
// requests and encodes the responses; clients use the AWS SDK, whose model a
// round-trip test in controlplane keeps these shapes in step with.
//
//	POST / HTTP/1.1
//	Content-Type: application/x-amz-json-1.1
//	X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>
//	Authorization: AWS4-HMAC-SHA256 Credential=…/…/<region>/ecs/aws4_request, …
//
//	200: the operation's <Operation>Response shape
//	4xx/5xx: ErrorResponse, {"__type":"<ErrorType>","message":"…"}, and the
//	         X-Amzn-Errortype header naming the same type
//
// Only the operations ecs-local implements, and of their members those it
// reads or fills, are here. Timestamps are epoch seconds as JSON numbers
// (Timestamp). Optional scalars whose absence means something other than
// their zero value (count, essential, memory, hostPort, exitCode, ...) are
// pointers.
package ecs
