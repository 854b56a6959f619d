package acs

import (
	"context"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// sender writes one frame to ACS; a connection is one, and so is a test's
// recorder.
type sender interface {
	send(msgType string, body any) error
}

// handleFrame decodes and dispatches one frame. A frame it cannot decode is
// logged and skipped; the error it returns ends the connection.
func (s *Session) handleFrame(ctx context.Context, out sender, data []byte) error {
	msg, err := wsclient.DecodeFrame(data)
	if err != nil {
		s.log.Warn("malformed ACS frame skipped", keyError, err, "bytes", len(data))
		return nil
	}
	return s.dispatch(ctx, out, msg)
}

// dispatch answers one message; each type's handling is in its own file.
// Only InactiveInstanceException ends the connection.
func (s *Session) dispatch(ctx context.Context, out sender, msg acs.Message) error {
	switch msg.Type {
	case acs.TypePayloadMessage:
		s.handlePayload(ctx, out, msg.Message)
	case acs.TypeHeartbeatMessage:
		s.handleHeartbeat(out, msg.Message)
	case acs.TypeIAMRoleCredentialsMessage:
		s.handleCredentials(ctx, out, msg.Message)
	case acs.TypeTaskManifestMessage:
		s.handleManifest(out, msg.Message)
	case acs.TypeTaskStopVerificationAck:
		s.handleStopVerificationAck(ctx, msg.Message)
	case acs.TypeStageUpdateMessage, acs.TypePerformUpdateMessage:
		s.handleUpdate(out, msg.Type, msg.Message)
	case acs.TypeAttachTaskNetworkInterfacesMessage, acs.TypeAttachInstanceNetworkInterfacesMessage,
		acs.TypeConfirmAttachmentMessage:
		s.handleAttachment(out, msg.Type, msg.Message)
	case acs.TypeCloseMessage:
		s.handleClose(msg.Message)
	case acs.TypeErrorMessage:
		s.handleErrorMessage(msg.Message)
	case acs.TypeServerException, acs.TypeBadRequestException, acs.TypeInvalidClusterException,
		acs.TypeInvalidInstanceException, acs.TypeAccessDeniedException, acs.TypeInactiveInstanceException:
		return s.handleException(msg.Type, msg.Message)
	default:
		s.handleUnknown(msg)
	}
	return nil
}

// malformed logs a message whose body does not decode as its type.
func (s *Session) malformed(typ string, err error) {
	s.log.Warn("malformed ACS message skipped", keyType, typ, keyError, err)
}

// reply sends one answer, logging a failure: the read loop notices a dead
// connection by itself.
func (s *Session) reply(out sender, msgType string, body any) {
	if err := out.send(msgType, body); err != nil {
		s.log.Warn("send to ACS", keyType, msgType, keyError, err)
	}
}
