package wsclient

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Defaults of the Settings both services share, the stock agent's values.
// The backoff steps differ per service and are given to Fill.
const (
	DefaultHandshakeTimeout   = 30 * time.Second
	DefaultReadTimeout        = 3 * time.Minute
	DefaultWriteTimeout       = 3 * time.Minute
	DefaultConnectionLifetime = 30 * time.Minute
	DefaultLifetimeJitter     = 5 * time.Minute
	DefaultBackoffJitter      = 0.2
)

// Settings are the connection settings of a session; acs.Config and
// tcs.Config embed them. Zero values take defaults (see Fill).
type Settings struct {
	// Proxy picks the proxy for the handshake request, for example
	// http.ProxyFromEnvironment (HTTPS_PROXY, NO_PROXY); nil dials directly.
	Proxy func(*http.Request) (*url.URL, error)
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool

	HandshakeTimeout time.Duration
	// ReadTimeout and WriteTimeout are the socket deadlines.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// ConnectionLifetime plus a random jitter up to LifetimeJitter ends a
	// connection with close code 1000 and a reconnect.
	ConnectionLifetime time.Duration
	LifetimeJitter     time.Duration
	// Reconnect backoff: from BackoffMin, times BackoffMultiplier per
	// failure, capped at BackoffMax, each wait plus up to BackoffJitter of
	// itself.
	BackoffMin        time.Duration
	BackoffMax        time.Duration
	BackoffMultiplier float64
	BackoffJitter     float64
}

// Fill sets every unset field of s: durations at or below zero, a
// multiplier at or below 1 and a jitter at or below 0. The backoff steps
// come from the service's backoffMin, backoffMax and backoffMultiplier,
// the rest from the Default* constants.
func (s *Settings) Fill(backoffMin, backoffMax time.Duration, backoffMultiplier float64) {
	Default(&s.HandshakeTimeout, DefaultHandshakeTimeout)
	Default(&s.ReadTimeout, DefaultReadTimeout)
	Default(&s.WriteTimeout, DefaultWriteTimeout)
	Default(&s.ConnectionLifetime, DefaultConnectionLifetime)
	Default(&s.LifetimeJitter, DefaultLifetimeJitter)
	Default(&s.BackoffMin, backoffMin)
	Default(&s.BackoffMax, backoffMax)
	if s.BackoffMultiplier <= 1 {
		s.BackoffMultiplier = backoffMultiplier
	}
	if s.BackoffJitter <= 0 {
		s.BackoffJitter = DefaultBackoffJitter
	}
}

// Backoff returns a fresh reconnect backoff of s.
func (s *Settings) Backoff() *Backoff {
	return NewBackoff(s.BackoffMin, s.BackoffMax, s.BackoffMultiplier, s.BackoffJitter)
}

// Default sets *d to def when *d is zero or negative.
func Default(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Clock tells the time and waits; injected so tests can shorten waits or
// run an hour's pause at once.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Sleep waits d on clk, or until ctx is done, and then returns ctx's error.
func Sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-clk.After(d):
		return nil
	}
}
