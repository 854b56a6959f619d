package acs

import (
	"encoding/json"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// updateNackReason is the NackRequest reason for agent-update messages.
const updateNackReason = "ecsd does not update itself through ACS; update the package"

// handleUpdate refuses an agent-update message with a NackRequest: ecsd is
// updated by its package manager.
func (s *Session) handleUpdate(out sender, typ string, raw json.RawMessage) {
	var nack acs.NackRequest
	var err error
	switch typ {
	case acs.TypeStageUpdateMessage:
		var msg acs.StageUpdateMessage
		err = json.Unmarshal(raw, &msg)
		nack = acs.NackRequest{Cluster: msg.ClusterARN, ContainerInstance: msg.ContainerInstanceARN, MessageID: msg.MessageID}
	case acs.TypePerformUpdateMessage:
		var msg acs.PerformUpdateMessage
		err = json.Unmarshal(raw, &msg)
		nack = acs.NackRequest{Cluster: msg.ClusterARN, ContainerInstance: msg.ContainerInstanceARN, MessageID: msg.MessageID}
	}
	if err != nil {
		s.malformed(typ, err)
		return
	}
	nack.Reason = updateNackReason
	s.log.Info("refusing agent update through ACS", keyType, typ, keyMessageID, nack.MessageID)
	s.reply(out, acs.TypeNackRequest, nack)
}

// handleAttachment acknowledges an ENI or resource attachment message, as
// the stock agent does, without acting on it: attachments do not apply to
// external instances.
func (s *Session) handleAttachment(out sender, typ string, raw json.RawMessage) {
	var ack acs.AckRequest
	var err error
	switch typ {
	case acs.TypeAttachTaskNetworkInterfacesMessage:
		var msg acs.AttachTaskNetworkInterfacesMessage
		err = json.Unmarshal(raw, &msg)
		ack = acs.AckRequest{Cluster: msg.ClusterARN, ContainerInstance: msg.ContainerInstanceARN, MessageID: msg.MessageID}
	case acs.TypeAttachInstanceNetworkInterfacesMessage:
		var msg acs.AttachInstanceNetworkInterfacesMessage
		err = json.Unmarshal(raw, &msg)
		ack = acs.AckRequest{Cluster: msg.ClusterARN, ContainerInstance: msg.ContainerInstanceARN, MessageID: msg.MessageID}
	case acs.TypeConfirmAttachmentMessage:
		var msg acs.ConfirmAttachmentMessage
		err = json.Unmarshal(raw, &msg)
		ack = acs.AckRequest{Cluster: msg.ClusterARN, ContainerInstance: msg.ContainerInstanceARN, MessageID: msg.MessageID}
	}
	if err != nil {
		s.malformed(typ, err)
		return
	}
	s.log.Warn("attachment message acknowledged but not applied: attachments do not apply to external instances",
		keyType, typ, keyMessageID, ack.MessageID)
	s.reply(out, acs.TypeAckRequest, ack)
}

// handleUnknown logs a message type this agent does not know; the session
// goes on.
func (s *Session) handleUnknown(msg acs.Message) {
	s.log.Warn("unknown ACS message type ignored", keyType, msg.Type, "bytes", len(msg.Message))
}
