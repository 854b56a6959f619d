package ecs

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestamp(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 678_900_000, time.UTC)
	b, err := json.Marshal(Task{CreatedAt: At(at)})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"version":0,"createdAt":1704164645.679,"enableExecuteCommand":false}` {
		t.Errorf("encoded %s", got)
	}
	// The zero time is absent.
	if b, _ := json.Marshal(Task{}); string(b) != `{"version":0,"enableExecuteCommand":false}` {
		t.Errorf("zero encoded %s", b)
	}
	for in, want := range map[string]time.Time{
		`1704164645`:      time.Unix(1704164645, 0),
		`1704164645.5`:    time.Unix(1704164645, 5e8),
		`1.7041646455E9`:  time.Unix(1704164645, 5e8),
		`1704164645.1234`: time.Unix(1704164645, 123e6),
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil || !ts.Equal(want) {
			t.Errorf("%s: %v %v, want %v", in, ts.Time, err, want)
		}
	}
	for _, bad := range []string{`"2024-01-02T03:04:05Z"`, `true`, `1e300`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s decoded as %v", bad, ts.Time)
		}
	}
	var ts Timestamp
	if err := json.Unmarshal([]byte(`null`), &ts); err != nil || !ts.IsZero() {
		t.Errorf("null: %v %v", ts.Time, err)
	}
}
