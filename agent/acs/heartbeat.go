package acs

import (
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handleHeartbeat answers a HeartbeatMessage with its messageId. Like any
// inbound frame it has already reset the inactivity timer.
func (s *Session) handleHeartbeat(out sender, raw json.RawMessage) {
	var msg acs.HeartbeatMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeHeartbeatMessage, err)
		return
	}
	s.reply(out, acs.TypeHeartbeatAckRequest, acs.HeartbeatAckRequest{MessageID: msg.MessageID})
}
