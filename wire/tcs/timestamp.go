package tcs

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a point in time as TCS encodes it: a JSON number of epoch
// seconds with a millisecond fraction, such as 1700000000.123.
type Timestamp struct{ time.Time }

// At returns t as a Timestamp, truncated to the millisecond.
func At(t time.Time) Timestamp { return Timestamp{t.Truncate(time.Millisecond)} }

// MarshalJSON writes epoch seconds with the millisecond fraction, the
// shortest form that is exact ("1700000000", "1700000000.1",
// "1700000000.123").
func (t Timestamp) MarshalJSON() ([]byte, error) {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	s := sign + strconv.FormatInt(ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		f := fmt.Sprintf("%03d", frac)
		for f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	return []byte(s), nil
}

// UnmarshalJSON reads epoch seconds, with or without a fraction; null
// leaves t unchanged.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(string(data), 64)
	if err != nil {
		return fmt.Errorf("timestamp %.40q is not epoch seconds: %w", data, err)
	}
	*t = Timestamp{time.UnixMilli(int64(math.Round(f * 1e3))).UTC()}
	return nil
}
