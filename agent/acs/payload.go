package acs

import (
	"context"
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handlePayload hands a PayloadMessage's tasks to the handler and, once
// they are persisted, acknowledges the message and each set of credentials
// it carried. A payload without messageId, clusterArn or
// containerInstanceArn is dropped; one the handler refuses is not acked,
// so ACS delivers it again.
func (s *Session) handlePayload(ctx context.Context, out sender, raw json.RawMessage) {
	var msg acs.PayloadMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypePayloadMessage, err)
		return
	}
	if msg.MessageID == "" || msg.ClusterARN == "" || msg.ContainerInstanceARN == "" {
		s.log.Debug("payload without messageId, clusterArn or containerInstanceArn dropped", keyMessageID, msg.MessageID)
		return
	}
	if err := s.cfg.Handler.Payload(ctx, &msg); err != nil {
		s.log.Error("payload not accepted; ACS will deliver it again", keyMessageID, msg.MessageID, keyError, err)
		return
	}
	s.log.Info("payload accepted", "payload", msg)
	// The stock agent raises the manifest sequence number to the payload's,
	// so that an older manifest cannot stop the tasks just delivered.
	if msg.SeqNum > s.cfg.Handler.ManifestSeq() {
		if err := s.cfg.Handler.SetManifestSeq(msg.SeqNum); err != nil {
			s.log.Warn("store payload sequence number", keyMessageID, msg.MessageID, keyError, err)
		}
	}
	s.reply(out, acs.TypeAckRequest, acs.AckRequest{
		Cluster:           msg.ClusterARN,
		ContainerInstance: msg.ContainerInstanceARN,
		MessageID:         msg.MessageID,
	})
	for _, ack := range payloadCredentialAcks(&msg) {
		s.reply(out, acs.TypeIAMRoleCredentialsAckRequest, ack)
	}
}

// payloadCredentialAcks is one IAMRoleCredentialsAckRequest per set of
// credentials (task role, execution role) in the payload's tasks.
func payloadCredentialAcks(msg *acs.PayloadMessage) []acs.IAMRoleCredentialsAckRequest {
	var acks []acs.IAMRoleCredentialsAckRequest
	for _, t := range msg.Tasks {
		for _, c := range []*acs.IAMRoleCredentials{t.RoleCredentials, t.ExecutionRoleCredentials} {
			if c == nil || c.CredentialsID == "" {
				continue
			}
			acks = append(acks, acs.IAMRoleCredentialsAckRequest{
				MessageID:     msg.MessageID,
				Expiration:    c.Expiration,
				CredentialsID: c.CredentialsID,
			})
		}
	}
	return acks
}
