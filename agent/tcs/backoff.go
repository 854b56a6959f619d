package tcs

import (
	"math/rand/v2"
	"time"
)

// backoff is the stock agent's exponential backoff: each wait is the
// current step plus a random jitter below jitter×step; the step grows by
// mult up to max.
type backoff struct {
	min, max, cur time.Duration
	mult, jitter  float64
}

func newBackoff(min, max time.Duration, mult, jitter float64) *backoff {
	return &backoff{min: min, max: max, cur: min, mult: mult, jitter: jitter}
}

// next returns the wait before the next attempt and grows the step.
func (b *backoff) next() time.Duration {
	d := b.cur
	if j := time.Duration(float64(d) * b.jitter); j > 0 {
		d += rand.N(j)
	}
	b.cur = min(b.max, time.Duration(float64(b.cur)*b.mult))
	return d
}

// reset starts again from the minimum.
func (b *backoff) reset() { b.cur = b.min }

// jittered returns d plus a random duration below j.
func jittered(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d + rand.N(j)
}
