package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/ecsd-project/ecsd/agent/task"
)

// PutTask writes the task and appends its state changes to the outbox, in
// one transaction: either both are stored or neither is. Every change must
// be about t. A stored desired status further along than t's is kept.
func (s *Store) PutTask(t *task.Task, changes ...task.StateChange) error {
	if err := checkTask(t); err != nil {
		return fmt.Errorf("put task: %w", err)
	}
	for i, ch := range changes {
		if ch.TaskARN != t.ARN {
			return fmt.Errorf("put task %s: change %d is about task %q", t.ARN, i, ch.TaskARN)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		v, err := encodeTask(t, tasks.Get([]byte(t.ARN)))
		if err != nil {
			return err
		}
		if err := tasks.Put([]byte(t.ARN), v); err != nil {
			return fmt.Errorf("write task: %w", err)
		}
		now := s.now()
		for _, ch := range changes {
			if err := appendChange(tx, now, ch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put task %s: %w", t.ARN, err)
	}
	return nil
}

// AcceptTasks stores the tasks of one ACS payload in one transaction; call
// it before acknowledging the payload. A task not yet stored is written as
// given. A task already stored keeps its stored state, and only its desired
// status moves forward to the given one (ACS re-sends payloads, and a
// re-sent task must not be started twice).
func (s *Store) AcceptTasks(ts []*task.Task) error {
	if len(ts) == 0 {
		return nil
	}
	for _, t := range ts {
		if err := checkTask(t); err != nil {
			return fmt.Errorf("accept %d tasks: %w", len(ts), err)
		}
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		tasks := tx.Bucket(bucketTasks)
		for _, t := range ts {
			put := t
			if old := tasks.Get([]byte(t.ARN)); old != nil {
				stored, err := decodeTask(old)
				if err != nil {
					return fmt.Errorf("task %s: %w", t.ARN, err)
				}
				if !stored.WantStatus(t.Desired) {
					continue
				}
				put = stored
			}
			v, err := encodeTask(put, nil)
			if err != nil {
				return err
			}
			if err := tasks.Put([]byte(t.ARN), v); err != nil {
				return fmt.Errorf("write task %s: %w", t.ARN, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("accept %d tasks: %w", len(ts), err)
	}
	return nil
}

// Task returns the stored task; ErrNotFound if there is none.
func (s *Store) Task(arn string) (*task.Task, error) {
	var t *task.Task
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTasks).Get([]byte(arn))
		if v == nil {
			return ErrNotFound
		}
		var err error
		t, err = decodeTask(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read task %s: %w", arn, err)
	}
	return t, nil
}

// Tasks returns every stored task, ordered by ARN.
func (s *Store) Tasks() ([]*task.Task, error) {
	var ts []*task.Task
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTasks).ForEach(func(k, v []byte) error {
			t, err := decodeTask(v)
			if err != nil {
				return fmt.Errorf("task %s: %w", k, err)
			}
			ts = append(ts, t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read tasks: %w", err)
	}
	return ts, nil
}

// DeleteTask removes a task once it is cleaned up. It refuses with
// ErrUndelivered while the task has outbox entries, since deleting them
// would lose reports ECS is owed (the reporter calls Delivered, also for
// an entry ECS rejected for good, before the task can go). Deleting a task
// that is not stored is not an error.
func (s *Store) DeleteTask(arn string) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if n := countPrefix(tx.Bucket(bucketOutboxIndex), indexPrefix(arn)); n > 0 {
			return fmt.Errorf("%d pending: %w", n, ErrUndelivered)
		}
		return tx.Bucket(bucketTasks).Delete([]byte(arn))
	})
	if err != nil {
		return fmt.Errorf("delete task %s: %w", arn, err)
	}
	return nil
}

// checkTask refuses a task that cannot be stored under its ARN.
func checkTask(t *task.Task) error {
	if t == nil {
		return errors.New("nil task")
	}
	return checkARN(t.ARN)
}

func checkARN(arn string) error {
	if arn == "" {
		return errors.New("empty task arn")
	}
	if strings.IndexByte(arn, 0) >= 0 {
		return fmt.Errorf("task arn %q contains a NUL byte", arn)
	}
	return nil
}

// encodeTask encodes t for storage. Credential secrets are dropped (Def is
// a value, so t itself is not changed). If old, the stored value, has a
// desired status further along than t's, the stored one is kept: desired
// status never moves back.
func encodeTask(t *task.Task, old []byte) ([]byte, error) {
	if old != nil {
		var stored struct {
			Desired task.TaskStatus `json:"desiredStatus"`
		}
		if err := json.Unmarshal(old, &stored); err != nil {
			return nil, fmt.Errorf("read stored desired status: %w", err)
		}
		if stored.Desired > t.Desired {
			t = t.Clone()
			t.WantStatus(stored.Desired)
		}
	}
	cp := *t
	cp.Def.RoleCredentials, cp.Def.ExecutionRoleCredentials = nil, nil
	v, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("encode task: %w", err)
	}
	return v, nil
}

// decodeTask reads a stored task. It refuses what the rest of ecsd could
// not use (no ARN, a null container) instead of letting it panic later.
func decodeTask(b []byte) (*task.Task, error) {
	var t task.Task
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	if err := checkARN(t.ARN); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	for i, c := range t.Containers {
		if c == nil {
			return nil, fmt.Errorf("decode task %s: container %d is null", t.ARN, i)
		}
	}
	return &t, nil
}

// countPrefix counts the keys of b that start with prefix.
func countPrefix(b *bolt.Bucket, prefix []byte) int {
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}
