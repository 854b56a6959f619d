// Package ssm holds the request and response shapes of the AmazonSSM JSON 1.1
// calls that hybrid (on-premises) registration uses and the public AWS SDK
// does not expose: RegisterManagedInstance, RequestManagedInstanceRoleToken and
// UpdateManagedInstancePublicKey. Field names are spelled exactly as on the
// wire. The ecsd client (package ssm at the repository root) encodes these
// shapes and ecs-local's SSM side decodes them.
//
//	POST / HTTP/1.1
//	Content-Type: application/x-amz-json-1.1
//	X-Amz-Target: AmazonSSM.<Operation>
//
//	200: the operation's Output shape
//	4xx/5xx: ErrorResponse, {"__type":"<code>","message":"…"}
//
// Secret-bearing fields have type Secret, which encodes as a plain JSON
// string but prints and logs as [redacted].
package ssm
