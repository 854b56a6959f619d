package acs

import (
	"encoding/json"
	"errors"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// Kinds of exception ACS reports; a *ServerError matches its kind with
// errors.Is.
var (
	ErrInactiveInstance = errors.New("container instance is inactive")
	ErrInvalidInstance  = errors.New("invalid container instance")
	ErrInvalidCluster   = errors.New("invalid cluster")
	ErrAccessDenied     = errors.New("access denied")
	ErrBadRequest       = errors.New("bad request")
	ErrServer           = errors.New("ACS server error")
)

var exceptionKinds = map[string]error{
	acs.TypeInactiveInstanceException: ErrInactiveInstance,
	acs.TypeInvalidInstanceException:  ErrInvalidInstance,
	acs.TypeInvalidClusterException:   ErrInvalidCluster,
	acs.TypeAccessDeniedException:     ErrAccessDenied,
	acs.TypeBadRequestException:       ErrBadRequest,
	acs.TypeServerException:           ErrServer,
}

// ServerError is an exception from ACS: the body of a refused handshake or
// an exception frame.
type ServerError struct {
	// Type is the exception's shape name, such as InvalidClusterException.
	Type    string
	Message string
	// StatusCode is the HTTP status of a refused handshake; 0 for a frame.
	StatusCode int
}

func (e *ServerError) Error() string { return e.Type + ": " + e.Message }

// Is matches the Err* kind of e's Type.
func (e *ServerError) Is(target error) bool {
	kind, ok := exceptionKinds[e.Type]
	return ok && kind == target
}

// handshakeError decodes the body of a refused handshake, framed
// ({"type":"X","message":{"message":"..."}}) or not ({"X":"..."}); nil if
// the body is neither.
func handshakeError(status int, body []byte) *ServerError {
	typ, msg, ok := wsclient.DecodeRefusal(body)
	if !ok {
		return nil
	}
	return &ServerError{Type: typ, Message: msg, StatusCode: status}
}

// handleErrorMessage logs an ErrorMessage; ACS closes the connection
// itself if it must.
func (s *Session) handleErrorMessage(raw json.RawMessage) {
	var msg acs.ErrorMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeErrorMessage, err)
		return
	}
	s.log.Warn("ACS reported an error", keyReason, msg.Message)
}

// handleException logs an exception frame. InactiveInstanceException ends
// the connection with a *ServerError, and Run pauses.
func (s *Session) handleException(typ string, raw json.RawMessage) error {
	var ex acs.Exception
	if err := json.Unmarshal(raw, &ex); err != nil {
		s.malformed(typ, err)
		return nil
	}
	se := &ServerError{Type: typ, Message: ex.Message}
	s.log.Warn("ACS sent an exception", keyType, typ, keyReason, ex.Message)
	if errors.Is(se, ErrInactiveInstance) {
		return se
	}
	return nil
}
