package store

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecsd-project/ecsd/agent/task"
)

// Entry is one outbox entry: a state change ECS has not yet accepted.
type Entry struct {
	// Seq orders entries, globally and so per task; Delivered takes it.
	Seq uint64 `json:"seq"`
	// QueuedAt is when the change entered the outbox.
	QueuedAt time.Time        `json:"queuedAt,omitzero"`
	Change   task.StateChange `json:"change"`
}

// Pending returns up to limit entries (all if limit <= 0), oldest first.
func (s *Store) Pending(limit int) ([]Entry, error) {
	var es []Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(es) < limit); k, v = c.Next() {
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %x: %w", k, err)
			}
			es = append(es, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return es, nil
}

// PendingFor counts the task's entries not yet delivered.
func (s *Store) PendingFor(taskARN string) (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = countPrefix(tx.Bucket(bucketOutboxIndex), indexPrefix(taskARN))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count outbox entries of task %s: %w", taskARN, err)
	}
	return n, nil
}

// Delivered removes entries once ECS accepted them, in one transaction.
// Sequence numbers no longer (or never) in the outbox are ignored, so a
// repeated call is harmless.
func (s *Store) Delivered(seqs ...uint64) error {
	if len(seqs) == 0 {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		outbox, index := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxIndex)
		for _, seq := range seqs {
			k := seqKey(seq)
			v := outbox.Get(k)
			if v == nil {
				continue
			}
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %d: %w", seq, err)
			}
			if err := outbox.Delete(k); err != nil {
				return fmt.Errorf("delete entry %d: %w", seq, err)
			}
			if err := index.Delete(indexKey(e.Change.TaskARN, seq)); err != nil {
				return fmt.Errorf("delete index of entry %d: %w", seq, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark %d outbox entries delivered: %w", len(seqs), err)
	}
	return nil
}

// appendChange adds ch to the outbox inside tx, unless it equals the last
// pending entry of the same task.
func appendChange(tx *bolt.Tx, now time.Time, ch task.StateChange) error {
	outbox, index := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxIndex)
	if last, ok := lastSeq(index, ch.TaskARN); ok {
		v := outbox.Get(seqKey(last))
		if v == nil {
			return fmt.Errorf("outbox index names entry %d of task %s, which is missing", last, ch.TaskARN)
		}
		prev, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("entry %d: %w", last, err)
		}
		if sameChange(prev.Change, ch) {
			return nil
		}
	}
	seq, err := outbox.NextSequence()
	if err != nil {
		return fmt.Errorf("outbox sequence: %w", err)
	}
	v, err := json.Marshal(Entry{Seq: seq, QueuedAt: now, Change: ch})
	if err != nil {
		return fmt.Errorf("encode change of task %s: %w", ch.TaskARN, err)
	}
	if err := outbox.Put(seqKey(seq), v); err != nil {
		return fmt.Errorf("write outbox entry %d: %w", seq, err)
	}
	if err := index.Put(indexKey(ch.TaskARN, seq), nil); err != nil {
		return fmt.Errorf("write outbox index of entry %d: %w", seq, err)
	}
	return nil
}

// lastSeq finds the task's newest pending entry through the index.
func lastSeq(index *bolt.Bucket, arn string) (uint64, bool) {
	prefix := indexPrefix(arn)
	c := index.Cursor()
	// Every key of this task sorts before arn+0x01 (ARNs hold no NUL).
	k, _ := c.Seek(append([]byte(arn), 1))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0, false
	}
	return binary.BigEndian.Uint64(k[len(prefix):]), true
}

// sameChange: same task, same task status, and the same set of container
// name, status and exit code. Reasons, times and bindings do not count.
func sameChange(a, b task.StateChange) bool {
	if a.TaskARN != b.TaskARN || a.Status != b.Status || len(a.Containers) != len(b.Containers) {
		return false
	}
	return slices.Equal(containerKeys(a), containerKeys(b))
}

type containerKey struct {
	name   string
	status task.ContainerStatus
	exited bool
	code   int
}

func containerKeys(ch task.StateChange) []containerKey {
	ks := make([]containerKey, len(ch.Containers))
	for i, c := range ch.Containers {
		ks[i] = containerKey{name: c.Name, status: c.Status}
		if c.ExitCode != nil {
			ks[i].exited, ks[i].code = true, *c.ExitCode
		}
	}
	slices.SortFunc(ks, func(x, y containerKey) int {
		return cmp.Or(cmp.Compare(x.name, y.name), cmp.Compare(x.status, y.status),
			cmp.Compare(b2i(x.exited), b2i(y.exited)), cmp.Compare(x.code, y.code))
	})
	return ks
}

// decodeEntry reads a stored outbox entry.
func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, fmt.Errorf("decode outbox entry: %w", err)
	}
	if err := checkARN(e.Change.TaskARN); err != nil {
		return Entry{}, fmt.Errorf("decode outbox entry %d: %w", e.Seq, err)
	}
	return e, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
