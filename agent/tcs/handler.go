package tcs

import (
	"encoding/json"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// handleFrame decodes and handles one frame from TCS. It reports whether
// the frame proves the server alive (a heartbeat or an ack); its error,
// errStopped, ends the connection. Nothing else a server sends is fatal.
func (s *Session) handleFrame(data []byte) (alive bool, err error) {
	msg, err := wsclient.DecodeFrame(data)
	if err != nil {
		s.log.Warn("malformed TCS frame skipped", keyError, err, "bytes", len(data))
		return false, nil
	}
	switch msg.Type {
	case tcs.TypeHeartbeatMessage:
		var hb tcs.HeartbeatMessage
		if err := json.Unmarshal(msg.Message, &hb); err != nil {
			s.malformed(msg.Type, err)
			return false, nil
		}
		s.log.Debug("TCS heartbeat", "healthy", hb.Healthy)
		return true, nil
	case tcs.TypeAckPublishMetric, tcs.TypeAckPublishHealth, tcs.TypeAckPublishInstanceStatus:
		var ack struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(msg.Message, &ack); err != nil {
			s.malformed(msg.Type, err)
			return false, nil
		}
		s.log.Debug("TCS acknowledged", keyType, msg.Type, keyMessageID, ack.Message)
		return true, nil
	case tcs.TypeStopTelemetrySessionMessage:
		var stop tcs.StopTelemetrySessionMessage
		if err := json.Unmarshal(msg.Message, &stop); err != nil {
			s.malformed(msg.Type, err)
			return false, nil
		}
		s.log.Info("TCS asked to stop the telemetry session", keyReason, stop.Message)
		return false, errStopped
	case tcs.TypeBadRequestException, tcs.TypeResourceValidationException,
		tcs.TypeInvalidParameterException, tcs.TypeServerException:
		var ex tcs.Exception
		if err := json.Unmarshal(msg.Message, &ex); err != nil {
			s.malformed(msg.Type, err)
			return false, nil
		}
		s.log.Warn("TCS sent an exception", keyType, msg.Type, keyReason, ex.Message)
		return false, nil
	default:
		s.log.Warn("unknown TCS message skipped", keyType, msg.Type, "bytes", len(msg.Message))
		return false, nil
	}
}

// malformed logs a message whose body does not decode as its type.
func (s *Session) malformed(typ string, err error) {
	s.log.Warn("malformed TCS message skipped", keyType, typ, keyError, err)
}
