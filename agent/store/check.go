package store

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// damage is why a store file cannot be used; Open moves such a file aside.
type damage struct{ err error }

func (d *damage) Error() string { return "damaged: " + d.err.Error() }
func (d *damage) Unwrap() error { return d.err }

// maxCheckErrors bounds how many of bbolt's check findings are reported.
const maxCheckErrors = 5

// openChecked opens the file and checks it. It returns *damage when the
// file is unusable, and other errors (locked, permissions, newer schema)
// as they are.
//
// A truncated or scribbled file can make bbolt read past the end of its
// memory map, which is a fault, or panic on a page it does not expect.
// Both become *damage here. After a panic inside bolt.Open its file is
// closed, but its memory map stays until the process exits (bbolt gives
// no handle on it), and with it the lock on that file. The file is then
// renamed away, so a fresh file at the same path is not affected.
func (s *Store) openChecked() (db *bolt.DB, err error) {
	var file *os.File
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if db != nil {
				closeAfterPanic(db)
			} else if file != nil {
				_ = file.Close()
			}
			db, err = nil, &damage{fmt.Errorf("reading the file panicked: %v", r)}
		}
	}()
	db, err = s.boltOpen(&file)
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: another ecsd holds %s (waited %s): %w", s.path, s.path, s.lockAfter, ErrLocked)
	case isSystemError(err):
		return nil, fmt.Errorf("open store %s: %w", s.path, err)
	default:
		return nil, &damage{err}
	}
	if err := checkFile(db, s.path); err != nil {
		_ = db.Close()
		var dmg *damage
		if errors.As(err, &dmg) {
			return nil, err
		}
		return nil, fmt.Errorf("open store %s: %w", s.path, err)
	}
	return db, nil
}

func closeAfterPanic(db *bolt.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// isSystemError: the operating system refused something (permissions, a
// read-only file system, no memory). That is not damage to the file.
func isSystemError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

// checkFile checks an open file: its length, the schema version, that every
// value this package wrote decodes, and bbolt's own consistency check.
// Damage is returned as *damage; a newer schema or a foreign file as plain
// errors.
func checkFile(db *bolt.DB, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return db.View(func(tx *bolt.Tx) error {
		// Pages past the end of the file would fault when read.
		if tx.Size() > fi.Size() {
			return &damage{fmt.Errorf("file is %d bytes but its pages need %d: truncated", fi.Size(), tx.Size())}
		}
		version, err := schemaVersion(tx)
		if err != nil {
			return err
		}
		if version > len(migrations) {
			return fmt.Errorf("schema version %d, this ecsd knows up to %d; it was written by a newer ecsd (upgrade ecsd, or move the file away to start afresh): %w",
				version, len(migrations), ErrNewerSchema)
		}
		if err := checkContents(tx, version); err != nil {
			return &damage{err}
		}
		var found []error
		for err := range tx.Check() {
			if len(found) < maxCheckErrors {
				found = append(found, err)
			}
		}
		if len(found) > 0 {
			return &damage{fmt.Errorf("consistency check: %w", errors.Join(found...))}
		}
		return nil
	})
}

// checkContents decodes every value of a file at the given schema version.
func checkContents(tx *bolt.Tx, version int) error {
	if version == 0 {
		return nil
	}
	if v := tx.Bucket(bucketMeta).Get(keyIdentity); v != nil {
		if _, err := decodeIdentity(v); err != nil {
			return fmt.Errorf("meta %s: %w", keyIdentity, err)
		}
	}
	tasks := tx.Bucket(bucketTasks)
	if tasks == nil {
		return fmt.Errorf("bucket %s is missing", bucketTasks)
	}
	err := tasks.ForEach(func(k, v []byte) error {
		t, err := decodeTask(v)
		if err != nil {
			return fmt.Errorf("task %q: %w", k, err)
		}
		if t.ARN != string(k) {
			return fmt.Errorf("task stored under %q has arn %q", k, t.ARN)
		}
		return nil
	})
	if err != nil || version < 2 {
		return err
	}
	outbox, index := tx.Bucket(bucketOutbox), tx.Bucket(bucketOutboxIndex)
	if outbox == nil || index == nil {
		return fmt.Errorf("bucket %s or %s is missing", bucketOutbox, bucketOutboxIndex)
	}
	entries := 0
	err = outbox.ForEach(func(k, v []byte) error {
		e, err := decodeEntry(v)
		if err != nil {
			return fmt.Errorf("outbox entry %x: %w", k, err)
		}
		if len(k) != 8 || !bytes.Equal(k, seqKey(e.Seq)) {
			return fmt.Errorf("outbox entry %d stored under key %x", e.Seq, k)
		}
		if index.Get(indexKey(e.Change.TaskARN, e.Seq)) == nil {
			return fmt.Errorf("outbox entry %d of task %s is not indexed", e.Seq, e.Change.TaskARN)
		}
		entries++
		return nil
	})
	if err != nil {
		return err
	}
	if n := index.Stats().KeyN; n != entries {
		return fmt.Errorf("outbox index has %d keys for %d entries", n, entries)
	}
	return nil
}

// replaceDamaged moves the damaged file aside and opens a fresh one. The
// identity is restored later, by syncIdentity, once the schema exists.
func (s *Store) replaceDamaged(dmg *damage) (*bolt.DB, error) {
	movedTo, err := s.moveAside()
	if err != nil {
		return nil, fmt.Errorf("open store %s: the file is damaged (%v) and could not be moved aside: %w", s.path, dmg.err, err)
	}
	s.log.Error("state store damaged: moved it aside and started a fresh one; task state will be rebuilt from containerd",
		logPath, s.path, logMovedTo, movedTo, logError, dmg.err)
	db, err := s.openChecked()
	if err != nil {
		return nil, fmt.Errorf("open store %s: fresh store after moving the damaged one to %s: %w", s.path, movedTo, err)
	}
	s.movedTo = movedTo
	return db, nil
}

// moveAside renames the file to PATH.corrupt-<UTC time>, never over an
// earlier one, and keeps it private.
func (s *Store) moveAside() (string, error) {
	base := s.path + ".corrupt-" + s.now().UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, fs.ErrNotExist) {
			break
		} else if err != nil {
			return "", err
		}
		to = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(s.path, to); err != nil {
		return "", err
	}
	if err := os.Chmod(to, fileMode); err != nil {
		return "", err
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		return "", err
	}
	return to, nil
}
