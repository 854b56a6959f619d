package acs

import (
	"context"
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handleCredentials hands refreshed task role credentials to the handler
// and acknowledges them once stored.
func (s *Session) handleCredentials(ctx context.Context, out sender, raw json.RawMessage) {
	var msg acs.IAMRoleCredentialsMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeIAMRoleCredentialsMessage, err)
		return
	}
	if msg.MessageID == "" || msg.RoleCredentials == nil || msg.RoleCredentials.CredentialsID == "" {
		s.log.Warn("credentials message without messageId or credentialsId dropped", keyMessageID, msg.MessageID)
		return
	}
	if err := s.cfg.Handler.Credentials(ctx, &msg); err != nil {
		s.log.Error("credentials not stored", "credentials", msg, keyError, err)
		return
	}
	s.reply(out, acs.TypeIAMRoleCredentialsAckRequest, acs.IAMRoleCredentialsAckRequest{
		MessageID:     msg.MessageID,
		Expiration:    msg.RoleCredentials.Expiration,
		CredentialsID: msg.RoleCredentials.CredentialsID,
	})
}
