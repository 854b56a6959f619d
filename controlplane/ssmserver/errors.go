package ssmserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Error codes this server answers with besides those in wire/ssm, spelled as
// SSM and the AWS JSON protocol spell them.
const (
	codeValidation             = "ValidationException"
	codeSerialization          = "SerializationException"
	codeUnknownOperation       = "UnknownOperationException"
	codeMissingAuthentication  = "MissingAuthenticationTokenException"
	codeIncompleteSignature    = "IncompleteSignatureException"
	codeInvalidActivationID    = "InvalidActivationId"
	codeInvalidFilter          = "InvalidFilter"
	codeInvalidFilterKey       = "InvalidFilterKey"
	codeInvalidNextToken       = "InvalidNextToken"
	codeInvalidInstanceFilter  = "InvalidInstanceInformationFilterValue"
	defaultVerifyFailureCode   = wire.ErrCodeInvalidSignatureException
	internalServerErrorMessage = "An internal error occurred; see ecs-local's log"
)

// apiError is an answer in the AWS JSON 1.1 error shape. Handlers return one
// for every failure the caller should see; writeError turns it into the
// response, the one place where that happens.
type apiError struct {
	Status int
	Code   string
	Msg    string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Msg }

// badRequest is an HTTP 400 answer, the status SSM gives every client error.
func badRequest(code, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: code, Msg: fmt.Sprintf(format, args...)}
}

// asAPIError returns err as the answer to send: an *apiError in its chain,
// an error that carries its own AWS code (as a SigV4 verifier's may), or
// InternalServerError for anything else.
func asAPIError(err error) (e *apiError, internal bool) {
	if errors.As(err, &e) {
		return e, false
	}
	return &apiError{Status: http.StatusInternalServerError, Code: wire.ErrCodeInternalServerError, Msg: internalServerErrorMessage}, true
}

// verifyError maps a failure of Config.Verify to an answer. An error that
// names its AWS code (ErrorCode() string, as smithy.APIError does) keeps it,
// with its ErrorMessage() and its status (HTTPStatusCode() or StatusCode())
// if it has them; any other is an InvalidSignatureException carrying the
// error's text.
func verifyError(err error) *apiError {
	var e *apiError
	if errors.As(err, &e) {
		return e
	}
	var coded interface{ ErrorCode() string }
	if !errors.As(err, &coded) || coded.ErrorCode() == "" {
		return badRequest(defaultVerifyFailureCode, "%s", err.Error())
	}
	out := &apiError{Status: http.StatusBadRequest, Code: coded.ErrorCode(), Msg: err.Error()}
	if m, ok := coded.(interface{ ErrorMessage() string }); ok {
		out.Msg = m.ErrorMessage()
	}
	if s, ok := coded.(interface{ HTTPStatusCode() int }); ok && s.HTTPStatusCode() >= 400 {
		out.Status = s.HTTPStatusCode()
	} else if s, ok := coded.(interface{ StatusCode() int }); ok && s.StatusCode() >= 400 {
		out.Status = s.StatusCode()
	}
	return out
}

// writeError writes e as AWS JSON 1.1 does: the status, the code in
// X-Amzn-Errortype and in the body's __type, and the message.
func writeError(w http.ResponseWriter, e *apiError) {
	w.Header().Set(wire.HeaderContentType, wire.ContentType)
	w.Header().Set(wire.HeaderErrorType, e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(wire.ErrorResponse{Type: e.Code, Message: e.Msg})
}
