package tcs

import (
	"encoding/json"
	"log/slog"
)

// Message is the envelope of every TCS frame in either direction.
type Message struct {
	// Type is the model shape name of Message, one of the Type* constants.
	Type string `json:"type"`
	// Message is the shape itself, decoded once Type is known.
	Message json.RawMessage `json:"message"`
}

// LogValue logs the envelope's type and size only.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", m.Type), slog.Int("bytes", len(m.Message)))
}

// Type names, as they appear in Message.Type.
const (
	// Agent to server.
	TypePublishMetricsRequest        = "PublishMetricsRequest"
	TypePublishHealthRequest         = "PublishHealthRequest"
	TypePublishInstanceStatusRequest = "PublishInstanceStatusRequest"
	TypeStartTelemetrySessionRequest = "StartTelemetrySessionRequest"

	// Server to agent.
	TypeHeartbeatMessage            = "HeartbeatMessage"
	TypeAckPublishMetric            = "AckPublishMetric"
	TypeAckPublishHealth            = "AckPublishHealth"
	TypeAckPublishInstanceStatus    = "AckPublishInstanceStatus"
	TypeStopTelemetrySessionMessage = "StopTelemetrySessionMessage"

	// Exceptions; each carries an Exception.
	TypeBadRequestException         = "BadRequestException"
	TypeResourceValidationException = "ResourceValidationException"
	TypeInvalidParameterException   = "InvalidParameterException"
	TypeServerException             = "ServerException"
)

// HeartbeatMessage is TCS's keep-alive; the agent does not answer it.
type HeartbeatMessage struct {
	Healthy bool `json:"healthy,omitempty"`
}

// AckPublishMetric acknowledges a PublishMetricsRequest; Message is the
// request's metadata.messageId.
type AckPublishMetric struct {
	Message string `json:"message,omitempty"`
}

// AckPublishHealth acknowledges a PublishHealthRequest; Message is the
// request's metadata.messageId.
type AckPublishHealth struct {
	Message string `json:"message,omitempty"`
}

// AckPublishInstanceStatus acknowledges a PublishInstanceStatusRequest;
// Message is the request's metadata.requestId.
type AckPublishInstanceStatus struct {
	Message string `json:"message,omitempty"`
}

// StopTelemetrySessionMessage asks the agent to end the session.
type StopTelemetrySessionMessage struct {
	Message string `json:"message,omitempty"`
}

// StartTelemetrySessionRequest is in the model but the agent never sends
// it: the session is the websocket itself.
type StartTelemetrySessionRequest struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
}

// Exception is the body of every exception type (BadRequestException,
// ResourceValidationException, InvalidParameterException,
// ServerException).
type Exception struct {
	Message string `json:"message,omitempty"`
}
