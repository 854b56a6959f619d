package acs

import "github.com/ecsd-project/ecsd/wire/wsenvelope"

// Message is the envelope of every ACS frame in either direction,
// {"type","message"}; its LogValue logs the type and size only, as the
// body may carry credentials.
type Message = wsenvelope.Message

// Type names, as they appear in Message.Type.
const (
	// Server to agent.
	TypePayloadMessage                         = "PayloadMessage"
	TypeHeartbeatMessage                       = "HeartbeatMessage"
	TypeIAMRoleCredentialsMessage              = "IAMRoleCredentialsMessage"
	TypeTaskManifestMessage                    = "TaskManifestMessage"
	TypeTaskStopVerificationAck                = "TaskStopVerificationAck"
	TypeAttachTaskNetworkInterfacesMessage     = "AttachTaskNetworkInterfacesMessage"
	TypeAttachInstanceNetworkInterfacesMessage = "AttachInstanceNetworkInterfacesMessage"
	TypeConfirmAttachmentMessage               = "ConfirmAttachmentMessage"
	TypeStageUpdateMessage                     = "StageUpdateMessage"
	TypePerformUpdateMessage                   = "PerformUpdateMessage"
	TypeCloseMessage                           = "CloseMessage"
	TypeErrorMessage                           = "ErrorMessage"

	// Agent to server.
	TypeAckRequest                   = "AckRequest"
	TypeNackRequest                  = "NackRequest"
	TypeHeartbeatAckRequest          = "HeartbeatAckRequest"
	TypeIAMRoleCredentialsAckRequest = "IAMRoleCredentialsAckRequest"
	TypeTaskStopVerificationMessage  = "TaskStopVerificationMessage"

	// Exceptions; each carries an Exception.
	TypeServerException           = "ServerException"
	TypeBadRequestException       = "BadRequestException"
	TypeInvalidClusterException   = "InvalidClusterException"
	TypeInvalidInstanceException  = "InvalidInstanceException"
	TypeAccessDeniedException     = "AccessDeniedException"
	TypeInactiveInstanceException = "InactiveInstanceException"
)

// AckRequest acknowledges a PayloadMessage, TaskManifestMessage, attachment
// or update message.
type AckRequest struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	MessageID         string `json:"messageId,omitempty"`
}

// NackRequest refuses a StageUpdateMessage or PerformUpdateMessage.
type NackRequest struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	MessageID         string `json:"messageId,omitempty"`
	Reason            string `json:"reason,omitempty"`
}

// HeartbeatMessage is ACS's keep-alive; the agent answers with a
// HeartbeatAckRequest carrying the same MessageID.
type HeartbeatMessage struct {
	Healthy   bool   `json:"healthy,omitempty"`
	MessageID string `json:"messageId,omitempty"`
}

// HeartbeatAckRequest answers a HeartbeatMessage.
type HeartbeatAckRequest struct {
	MessageID string `json:"messageId,omitempty"`
}

// CloseMessage asks the agent to close the connection.
type CloseMessage struct {
	Message string `json:"message,omitempty"`
}

// ErrorMessage reports a server-side error.
type ErrorMessage struct {
	Message string `json:"message,omitempty"`
}

// Exception is the body of every exception type (ServerException,
// BadRequestException, InvalidClusterException, InvalidInstanceException,
// AccessDeniedException, InactiveInstanceException).
type Exception struct {
	Message string `json:"message,omitempty"`
}

// PollRequest mirrors the query of the websocket URL; it is never sent as a
// frame.
type PollRequest struct {
	Cluster           string       `json:"cluster,omitempty"`
	ContainerInstance string       `json:"containerInstance,omitempty"`
	SeqNum            int64        `json:"seqNum,omitempty"`
	Timeline          *int64       `json:"timeline,omitempty"`
	VersionInfo       *VersionInfo `json:"versionInfo,omitempty"`
	SendCredentials   bool         `json:"sendCredentials,omitempty"`
	ProtocolVersion   *int64       `json:"protocolVersion,omitempty"`
}

// VersionInfo names the agent and its container runtime.
type VersionInfo struct {
	AgentVersion  string `json:"agentVersion,omitempty"`
	AgentHash     string `json:"agentHash,omitempty"`
	DockerVersion string `json:"dockerVersion,omitempty"`
}

// StageUpdateMessage asks the agent to download an update.
type StageUpdateMessage struct {
	ContainerInstanceARN string      `json:"containerInstanceArn,omitempty"`
	ClusterARN           string      `json:"clusterArn,omitempty"`
	UpdateInfo           *UpdateInfo `json:"updateInfo,omitempty"`
	MessageID            string      `json:"messageId,omitempty"`
}

// PerformUpdateMessage asks the agent to apply a staged update.
type PerformUpdateMessage struct {
	ContainerInstanceARN string      `json:"containerInstanceArn,omitempty"`
	ClusterARN           string      `json:"clusterArn,omitempty"`
	UpdateInfo           *UpdateInfo `json:"updateInfo,omitempty"`
	MessageID            string      `json:"messageId,omitempty"`
}

// UpdateInfo locates an agent update tarball.
type UpdateInfo struct {
	Location  string `json:"location,omitempty"`
	Signature string `json:"signature,omitempty"`
}
