package acs

import (
	"context"
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handleStopVerificationAck stops the tasks ACS confirmed, but only for the
// answer to the last manifest acked: an older verification is ignored.
func (s *Session) handleStopVerificationAck(ctx context.Context, raw json.RawMessage) {
	var msg acs.TaskStopVerificationAck
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeTaskStopVerificationAck, err)
		return
	}
	if msg.MessageID == "" || msg.MessageID != s.manifestID {
		s.log.Warn("stop verification for another manifest ignored", keyMessageID, msg.MessageID, "manifest", s.manifestID)
		return
	}
	s.manifestID = ""
	if len(msg.StopTasks) == 0 {
		return
	}
	s.log.Info("ACS confirmed tasks to stop", keyMessageID, msg.MessageID, keyTasks, len(msg.StopTasks))
	if err := s.cfg.Handler.StopTasks(ctx, msg.StopTasks); err != nil {
		s.log.Error("stop confirmed tasks", keyMessageID, msg.MessageID, keyError, err)
	}
}
