package ssmserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// DBFile is the name of the state file under Config.DataDir.
const DBFile = "ssm.db"

// schemaVersion is the layout drawn in doc.go.
const schemaVersion = 1

// lockTimeout bounds the wait for another process's lock on the file.
const lockTimeout = time.Second

var (
	bucketMeta        = []byte("meta")
	bucketActivations = []byte("activations")
	bucketInstances   = []byte("instances")
	bucketPublicKeys  = []byte("public-keys")
	keySchemaVersion  = []byte("schema-version")
)

// Kinds of failure to open the state file.
var (
	ErrLocked      = errors.New("the SSM state file is in use by another process")
	ErrNewerSchema = errors.New("the SSM state file was written by a newer ecs-local")
)

// activation is an activation as stored. The code is kept only as its
// SHA-256, so a copy of the file cannot register hosts.
type activation struct {
	ActivationId        string    `json:"activationId"`
	CodeSHA256          []byte    `json:"codeSha256"`
	IamRole             string    `json:"iamRole"`
	DefaultInstanceName string    `json:"defaultInstanceName,omitempty"`
	Description         string    `json:"description,omitempty"`
	RegistrationLimit   int32     `json:"registrationLimit"`
	RegistrationsCount  int32     `json:"registrationsCount"`
	ExpirationDate      time.Time `json:"expirationDate"`
	CreatedDate         time.Time `json:"createdDate"`
	Tags                []tag     `json:"tags,omitempty"`
}

func (a activation) expired(now time.Time) bool { return !now.Before(a.ExpirationDate) }

// instance is a managed instance as stored. The role is copied from the
// activation, which may be deleted while the instance lives on.
type instance struct {
	InstanceId       string    `json:"instanceId"`
	ActivationId     string    `json:"activationId"`
	IamRole          string    `json:"iamRole"`
	Name             string    `json:"name,omitempty"`
	PublicKey        string    `json:"publicKey"` // base64 PKIX DER, as registered
	KeyRegistered    time.Time `json:"keyRegistered"`
	Fingerprint      string    `json:"fingerprint"`
	RegistrationDate time.Time `json:"registrationDate"`
	LastPingDateTime time.Time `json:"lastPingDateTime"`
	IPAddress        string    `json:"ipAddress,omitempty"`
	AgentVersion     string    `json:"agentVersion,omitempty"`
}

// openDB opens (creating if need be) the state file under dir and brings it
// to the current schema.
func openDB(dir string) (*bolt.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create SSM data directory: %w", err)
	}
	path := filepath.Join(dir, DBFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// initSchema creates the buckets of a new file and checks the version of an
// existing one.
func initSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keySchemaVersion); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil {
			return fmt.Errorf("schema version %q: %w", v, err)
		}
		if n > schemaVersion {
			return fmt.Errorf("%w (schema %d, this one knows %d)", ErrNewerSchema, n, schemaVersion)
		}
	}
	for _, b := range [][]byte{bucketActivations, bucketInstances, bucketPublicKeys} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return meta.Put(keySchemaVersion, []byte(strconv.Itoa(schemaVersion)))
}

func getJSON[T any](tx *bolt.Tx, bucket []byte, key string) (T, bool, error) {
	var v T
	b := tx.Bucket(bucket).Get([]byte(key))
	if b == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, false, fmt.Errorf("decode %s/%s: %w", bucket, key, err)
	}
	return v, true, nil
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), b)
}

func getActivation(tx *bolt.Tx, id string) (activation, bool, error) {
	return getJSON[activation](tx, bucketActivations, id)
}

func putActivation(tx *bolt.Tx, a activation) error {
	return putJSON(tx, bucketActivations, a.ActivationId, a)
}

func getInstance(tx *bolt.Tx, id string) (instance, bool, error) {
	return getJSON[instance](tx, bucketInstances, id)
}

func putInstance(tx *bolt.Tx, in instance) error {
	return putJSON(tx, bucketInstances, in.InstanceId, in)
}

// keyHolder returns the instance that holds the public key with the given
// DER encoding, if any.
func keyHolder(tx *bolt.Tx, der []byte) string {
	return string(tx.Bucket(bucketPublicKeys).Get(keyIndex(der)))
}

// setKey makes der in's key in the index, dropping the key it replaces.
func setKey(tx *bolt.Tx, instanceID string, oldDER, newDER []byte) error {
	b := tx.Bucket(bucketPublicKeys)
	if oldDER != nil {
		if err := b.Delete(keyIndex(oldDER)); err != nil {
			return err
		}
	}
	return b.Put(keyIndex(newDER), []byte(instanceID))
}

func keyIndex(der []byte) []byte {
	sum := sha256.Sum256(der)
	return []byte(hex.EncodeToString(sum[:]))
}

// deleteInstance removes an instance and its key from the index.
func deleteInstance(tx *bolt.Tx, in instance) error {
	if der, err := decodePublicKeyDER(in.PublicKey); err == nil {
		if err := tx.Bucket(bucketPublicKeys).Delete(keyIndex(der)); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketInstances).Delete([]byte(in.InstanceId))
}

// page walks bucket in key order, starting after the key in token (a
// NextToken this server gave out, or empty), and returns up to limit values
// that match, decoded, with the NextToken for the rest ("" if none remain).
func page[T any](tx *bolt.Tx, bucket []byte, token string, limit int, match func(T) bool) ([]T, string, error) {
	after, err := decodeNextToken(token)
	if err != nil {
		return nil, "", err
	}
	c := tx.Bucket(bucket).Cursor()
	k, v := c.First()
	if after != "" {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	}
	var out []T
	var last string
	for ; k != nil; k, v = c.Next() {
		var item T
		if err := json.Unmarshal(v, &item); err != nil {
			return nil, "", fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		if !match(item) {
			continue
		}
		if len(out) == limit {
			return out, encodeNextToken(last), nil
		}
		out = append(out, item)
		last = string(k)
	}
	return out, "", nil
}
