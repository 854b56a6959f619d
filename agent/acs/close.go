package acs

import (
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handleClose logs a CloseMessage. ACS closes the socket itself; the read
// loop then sees the close and Run reconnects.
func (s *Session) handleClose(raw json.RawMessage) {
	var msg acs.CloseMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeCloseMessage, err)
		return
	}
	s.log.Info("ACS is closing the connection", keyReason, msg.Message)
}
