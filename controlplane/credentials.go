package controlplane

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/wire/acs"
	bolt "go.etcd.io/bbolt"
)

// loadCredentials adds the stored, unexpired credentials to the keyring and,
// on first start, creates the admin credentials; the credentials and config
// files are (re)written when missing.
func (cp *ControlPlane) loadCredentials() error {
	var admin *credentialRecord
	now := cp.now()
	err := cp.db.Update(func(tx *bolt.Tx) error {
		st := &state{tx: tx, now: now, fx: &effects{}}
		c := tx.Bucket(bucketCredentials).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var r credentialRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode credential %s: %w", k, err)
			}
			if !r.Expires.IsZero() && now.After(r.Expires) {
				if err := c.Delete(); err != nil {
					return fmt.Errorf("delete expired credential %s: %w", k, err)
				}
				continue
			}
			if r.Admin {
				admin = &r
			}
			cp.keyring.Add(r.Credential)
		}
		if admin != nil {
			return nil
		}
		admin = &credentialRecord{Admin: true, Credential: auth.Credential{
			AccessKeyID:     "AKIA" + randomKeyID(),
			SecretAccessKey: randomSecret(30),
			Principal:       "arn:aws:iam::" + cp.cfg.AccountID + ":root",
		}}
		cp.log.Info("created admin credentials", keyAccessKeyID, admin.AccessKeyID)
		return st.putCredential(*admin)
	})
	if err != nil {
		return fmt.Errorf("load credentials: %w", err)
	}
	cp.keyring.Add(admin.Credential)
	return cp.writeCredentialFiles(admin.Credential)
}

// writeCredentialFiles writes DataDir/credentials and DataDir/config, mode
// 0600, unless they exist, and logs how to use them.
func (cp *ControlPlane) writeCredentialFiles(c auth.Credential) error {
	credPath := filepath.Join(cp.cfg.DataDir, credentialsFile)
	confPath := filepath.Join(cp.cfg.DataDir, configFile)
	wrote := false
	if _, err := os.Stat(credPath); os.IsNotExist(err) {
		body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", c.AccessKeyID, c.SecretAccessKey)
		if err := writeFileAtomic(credPath, []byte(body)); err != nil {
			return err
		}
		wrote = true
	}
	if _, err := os.Stat(confPath); os.IsNotExist(err) {
		body := fmt.Sprintf("[default]\nregion = %s\n", cp.cfg.Region)
		if err := writeFileAtomic(confPath, []byte(body)); err != nil {
			return err
		}
		wrote = true
	}
	if wrote {
		endpoint := cp.cfg.Endpoint
		if endpoint == "" {
			endpoint = "http://ADDR"
		}
		cp.log.Info("wrote admin credentials; try: "+UsageHint(cp.cfg.DataDir, endpoint),
			keyPath, credPath, keyConfigPath, confPath)
	}
	return nil
}

// UsageHint is the AWS CLI command line that lists the clusters of the
// ecs-local whose data directory is dataDir and which listens at endpoint.
func UsageHint(dataDir, endpoint string) string {
	return fmt.Sprintf("AWS_SHARED_CREDENTIALS_FILE=%s AWS_CONFIG_FILE=%s aws --endpoint-url %s ecs list-clusters",
		filepath.Join(dataDir, credentialsFile), filepath.Join(dataDir, configFile), endpoint)
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// issueCredentials issues temporary credentials for roleARN under the
// credentials ID id (new when empty), stores them and queues them for the
// keyring.
func (cp *ControlPlane) issueCredentials(st *state, roleARN, id string) (*issuedCredentials, error) {
	if id == "" {
		id = newUUID()
	}
	ic := &issuedCredentials{
		CredentialsID:   id,
		RoleARN:         roleARN,
		AccessKeyID:     "ASIA" + randomKeyID(),
		SecretAccessKey: randomSecret(30),
		SessionToken:    randomSecret(96),
		Expiration:      st.now.Add(cp.cfg.CredentialsTTL).Truncate(time.Second),
	}
	c := auth.Credential{
		AccessKeyID:     ic.AccessKeyID,
		SecretAccessKey: ic.SecretAccessKey,
		SessionToken:    ic.SessionToken,
		Principal:       roleARN,
		Expires:         ic.Expiration,
	}
	if err := st.putCredential(credentialRecord{Credential: c}); err != nil {
		return nil, err
	}
	st.fx.creds = append(st.fx.creds, c)
	return ic, nil
}

// IssueCredentials mints temporary credentials (an ASIA… key, a secret and
// a session token) for principal, valid for ttl, stores them so that they
// survive a restart, and adds them to the keyring. The SSM side issues
// managed instances' role credentials with it.
func (cp *ControlPlane) IssueCredentials(principal string, ttl time.Duration) (auth.Credential, error) {
	if ttl <= 0 {
		return auth.Credential{}, fmt.Errorf("issue credentials for %s: ttl %v is not positive", principal, ttl)
	}
	c := auth.Credential{
		AccessKeyID:     "ASIA" + randomKeyID(),
		SecretAccessKey: randomSecret(30),
		SessionToken:    randomSecret(96),
		Principal:       principal,
		Expires:         cp.now().Add(ttl).Truncate(time.Second),
	}
	err := cp.update(context.Background(), func(st *state) error {
		st.fx.creds = append(st.fx.creds, c)
		return st.putCredential(credentialRecord{Credential: c})
	})
	if err != nil {
		return auth.Credential{}, fmt.Errorf("issue credentials for %s: %w", principal, err)
	}
	return c, nil
}

// acsCredentials is ic as ACS sends it.
func (ic *issuedCredentials) acsCredentials() *acs.IAMRoleCredentials {
	if ic == nil {
		return nil
	}
	return &acs.IAMRoleCredentials{
		CredentialsID:   ic.CredentialsID,
		RoleARN:         ic.RoleARN,
		AccessKeyID:     ic.AccessKeyID,
		SecretAccessKey: acs.SensitiveString(ic.SecretAccessKey),
		SessionToken:    acs.SensitiveString(ic.SessionToken),
		Expiration:      ic.Expiration.UTC().Format(time.RFC3339),
	}
}

// pruneCredentials forgets expired credentials, in the store and the
// keyring.
func (cp *ControlPlane) pruneCredentials(st *state) error {
	c := st.tx.Bucket(bucketCredentials).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var r credentialRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode credential %s: %w", k, err)
		}
		if !r.Expires.IsZero() && st.now.After(r.Expires) {
			if err := c.Delete(); err != nil {
				return fmt.Errorf("delete expired credential %s: %w", k, err)
			}
		}
	}
	cp.keyring.Prune()
	return nil
}

const keyIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// randomKeyID returns the 16 characters after an access key ID's prefix.
func randomKeyID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	for i := range b {
		b[i] = keyIDAlphabet[int(b[i])%len(keyIDAlphabet)]
	}
	return string(b[:])
}

// randomSecret returns n random bytes in base64, 4n/3 characters.
func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return base64.StdEncoding.EncodeToString(b)
}
