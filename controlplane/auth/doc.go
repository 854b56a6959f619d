// Package auth verifies AWS Signature Version 4 on the requests ecs-local
// receives. A Keyring holds the credentials ecs-local knows (its admin
// keys, the temporary role credentials it issues to tasks, the instance
// credentials the SSM side issues); Verify re-signs a request with the AWS
// SDK's own v4 signer, under the date, region and signed headers the
// request names, and compares the signatures in constant time.
//
// Failures are *Error values carrying the error type a real AWS endpoint
// returns (UnrecognizedClientException, InvalidSignatureException, ...);
// errors.Is matches them against the Err* sentinels.
package auth
