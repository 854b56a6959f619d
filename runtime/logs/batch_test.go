package logs

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// batches cuts events into PutLogEvents calls as the shipper does.
func batches(evs []event) []batch {
	var out []batch
	var b batch
	for _, ev := range evs {
		if !b.add(ev) {
			out = append(out, b)
			b = batch{}
			b.add(ev)
		}
	}
	if len(b.events) > 0 {
		out = append(out, b)
	}
	return out
}

func TestBatchLimits(t *testing.T) {
	const hour = 60 * 60 * 1000
	many := func(n, size int, step int64) []event {
		evs := make([]event, n)
		for i := range evs {
			evs[i] = event{ts: 1000 + int64(i)*step, msg: bytes.Repeat([]byte("m"), size)}
		}
		return evs
	}
	tests := []struct {
		name  string
		evs   []event
		sizes []int // events per batch
	}{
		{"25,000 small events", many(25_000, 10, 0), []int{10_000, 10_000, 5_000}},
		// (100,000 + 26) * 10 = 1,000,260 fits; an 11th does not.
		{"by bytes", many(25, 100_000, 0), []int{10, 10, 5}},
		{"largest events", many(5, maxEventBytes, 0), []int{4, 1}},
		{"24 hours span", many(5, 1, 12*hour), []int{2, 2, 1}},
		{"just under 24 hours", many(2, 1, 24*hour-1), []int{2}},
		{"out of order starts a batch", []event{{ts: 5, msg: []byte("a")}, {ts: 6, msg: []byte("b")}, {ts: 4, msg: []byte("c")}}, []int{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sizes []int
			for _, b := range batches(tt.evs) {
				sizes = append(sizes, len(b.events))
				if b.bytes > maxBatchBytes {
					t.Errorf("batch of %d bytes", b.bytes)
				}
			}
			if len(sizes) != len(tt.sizes) {
				t.Fatalf("batches %v, want %v", sizes, tt.sizes)
			}
			for i := range sizes {
				if sizes[i] != tt.sizes[i] {
					t.Fatalf("batches %v, want %v", sizes, tt.sizes)
				}
			}
		})
	}
}

func TestSplitEvent(t *testing.T) {
	if got := splitEvent(nil); got != nil {
		t.Errorf("empty line gives %q", got)
	}
	if got := splitEvent([]byte("bad \xff")); len(got) != 1 || string(got[0]) != "bad \uFFFD" {
		t.Errorf("invalid UTF-8 gives %q", got)
	}
	long := strings.Repeat("é", maxEventBytes) // 2 bytes each
	parts := splitEvent([]byte(long))
	var joined []byte
	for _, p := range parts {
		if len(p) > maxEventBytes || !utf8.Valid(p) {
			t.Fatalf("part of %d bytes, valid %v", len(p), utf8.Valid(p))
		}
		joined = append(joined, p...)
	}
	if len(parts) != 2 || string(joined) != long {
		t.Errorf("%d parts, joined equal %v", len(parts), string(joined) == long)
	}
}
