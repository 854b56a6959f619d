package wsclient

import (
	"math/rand/v2"
	"time"
)

// Backoff is the stock agent's exponential backoff: each wait is the
// current step plus a random jitter below jitter×step; the step grows by
// mult up to max. It is not safe for concurrent use.
type Backoff struct {
	min, max, cur time.Duration
	mult, jitter  float64
}

// NewBackoff starts a backoff at min.
func NewBackoff(min, max time.Duration, mult, jitter float64) *Backoff {
	return &Backoff{min: min, max: max, cur: min, mult: mult, jitter: jitter}
}

// Next returns the wait before the next attempt and grows the step.
func (b *Backoff) Next() time.Duration {
	d := b.cur
	if j := time.Duration(float64(d) * b.jitter); j > 0 {
		d += rand.N(j)
	}
	b.cur = min(b.max, time.Duration(float64(b.cur)*b.mult))
	return d
}

// Reset starts again from the minimum.
func (b *Backoff) Reset() { b.cur = b.min }

// jittered returns d plus a random duration below j.
func jittered(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d + rand.N(j)
}
