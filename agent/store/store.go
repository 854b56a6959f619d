package store

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrNotFound: no such task or metadata key.
	ErrNotFound = errors.New("not found")
	// ErrLocked: another process (another ecsd) holds the store file.
	ErrLocked = errors.New("store is locked by another process")
	// ErrNewerSchema: the file was written by a newer ecsd.
	ErrNewerSchema = errors.New("store schema is newer than this ecsd knows")
	// ErrUndelivered: the task still has outbox entries ECS has not accepted.
	ErrUndelivered = errors.New("task has undelivered state changes")
)

// FileName is the store file's name in the data directory:
// filepath.Join(dataDir, store.FileName) with ECS_DATADIR, by default
// /var/lib/ecs/data.
const FileName = "ecsd.db"

// DefaultLockTimeout is how long Open waits for another holder of the file.
const DefaultLockTimeout = 2 * time.Second

// fileMode is the mode of the store file and of identity.json.
const fileMode = 0o600

// Log attribute keys.
const (
	logPath    = "path"
	logMovedTo = "moved_to"
	logError   = "error"
	logARN     = "container_instance_arn"
)

// Options tune Open. The zero value works.
type Options struct {
	// Log receives the store's events; nil discards them.
	Log *slog.Logger
	// Now stamps outbox entries and names moved-aside files; nil is time.Now.
	Now func() time.Time
	// LockTimeout bounds the wait for the file lock; 0 is DefaultLockTimeout.
	LockTimeout time.Duration
}

// Store is ecsd's durable state. Its methods are safe for concurrent use.
type Store struct {
	db        *bolt.DB
	path      string
	log       *slog.Logger
	now       func() time.Time
	movedTo   string // set when a damaged file was replaced
	lockAfter time.Duration
}

// Open opens (creating if needed) the store at path, checks it, and
// migrates it to the current schema. A damaged file is moved aside and
// replaced by a fresh store; see Recovered.
func Open(path string, opts Options) (*Store, error) {
	s := &Store{path: path, log: opts.Log, now: opts.Now, lockAfter: opts.LockTimeout}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.lockAfter <= 0 {
		s.lockAfter = DefaultLockTimeout
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: create directory: %w", path, err)
	}

	db, err := s.openChecked()
	if err != nil {
		var dmg *damage
		if !errors.As(err, &dmg) {
			return nil, err
		}
		if db, err = s.replaceDamaged(dmg); err != nil {
			return nil, err
		}
	}
	s.db = db
	if err := migrate(db, len(migrations)); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := s.syncIdentity(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// Close releases the file. Calls after Close return errors.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// Path is the store file's path.
func (s *Store) Path() string { return s.path }

// Recovered reports whether Open found the file damaged, and where it moved
// it. The store is then fresh except for the identity, and the agent
// rebuilds task state from containerd labels.
func (s *Store) Recovered() (movedTo string, ok bool) { return s.movedTo, s.movedTo != "" }

// boltOpen opens the bbolt file with the lock timeout and enforces the
// mode. *file is the file bbolt opened, for closing after a panic.
func (s *Store) boltOpen(file **os.File) (*bolt.DB, error) {
	o := *bolt.DefaultOptions
	o.Timeout = s.lockAfter
	o.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		*file = f
		return f, err
	}
	db, err := bolt.Open(s.path, fileMode, &o)
	if err != nil {
		return nil, err
	}
	// bbolt's mode applies only when it creates the file.
	if err := os.Chmod(s.path, fileMode); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("chmod %s: %w", s.path, err)
	}
	return db, nil
}
