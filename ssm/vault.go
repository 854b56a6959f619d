package ssm

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// DefaultStateRoot is the SSM agent's data directory on Linux; keeping the
// registration in its layout lets a stock amazon-ssm-agent (and the ECS
// Anywhere install script) recognise the host.
const DefaultStateRoot = "/var/lib/amazon/ssm"

// Paths under the state root and vault keys, as the SSM agent names them.
const (
	vaultDir         = "Vault"
	storeDir         = "Vault/Store"
	manifestPath     = "Vault/Manifest"
	legacyRegPath    = "registration"
	vaultKeyReg      = "RegistrationKey"
	vaultKeyPrint    = "InstanceFingerprint"
	keyCreatedLayout = "2006-01-02 15:04:05.999999999 -0700 MST"
)

// vault reads and writes the SSM agent's file vault under root:
// Vault/Manifest maps each key to the absolute path of its file in
// Vault/Store. Every file is written whole and atomically with mode 0600.
type vault struct {
	root string
}

func newVault(root string) (vault, error) {
	if root == "" {
		root = DefaultStateRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return vault{}, fmt.Errorf("state root %s: %w", root, err)
	}
	return vault{root: abs}, nil
}

func (v vault) path(rel string) string { return filepath.Join(v.root, rel) }

func (v vault) manifest() (map[string]string, error) {
	b, err := os.ReadFile(v.path(manifestPath))
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("vault manifest %s: %w", v.path(manifestPath), err)
	}
	return m, nil
}

// load returns the data stored under key; an error that matches
// fs.ErrNotExist if there is none.
func (v vault) load(key string) ([]byte, error) {
	m, err := v.manifest()
	if err != nil {
		return nil, err
	}
	p, ok := m[key]
	if !ok || p == "" {
		return nil, fmt.Errorf("vault key %s: %w", key, fs.ErrNotExist)
	}
	return os.ReadFile(p)
}

// store writes data under key: the data file first, then the manifest, so the
// manifest never names a file that is not there. Other keys in the manifest
// are kept.
func (v vault) store(key string, data []byte) error {
	p := filepath.Join(v.path(storeDir), key)
	if err := writeFileAtomic(p, data); err != nil {
		return fmt.Errorf("write vault key %s: %w", key, err)
	}
	m, err := v.manifest()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		m = map[string]string{}
	case err != nil:
		return err
	}
	if m[key] == p {
		return nil
	}
	m[key] = p
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(v.path(manifestPath), b); err != nil {
		return fmt.Errorf("write vault manifest: %w", err)
	}
	return nil
}

// checkWritable fails if the vault's store cannot take a new file, before
// anything is sent to SSM.
func (v vault) checkWritable() error {
	dir := v.path(storeDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("state root %s is not writable (run as root?): %w", v.root, err)
	}
	f, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return fmt.Errorf("state root %s is not writable (run as root?): %w", v.root, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// registrationRecord is Vault/Store/RegistrationKey. The keys are the SSM
// agent's (lower camel case) and are always all written.
type registrationRecord struct {
	InstanceID            string `json:"instanceID"`
	Region                string `json:"region"`
	InstanceType          string `json:"instanceType"`
	AvailabilityZone      string `json:"availabilityZone"`
	PrivateKey            string `json:"privateKey"`
	PublicKey             string `json:"publicKey"`
	PrivateKeyType        string `json:"privateKeyType"`
	PrivateKeyCreatedDate string `json:"privateKeyCreatedDate"`
}

// LogValue leaves out the private key.
func (r registrationRecord) LogValue() slog.Value {
	return slog.GroupValue(slog.String(logKeyInstance, r.InstanceID), slog.String(logKeyRegion, r.Region))
}

// registered is the SSM agent's test for an on-premises registration.
func (r registrationRecord) registered() bool {
	return r.InstanceID != "" && r.Region != "" && r.PrivateKey != ""
}

func (v vault) loadRecord() (registrationRecord, error) {
	var r registrationRecord
	b, err := v.load(vaultKeyReg)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("registration record in %s: %w", v.root, err)
	}
	return r, nil
}

func (v vault) storeRecord(r registrationRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return v.store(vaultKeyReg, b)
}

// Registration is this host's SSM identity: the managed instance, its region
// and the RSA key SSM knows it by.
type Registration struct {
	InstanceID string
	Region     string
	Key        *rsa.PrivateKey
	// KeyCreated is when Key was made; zero if the vault does not say.
	KeyCreated time.Time
}

// LogValue leaves out the key.
func (r Registration) LogValue() slog.Value {
	return slog.GroupValue(slog.String(logKeyInstance, r.InstanceID), slog.String(logKeyRegion, r.Region))
}

// String leaves out the key.
func (r Registration) String() string { return r.InstanceID + " in " + r.Region }

// LoadRegistration reads the registration kept under stateRoot
// (DefaultStateRoot if empty). It returns an error matching ErrNotRegistered
// if the host is not registered.
func LoadRegistration(stateRoot string) (Registration, error) {
	v, err := newVault(stateRoot)
	if err != nil {
		return Registration{}, err
	}
	return v.registration()
}

func (v vault) registration() (Registration, error) {
	r, err := v.loadRecord()
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !r.registered()) {
		return Registration{}, fmt.Errorf("no registration under %s: %w", v.root, ErrNotRegistered)
	}
	if err != nil {
		return Registration{}, err
	}
	k, err := decodePrivateKey(r.PrivateKey, r.PrivateKeyType)
	if err != nil {
		return Registration{}, fmt.Errorf("registration in %s: %w", v.root, err)
	}
	created, _ := time.Parse(keyCreatedLayout, r.PrivateKeyCreatedDate)
	return Registration{InstanceID: r.InstanceID, Region: r.Region, Key: k, KeyCreated: created}, nil
}

// storeKey replaces the registration's key, keeping the rest of the record.
func (v vault) storeKey(k *rsa.PrivateKey, created time.Time) error {
	r, err := v.loadRecord()
	if err != nil {
		return err
	}
	r.PrivateKey = encodePrivateKey(k)
	r.PrivateKeyType = wire.PublicKeyTypeRsa
	r.PrivateKeyCreatedDate = created.Format(keyCreatedLayout)
	return v.storeRecord(r)
}

// storeLegacy writes the registration file the SSM agent writes but never
// reads, for tools that look at it.
func (v vault) storeLegacy(instanceID, region string) error {
	b, err := json.Marshal(struct {
		ManagedInstanceID string
		Region            string
	}{instanceID, region})
	if err != nil {
		return err
	}
	if err := writeFileAtomic(v.path(legacyRegPath), b); err != nil {
		return fmt.Errorf("write %s: %w", v.path(legacyRegPath), err)
	}
	return nil
}

// Clear forgets this host's registration under stateRoot (DefaultStateRoot
// if empty) as `amazon-ssm-agent -register -clear` does: the registration and
// fingerprint records are overwritten with empty ones, and the legacy
// registration file is removed. It does not tell SSM; the managed instance
// stays there until it is deregistered.
func Clear(stateRoot string) error {
	v, err := newVault(stateRoot)
	if err != nil {
		return err
	}
	if _, err := v.manifest(); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := v.storeRecord(registrationRecord{}); err != nil {
		return err
	}
	b, err := json.Marshal(fingerprintRecord{})
	if err != nil {
		return err
	}
	if err := v.store(vaultKeyPrint, b); err != nil {
		return err
	}
	if err := os.Remove(v.path(legacyRegPath)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
