package tcs

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestampJSON(t *testing.T) {
	for _, tc := range []struct {
		ms   int64
		json string
	}{
		{1700000000123, "1700000000.123"},
		{1700000000100, "1700000000.1"},
		{1700000000020, "1700000000.02"},
		{1700000000000, "1700000000"},
		{0, "0"},
	} {
		b, err := json.Marshal(Timestamp{time.UnixMilli(tc.ms)})
		if err != nil || string(b) != tc.json {
			t.Errorf("%d: %s %v, want %s", tc.ms, b, err, tc.json)
		}
		var got Timestamp
		if err := json.Unmarshal([]byte(tc.json), &got); err != nil || got.UnixMilli() != tc.ms {
			t.Errorf("%s: %v %v, want %d ms", tc.json, got.UnixMilli(), err, tc.ms)
		}
	}
	for _, bad := range []string{`"2024-01-01T00:00:00Z"`, `true`, `{}`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	var ts Timestamp
	if err := json.Unmarshal([]byte("null"), &ts); err != nil || !ts.IsZero() {
		t.Errorf("null: %v %v", ts, err)
	}
}

func TestZeroTimestampOmitted(t *testing.T) {
	b, err := json.Marshal(ContainerHealth{ContainerName: "web", HealthStatus: HealthUnknown})
	if err != nil || string(b) != `{"containerName":"web","healthStatus":"UNKNOWN"}` {
		t.Errorf("%s %v", b, err)
	}
	b, _ = json.Marshal(PublishMetricsRequest{Metadata: &MetricsMetadata{MessageID: "m", Idle: true, Fin: true}, Timestamp: At(time.UnixMilli(1700000000123))})
	if string(b) != `{"metadata":{"messageId":"m","idle":true,"fin":true},"timestamp":1700000000.123}` {
		t.Errorf("idle request %s", b)
	}
}
