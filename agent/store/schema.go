package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"
)

// Buckets and reserved keys; doc.go draws them.
var (
	bucketMeta        = []byte("meta")
	bucketTasks       = []byte("tasks")
	bucketOutbox      = []byte("outbox")
	bucketOutboxIndex = []byte("outbox-index")

	keySchemaVersion = []byte("schema-version")
	keyIdentity      = []byte("identity")
)

// errStop ends a ForEach early.
var errStop = errors.New("stop")

// migration brings a file from schema to-1 to schema to.
type migration struct {
	to    int
	name  string
	apply func(tx *bolt.Tx) error
}

// migrations, in order; migrations[i].to == i+1. The current schema is
// len(migrations). Never edit a released step: add one.
var migrations = []migration{
	{to: 1, name: "meta and tasks", apply: createMetaAndTasks},
	{to: 2, name: "outbox", apply: addOutbox},
}

func createMetaAndTasks(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketMeta, bucketTasks} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

func addOutbox(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketOutbox, bucketOutboxIndex} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

// schemaVersion reads meta/schema-version. A file without buckets is
// version 0 (new, or created by a process that died before migrating);
// a file with other buckets but no meta is not an ecsd store.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		var other []byte
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			other = name
			return errStop
		})
		if other != nil {
			return 0, fmt.Errorf("not an ecsd store: it has bucket %q and no %s bucket", other, bucketMeta)
		}
		return 0, nil
	}
	v := meta.Get(keySchemaVersion)
	if v == nil {
		return 0, &damage{fmt.Errorf("meta has no %s", keySchemaVersion)}
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, &damage{fmt.Errorf("meta %s is %q", keySchemaVersion, v)}
	}
	return n, nil
}

// migrate applies the steps after the file's version, up to and including
// version upTo, each in its own transaction with the new version number.
func migrate(db *bolt.DB, upTo int) error {
	for _, m := range migrations {
		if m.to > upTo {
			break
		}
		err := db.Update(func(tx *bolt.Tx) error {
			from, err := schemaVersion(tx)
			if err != nil {
				return err
			}
			if from >= m.to {
				return nil
			}
			if from != m.to-1 {
				return fmt.Errorf("schema version %d cannot step to %d", from, m.to)
			}
			if err := m.apply(tx); err != nil {
				return err
			}
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			return meta.Put(keySchemaVersion, []byte(strconv.Itoa(m.to)))
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d (%s): %w", m.to, m.name, err)
		}
	}
	return nil
}

// seqKey is an outbox key: the sequence number, big-endian, so that keys
// sort in the order the entries were added.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// indexKey is an outbox-index key: task ARN, 0x00, sequence number.
func indexKey(arn string, seq uint64) []byte {
	k := make([]byte, 0, len(arn)+9)
	k = append(k, arn...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

// indexPrefix is the part of indexKey shared by one task's entries.
func indexPrefix(arn string) []byte { return append([]byte(arn), 0) }
