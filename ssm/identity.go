package ssm

import (
	"encoding/json"
	"fmt"
	"time"
)

const identityConfigPath = "runtimeconfig/identity_config.json"

// identityConfig is the SSM agent's record of the credentials it shared
// (runtimeconfig/identity_config.json; Go field names, no tags). SSM agent
// workers trust it for the expiry of the shared file.
type identityConfig struct {
	SchemaVersion          string
	InstanceId             string
	IdentityType           string
	ShareFile              string
	ShareProfile           string
	CredentialsExpiresAt   time.Time
	CredentialsRetrievedAt time.Time
	CredentialSource       string
}

func (v vault) storeIdentityConfig(c identityConfig) error {
	c.SchemaVersion = "1.1"
	c.IdentityType = "OnPrem"
	c.CredentialSource = "SSM"
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(v.path(identityConfigPath), b); err != nil {
		return fmt.Errorf("write %s: %w", v.path(identityConfigPath), err)
	}
	return nil
}
