package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// IdentityFile is the name of the identity's copy beside the store file.
const IdentityFile = "identity.json"

// Identity is who this host is to ECS. It outlives a damaged store: a copy
// is kept in IdentityFile.
type Identity struct {
	ContainerInstanceARN string `json:"containerInstanceArn"`
	Cluster              string `json:"cluster"`
	Region               string `json:"region"`
	// InstanceID is the SSM managed instance id, mi-….
	InstanceID   string    `json:"instanceId"`
	RegisteredAt time.Time `json:"registeredAt,omitzero"`
}

func (id Identity) equal(o Identity) bool {
	return id.ContainerInstanceARN == o.ContainerInstanceARN && id.Cluster == o.Cluster &&
		id.Region == o.Region && id.InstanceID == o.InstanceID && id.RegisteredAt.Equal(o.RegisteredAt)
}

// SetIdentity stores the identity, then its copy in IdentityFile. A zero
// RegisteredAt is set to now.
func (s *Store) SetIdentity(id Identity) error {
	if id.ContainerInstanceARN == "" {
		return errors.New("set identity: empty container instance arn")
	}
	if id.RegisteredAt.IsZero() {
		id.RegisteredAt = s.now().UTC()
	}
	if err := s.putIdentity(id); err != nil {
		return fmt.Errorf("set identity %s: %w", id.ContainerInstanceARN, err)
	}
	if err := writeIdentityFile(s.identityPath(), id); err != nil {
		return fmt.Errorf("set identity %s: %w", id.ContainerInstanceARN, err)
	}
	return nil
}

// Identity returns the stored identity; ok is false if none was set.
func (s *Store) Identity() (id Identity, ok bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(keyIdentity)
		if v == nil {
			return nil
		}
		id, err = decodeIdentity(v)
		ok = err == nil
		return err
	})
	if err != nil {
		return Identity{}, false, fmt.Errorf("read identity: %w", err)
	}
	return id, ok, nil
}

// SetMeta stores one metadata string, such as "task-manifest-seq-num".
// The keys "schema-version" and "identity" are the store's own.
func (s *Store) SetMeta(key, value string) error {
	if key == "" || key == string(keySchemaVersion) || key == string(keyIdentity) {
		return fmt.Errorf("set meta %q: reserved key", key)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put([]byte(key), []byte(value))
	})
	if err != nil {
		return fmt.Errorf("set meta %s: %w", key, err)
	}
	return nil
}

// Meta returns one metadata string; ErrNotFound if it was never set.
func (s *Store) Meta(key string) (string, error) {
	var value string
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get([]byte(key))
		if v == nil {
			return ErrNotFound
		}
		value = string(v)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read meta %s: %w", key, err)
	}
	return value, nil
}

func (s *Store) putIdentity(id Identity) error {
	v, err := json.Marshal(id)
	if err != nil {
		return fmt.Errorf("encode identity: %w", err)
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyIdentity, v)
	})
}

func (s *Store) identityPath() string { return filepath.Join(filepath.Dir(s.path), IdentityFile) }

// syncIdentity runs at Open, after migration. After a damaged file was
// replaced it restores the identity from IdentityFile. Otherwise it makes
// IdentityFile match the stored identity. An IdentityFile without an
// identity in the store (the store file was removed, perhaps to reset
// ecsd) is left unused, with a warning.
func (s *Store) syncIdentity() error {
	path := s.identityPath()
	fileID, fileOK, fileErr := readIdentityFile(path)
	if _, recovered := s.Recovered(); recovered {
		switch {
		case fileErr != nil:
			s.log.Error("cannot restore the container instance identity; ecsd will register as a new container instance",
				logPath, path, logError, fileErr)
			return nil
		case !fileOK:
			s.log.Error("no identity file to restore the container instance identity from; ecsd will register as a new container instance",
				logPath, path)
			return nil
		}
		if err := s.putIdentity(fileID); err != nil {
			return fmt.Errorf("restore identity from %s: %w", path, err)
		}
		s.log.Warn("restored the container instance identity into the fresh store",
			logPath, path, logARN, fileID.ContainerInstanceARN)
		return nil
	}
	id, ok, err := s.Identity()
	if err != nil {
		return err
	}
	if !ok {
		if fileOK {
			s.log.Warn("an identity file is present but the store has no identity; it is not used (remove it as well to register as a new container instance)",
				logPath, path, logARN, fileID.ContainerInstanceARN)
		}
		return nil
	}
	if fileErr == nil && fileOK && fileID.equal(id) {
		if err := os.Chmod(path, fileMode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return nil
	}
	if err := writeIdentityFile(path, id); err != nil {
		return err
	}
	return nil
}

func decodeIdentity(b []byte) (Identity, error) {
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return Identity{}, fmt.Errorf("decode identity: %w", err)
	}
	if id.ContainerInstanceARN == "" {
		return Identity{}, errors.New("decode identity: no container instance arn")
	}
	return id, nil
}

// readIdentityFile returns ok false, and no error, when there is no file.
func readIdentityFile(path string) (Identity, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Identity{}, false, nil
	}
	if err != nil {
		return Identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	id, err := decodeIdentity(b)
	if err != nil {
		return Identity{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return id, true, nil
}

func writeIdentityFile(path string, id Identity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return fmt.Errorf("encode identity: %w", err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path with data, mode 0600: a temporary file in
// the same directory, fsync, rename, fsync of the directory. A crash leaves
// the old file or the new one, never a mix.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(fileMode); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		_ = d.Close()
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return d.Close()
}

// ClearIdentity forgets the identity: it is deleted from the store, then
// IdentityFile is removed, so that the next start registers a new container
// instance. Tasks and the outbox are kept.
func (s *Store) ClearIdentity() error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Delete(keyIdentity)
	})
	if err != nil {
		return fmt.Errorf("clear identity: %w", err)
	}
	if err := os.Remove(s.identityPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("clear identity: %w", err)
	}
	return syncDir(filepath.Dir(s.identityPath()))
}
