package tcs

import "github.com/ecsd-project/ecsd/wire/wsenvelope"

// Message is the envelope of every TCS frame in either direction,
// {"type","message"}; its LogValue logs the type and size only.
type Message = wsenvelope.Message

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
