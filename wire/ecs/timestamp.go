package ecs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a time that AWS JSON 1.1 encodes as epoch seconds, a JSON
// number. Fields of this type carry `omitzero`, so the zero time is absent.
type Timestamp struct {
	time.Time
}

// At returns t as a Timestamp, rounded to the millisecond as the wire keeps
// it.
func At(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{t.Round(time.Millisecond).UTC()}
}

// Bounds of a Timestamp: years 0001 to 9999.
const (
	minEpochSeconds = -62135596800
	maxEpochSeconds = 253402300799
)

// MarshalJSON writes epoch seconds with millisecond precision; the zero time
// is written as null.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, float64(t.UnixMilli())/1000, 'f', -1, 64), nil
}

// UnmarshalJSON reads epoch seconds (integer, fractional or in exponent form)
// rounded to the millisecond, as the AWS SDKs do; null leaves the zero time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*t = Timestamp{}
		return nil
	}
	if len(b) == 0 || !(b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		return fmt.Errorf("timestamp %.40q: want epoch seconds as a JSON number", b)
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("timestamp %.40q: %w", b, errors.Unwrap(err))
	}
	if math.IsNaN(f) || f < minEpochSeconds || f > maxEpochSeconds {
		return fmt.Errorf("timestamp %.40q: out of range", b)
	}
	t.Time = time.UnixMilli(int64(math.Round(f * 1000))).UTC()
	return nil
}
