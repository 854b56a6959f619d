package credentials

import (
	"log/slog"
	"sync"
)

// Role types, as ACS names them.
const (
	RoleTask      = "TaskApplication"
	RoleExecution = "TaskExecution"
)

// Credentials are one set of temporary role credentials.
type Credentials struct {
	ID              string
	TaskARN         string
	RoleType        string
	RoleARN         string
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// Expiration is passed through exactly as ACS sent it.
	Expiration string
}

// LogValue keeps the secrets out of logs.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", c.ID),
		slog.String("task", c.TaskARN),
		slog.String("roleType", c.RoleType),
		slog.String("roleArn", c.RoleARN),
		slog.String("expiration", c.Expiration),
	)
}

// String hides the secrets too.
func (c Credentials) String() string {
	return "Credentials{" + c.ID + " " + c.RoleType + " " + c.RoleARN + " [redacted]}"
}

// Store holds credentials in memory only: ACS re-sends them after a
// restart (sendCredentials=true), so they are never written to disk.
type Store struct {
	mu   sync.RWMutex
	byID map[string]Credentials
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{byID: map[string]Credentials{}} }

// Set adds or refreshes a set of credentials.
func (s *Store) Set(c Credentials) {
	s.mu.Lock()
	s.byID[c.ID] = c
	s.mu.Unlock()
}

// Get returns the credentials with id.
func (s *Store) Get(id string) (Credentials, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byID[id]
	return c, ok
}

// Remove forgets credentials (a stopped task's).
func (s *Store) Remove(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

// RemoveTask forgets every set of a task.
func (s *Store) RemoveTask(taskARN string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.byID {
		if c.TaskARN == taskARN {
			delete(s.byID, id)
		}
	}
}

// ForTask returns a task's credentials of one role type.
func (s *Store) ForTask(taskARN, roleType string) (Credentials, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.byID {
		if c.TaskARN == taskARN && c.RoleType == roleType {
			return c, true
		}
	}
	return Credentials{}, false
}
