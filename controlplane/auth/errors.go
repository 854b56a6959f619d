package auth

import "net/http"

// Error is a verification failure, named as AWS names it.
type Error struct {
	// Type is the AWS error type, such as "InvalidSignatureException".
	Type string
	// Message is the text AWS sends with it.
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Is matches a sentinel of the same Type.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type && (t.Message == "" || t.Message == e.Message)
}

// ErrorCode is Type, as smithy-go's APIError names it.
func (e *Error) ErrorCode() string { return e.Type }

// ErrorMessage is Message, as smithy-go's APIError names it.
func (e *Error) ErrorMessage() string { return e.Message }

// StatusCode is the HTTP status AWS answers the failure with.
func (e *Error) StatusCode() int {
	if e.Type == ErrIncompleteSignature.Type {
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

// The kinds of verification failure.
var (
	// ErrMissingAuthenticationToken: the request is not signed.
	ErrMissingAuthenticationToken = &Error{Type: "MissingAuthenticationTokenException"}
	// ErrIncompleteSignature: the Authorization header or the date is
	// malformed or missing parts.
	ErrIncompleteSignature = &Error{Type: "IncompleteSignatureException"}
	// ErrInvalidSignature: the signature does not match, is scoped to
	// another service or date, or is too old or too new.
	ErrInvalidSignature = &Error{Type: "InvalidSignatureException"}
	// ErrUnrecognizedClient: the access key ID is unknown or the session
	// token does not belong to it.
	ErrUnrecognizedClient = &Error{Type: "UnrecognizedClientException"}
	// ErrExpiredToken: the credentials have expired.
	ErrExpiredToken = &Error{Type: "ExpiredTokenException"}
)

// Messages of the failures, as AWS words them.
const (
	msgMissingToken      = "Missing Authentication Token"
	msgUnrecognized      = "The security token included in the request is invalid."
	msgExpired           = "The security token included in the request is expired"
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

func fail(kind *Error, msg string) *Error { return &Error{Type: kind.Type, Message: msg} }
