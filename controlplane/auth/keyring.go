package auth

import (
	"log/slog"
	"sync"
	"time"
)

// Credential is one access key ecs-local accepts.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken is set for temporary credentials; requests signed with
	// them must carry it in X-Amz-Security-Token.
	SessionToken string
	// Principal is who the key belongs to: an IAM ARN, a role ARN or a
	// managed instance ID. Verify returns it.
	Principal string
	// Expires is when the key stops working; zero means never.
	Expires time.Time
}

// LogValue logs the key ID, principal and expiry, never the secrets.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("accessKeyId", c.AccessKeyID),
		slog.String("secretAccessKey", "[redacted]"),
		slog.String("sessionToken", "[redacted]"),
		slog.String("principal", c.Principal),
		slog.Time("expires", c.Expires),
	)
}

// Keyring is the set of credentials that Verify accepts. It is safe for
// concurrent use.
type Keyring struct {
	now func() time.Time

	mu    sync.RWMutex
	creds map[string]Credential
}

// NewKeyring returns an empty keyring that reads the time from now (nil
// means time.Now).
func NewKeyring(now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	return &Keyring{now: now, creds: map[string]Credential{}}
}

// Add adds c, replacing any credential with the same access key ID.
func (k *Keyring) Add(c Credential) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.creds[c.AccessKeyID] = c
}

// Remove removes the credential with the access key ID, if any.
func (k *Keyring) Remove(accessKeyID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.creds, accessKeyID)
}

// Lookup returns the credential with the access key ID.
func (k *Keyring) Lookup(accessKeyID string) (Credential, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	c, ok := k.creds[accessKeyID]
	return c, ok
}

// Prune removes the credentials that expired before now and returns how
// many it removed.
func (k *Keyring) Prune() int {
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for id, c := range k.creds {
		if !c.Expires.IsZero() && now.After(c.Expires) {
			delete(k.creds, id)
			n++
		}
	}
	return n
}

// Len returns the number of credentials.
func (k *Keyring) Len() int {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return len(k.creds)
}
