package acs

import (
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// handleManifest processes a TaskManifestMessage (§2.7): a manifest whose
// timeline is not newer than the stored sequence number is discarded;
// otherwise the timeline is stored, the manifest acked, and the running
// tasks it does not list are sent back as stop candidates in a
// TaskStopVerificationMessage carrying the manifest's messageId.
func (s *Session) handleManifest(out sender, raw json.RawMessage) {
	var msg acs.TaskManifestMessage
	if err := json.Unmarshal(raw, &msg); err != nil {
		s.malformed(acs.TypeTaskManifestMessage, err)
		return
	}
	if msg.MessageID == "" || msg.ClusterARN == "" || msg.ContainerInstanceARN == "" || msg.Timeline == nil {
		s.log.Warn("task manifest without messageId, clusterArn, containerInstanceArn or timeline dropped", keyMessageID, msg.MessageID)
		return
	}
	if latest := s.cfg.Handler.ManifestSeq(); *msg.Timeline <= latest {
		s.log.Debug("stale task manifest discarded", keyMessageID, msg.MessageID, "timeline", *msg.Timeline, "latest", latest)
		return
	}
	if err := s.cfg.Handler.SetManifestSeq(*msg.Timeline); err != nil {
		s.log.Error("store task manifest timeline; manifest not acked", keyMessageID, msg.MessageID, keyError, err)
		return
	}
	s.manifestID = msg.MessageID
	s.reply(out, acs.TypeAckRequest, acs.AckRequest{
		Cluster:           msg.ClusterARN,
		ContainerInstance: msg.ContainerInstanceARN,
		MessageID:         msg.MessageID,
	})
	if cands := stopCandidates(s.cfg.Handler.RunningTasks(), msg.Tasks); len(cands) > 0 {
		s.log.Info("asking ACS to verify stop candidates", keyMessageID, msg.MessageID, keyTasks, len(cands))
		s.reply(out, acs.TypeTaskStopVerificationMessage, acs.TaskStopVerificationMessage{
			MessageID:      msg.MessageID,
			StopCandidates: cands,
		})
	}
}

// stopCandidates are the running tasks the manifest does not list as
// RUNNING, each with desired status STOPPED.
func stopCandidates(running, manifest []acs.TaskIdentifier) []acs.TaskIdentifier {
	listed := make(map[string]bool, len(manifest))
	for _, t := range manifest {
		if t.DesiredStatus == acs.DesiredStatusRunning {
			listed[t.TaskARN] = true
		}
	}
	var cands []acs.TaskIdentifier
	for _, t := range running {
		if listed[t.TaskARN] {
			continue
		}
		cands = append(cands, acs.TaskIdentifier{
			TaskARN:        t.TaskARN,
			TaskClusterARN: t.TaskClusterARN,
			DesiredStatus:  acs.DesiredStatusStopped,
		})
	}
	return cands
}
