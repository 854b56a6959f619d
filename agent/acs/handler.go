package acs

import (
	"context"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// Handler is what the session needs from the rest of the agent. The session
// calls it from one goroutine, in the order the frames arrived.
type Handler interface {
	// Payload persists and starts (or stops) the payload's tasks and their
	// credentials. It returns nil only once they are persisted: the payload
	// is acknowledged after that, and never if it returns an error (ACS
	// delivers it again).
	Payload(ctx context.Context, msg *acs.PayloadMessage) error
	// Credentials stores refreshed task role credentials; they are
	// acknowledged once it returns nil.
	Credentials(ctx context.Context, msg *acs.IAMRoleCredentialsMessage) error
	// ManifestSeq is the latest stored sequence number (task manifest
	// timeline or payload seqNum); -1 when none was ever stored.
	ManifestSeq() int64
	// SetManifestSeq durably stores a new latest sequence number.
	SetManifestSeq(seq int64) error
	// RunningTasks lists the local tasks whose desired status is RUNNING.
	// Those a task manifest does not list as RUNNING become stop candidates.
	RunningTasks() []acs.TaskIdentifier
	// StopTasks moves the listed tasks' desired status to STOPPED; ACS
	// confirmed them in a TaskStopVerificationAck.
	StopTasks(ctx context.Context, tasks []acs.TaskIdentifier) error
}
