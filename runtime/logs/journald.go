package logs

import (
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coreos/go-systemd/v22/journal"
)

// journalSocket is where go-systemd's journal package sends (fixed there).
const journalSocket = "/run/systemd/journal/socket"

// ErrNoJournal: the journald driver found no journal socket.
var ErrNoJournal = errors.New("no systemd journal at " + journalSocket + " (is systemd-journald running?)")

// journald is the journald driver: each message is one journal entry
// with the container's fields, sent through go-systemd.
type journald struct {
	full, partial map[string]string // fields of complete and partial messages; read only
	send          func(msg string, pri journal.Priority, vars map[string]string) error
	log           *slog.Logger

	drops   atomic.Int64
	mu      sync.Mutex
	failing bool
}

func newJournald(opts map[string]string, t Target) (*journald, error) {
	if err := checkOptions(DriverJournald, opts, "tag"); err != nil {
		return nil, err
	}
	if !journal.Enabled() {
		return nil, ErrNoJournal
	}
	j := &journald{send: journal.Send, log: t.Log}
	j.full, j.partial = journalFields(t, opts["tag"])
	return j, nil
}

// journalFields are the fields of a container's journal entries, as
// Docker's journald driver writes them plus the task's: CONTAINER_NAME,
// CONTAINER_ID (12 characters), CONTAINER_ID_FULL, ECS_TASK_ARN,
// ECS_CLUSTER and SYSLOG_IDENTIFIER (the tag option, default the short
// container id; {{.Name}}, {{.ID}}, {{.FullID}}, {{.TaskID}} are replaced).
// Partial messages add CONTAINER_PARTIAL_MESSAGE=true. MESSAGE and
// PRIORITY are added per message.
func journalFields(t Target, tag string) (full, partial map[string]string) {
	short := t.ContainerID
	if len(short) > 12 {
		short = short[:12]
	}
	if tag == "" {
		tag = "{{.ID}}"
	}
	tag = strings.NewReplacer("{{.Name}}", t.ContainerName, "{{.ID}}", short, "{{.FullID}}", t.ContainerID, "{{.TaskID}}", t.TaskID).Replace(tag)
	full = map[string]string{
		"CONTAINER_NAME":    t.ContainerName,
		"CONTAINER_ID":      short,
		"CONTAINER_ID_FULL": t.ContainerID,
		"ECS_TASK_ARN":      t.TaskARN,
		"ECS_CLUSTER":       t.Cluster,
		"SYSLOG_IDENTIFIER": tag,
	}
	for k, v := range full {
		if v == "" {
			delete(full, k)
		}
	}
	partial = maps.Clone(full)
	partial["CONTAINER_PARTIAL_MESSAGE"] = "true"
	return full, partial
}

// journalPriority: stdout is info (6), stderr err (3), as Docker's.
func journalPriority(stream string) journal.Priority {
	if stream == streamStderr {
		return journal.PriErr
	}
	return journal.PriInfo
}

func (j *journald) accept(msgs []message) {
	for _, m := range msgs {
		vars := j.full
		if m.partial {
			vars = j.partial
		}
		err := j.send(string(m.line), journalPriority(m.stream), vars)
		j.mu.Lock()
		switch {
		case err != nil:
			j.drops.Add(1)
			if !j.failing {
				j.log.Error("journal send failed; losing lines until it works again", logErr, err)
				j.failing = true
			}
		case j.failing:
			j.log.Warn("journal sends work again", logDropped, j.drops.Load())
			j.failing = false
		}
		j.mu.Unlock()
	}
}

func (j *journald) dropped() int64 { return j.drops.Load() }
func (j *journald) close() error   { return nil }
