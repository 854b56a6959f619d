package ssm

import (
	"errors"
	"time"
)

// Refresh backoff limits.
const (
	maxFailureExponent = 16
	// Network (and local) errors retry within about five minutes...
	networkBackoffCap = 300 // seconds
	// ...other SSM errors within about half an hour...
	serviceBackoffCap = 1800 // seconds
	// ...and refusals only a person can fix after 25 to 30 minutes.
	refusedBackoff = 25 * time.Minute
)

// retryDelay is how long the refresh loop waits after its failures-th
// consecutive failure (counting from 0) with err, before trying again. It
// follows the SSM agent: 2^n seconds plus up to 20 % jitter, plus 10 to 20
// seconds for errors SSM returned; but network errors are capped at about
// five minutes rather than thirty, so a host that was offline recovers soon
// after its network does. rnd(n) returns a number in [0, n).
func retryDelay(err error, failures int, rnd func(int64) int64) time.Duration {
	if errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrFingerprintMismatch) || errors.Is(err, ErrInvalidInstanceID) {
		return refusedBackoff + time.Duration(rnd(300))*time.Second
	}
	n := min(max(failures, 0), maxFailureExponent)
	exp := int64(1) << n
	s := exp + rnd((exp+4)/5)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		s += 10 + rnd(10)
		if s > serviceBackoffCap {
			s = serviceBackoffCap - rnd(300)
		}
	} else if s > networkBackoffCap {
		s = networkBackoffCap - rnd(30)
	}
	return time.Duration(s) * time.Second
}

// refreshAt is when credentials retrieved at retrieved and expiring at
// expires are refreshed: halfway through their life.
func refreshAt(retrieved, expires time.Time) time.Time {
	if !expires.After(retrieved) {
		return retrieved
	}
	return expires.Add(-expires.Sub(retrieved) / 2)
}
