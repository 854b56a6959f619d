package ssm

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Kinds of failure. Each message is one line that says what to do; errors
// returned by this package wrap one of these where the kind is known, so
// callers test with errors.Is.
var (
	ErrNotRegistered              = errors.New("this host is not registered with SSM: run 'ecsd register --region R --activation-id ID --activation-code CODE'")
	ErrAlreadyRegistered          = errors.New("this host is already registered with SSM and nothing was changed: add --force to replace the registration")
	ErrInvalidActivation          = errors.New("the activation id or code is not valid: check --activation-id and --activation-code against 'aws ssm describe-activations', or create a new activation")
	ErrActivationExpired          = errors.New("the activation has expired: create a new one with 'aws ssm create-activation' and register again")
	ErrRegistrationLimitExceeded  = errors.New("the activation has no registrations left: create a new activation and register again")
	ErrInstanceAlreadyRegistered  = errors.New("SSM says this instance is already registered: deregister the old managed instance in SSM, then register again with --force")
	ErrInvalidPublicKey           = errors.New("SSM refused this host's public key: register again with --force to generate a new key")
	ErrFingerprintMismatch        = errors.New("SSM no longer accepts this host's fingerprint: register again with a new activation and --force")
	ErrInvalidInstanceID          = errors.New("SSM does not know this managed instance (was it deregistered?): register again with a new activation and --force")
	ErrAccessDenied               = errors.New("SSM denied the managed instance its role credentials: check the activation's IAM role and that its trust policy allows ssm.amazonaws.com")
	ErrInvalidSignature           = errors.New("SSM rejected the request signature: check the system clock (timedatectl), or register again with --force")
	ErrPublicKeyAlreadyRegistered = errors.New("SSM already holds the new public key: key rotation will try again with another key")
	ErrTooManyUpdates             = errors.New("SSM is throttling registration updates: try again in a minute")
	ErrKeyNotSaved                = errors.New("the rotated RSA key could not be saved and the old one could not be restored: keep ecsd running until it saves the key, or register again with --force")
)

// kinds maps SSM error codes to kinds; the one place the protocol's codes
// become this package's errors.
var kinds = map[string]error{
	wire.ErrCodeInvalidActivation:              ErrInvalidActivation,
	wire.ErrCodeActivationExpired:              ErrActivationExpired,
	wire.ErrCodeRegistrationLimitExceeded:      ErrRegistrationLimitExceeded,
	wire.ErrCodeInstanceAlreadyRegistered:      ErrInstanceAlreadyRegistered,
	wire.ErrCodeInvalidPublicKey:               ErrInvalidPublicKey,
	wire.ErrCodeTooManyUpdates:                 ErrTooManyUpdates,
	wire.ErrCodeMachineFingerprintDoesNotMatch: ErrFingerprintMismatch,
	wire.ErrCodeInvalidInstanceId:              ErrInvalidInstanceID,
	wire.ErrCodeAccessDeniedException:          ErrAccessDenied,
	wire.ErrCodeInvalidSignatureException:      ErrInvalidSignature,
	wire.ErrCodePublicKeyAlreadyRegistered:     ErrPublicKeyAlreadyRegistered,
}

// APIError is an error answer from SSM. It satisfies smithy.APIError, so the
// AWS SDK's retry classifiers understand it, and unwraps to the kind that
// matches its code, if any.
type APIError struct {
	Code       string
	Message    string
	StatusCode int
	RequestID  string
}

var _ smithy.APIError = (*APIError)(nil)

func (e *APIError) Error() string {
	detail := fmt.Sprintf("%s, HTTP %d", e.Code, e.StatusCode)
	if e.Message != "" {
		detail += ": " + e.Message
	}
	if e.RequestID != "" {
		detail += ", request " + e.RequestID
	}
	if kind := kinds[e.Code]; kind != nil {
		return kind.Error() + " (" + detail + ")"
	}
	return "SSM error " + detail
}

// Unwrap returns the kind of the error, or nil for codes without one.
func (e *APIError) Unwrap() error { return kinds[e.Code] }

// ErrorCode is the SSM error code, such as InvalidActivation.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage is the server's message.
func (e *APIError) ErrorMessage() string { return e.Message }

// ErrorFault says whether the client or the server is at fault.
func (e *APIError) ErrorFault() smithy.ErrorFault {
	switch {
	case e.StatusCode >= 500:
		return smithy.FaultServer
	case e.StatusCode >= 400:
		return smithy.FaultClient
	}
	return smithy.FaultUnknown
}

// HTTPStatusCode is the response's status code.
func (e *APIError) HTTPStatusCode() int { return e.StatusCode }
