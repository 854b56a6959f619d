package acs

import "log/slog"

// Role types of IAMRoleCredentialsMessage.RoleType.
const (
	RoleTypeTaskApplication = "TaskApplication"
	RoleTypeTaskExecution   = "TaskExecution"
)

// redacted is what a secret prints as.
const redacted = "[redacted]"

// SensitiveString is a secret on the wire. It encodes to JSON as its real
// value, but fmt and log/slog print "[redacted]"; use string(s) to read it.
type SensitiveString string

// String returns "[redacted]".
func (SensitiveString) String() string { return redacted }

// GoString returns "[redacted]" so that %#v does not leak either.
func (SensitiveString) GoString() string { return redacted }

// LogValue logs "[redacted]".
func (SensitiveString) LogValue() slog.Value { return slog.StringValue(redacted) }

// IAMRoleCredentials is one set of temporary role credentials.
type IAMRoleCredentials struct {
	CredentialsID   string          `json:"credentialsId,omitempty"`
	RoleARN         string          `json:"roleArn,omitempty"`
	AccessKeyID     string          `json:"accessKeyId,omitempty"`
	SecretAccessKey SensitiveString `json:"secretAccessKey,omitempty"`
	SessionToken    SensitiveString `json:"sessionToken,omitempty"`
	// Expiration is an opaque timestamp string (for example
	// "2016-03-25T06:17:19.318+0000"), passed through unchanged.
	Expiration      string `json:"expiration,omitempty"`
	CredentialScope string `json:"credentialScope,omitempty"`
}

// LogValue logs the identifying fields only.
func (c IAMRoleCredentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("credentialsId", c.CredentialsID),
		slog.String("roleArn", c.RoleARN),
		slog.String("accessKeyId", c.AccessKeyID),
		slog.String("secretAccessKey", redacted),
		slog.String("sessionToken", redacted),
		slog.String("expiration", c.Expiration),
	)
}

// IAMRoleCredentialsMessage refreshes the credentials of one task role.
type IAMRoleCredentialsMessage struct {
	MessageID       string              `json:"messageId,omitempty"`
	TaskARN         string              `json:"taskArn,omitempty"`
	TaskClusterARN  string              `json:"taskClusterArn,omitempty"`
	RoleType        string              `json:"roleType,omitempty"`
	RoleCredentials *IAMRoleCredentials `json:"roleCredentials,omitempty"`
}

// LogValue logs the message without the secret material.
func (m IAMRoleCredentialsMessage) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("messageId", m.MessageID),
		slog.String("taskArn", m.TaskARN),
		slog.String("roleType", m.RoleType),
	}
	if m.RoleCredentials != nil {
		attrs = append(attrs, slog.Any("roleCredentials", *m.RoleCredentials))
	}
	return slog.GroupValue(attrs...)
}

// IAMRoleCredentialsAckRequest acknowledges one set of credentials, whether
// it came in an IAMRoleCredentialsMessage or inside a PayloadMessage.
type IAMRoleCredentialsAckRequest struct {
	MessageID     string `json:"messageId,omitempty"`
	Expiration    string `json:"expiration,omitempty"`
	CredentialsID string `json:"credentialsId,omitempty"`
}
