package wsenvelope

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	const frame = `{"type":"HeartbeatMessage","message":{"healthy":true}}`
	var m Message
	if err := json.Unmarshal([]byte(frame), &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "HeartbeatMessage" || string(m.Message) != `{"healthy":true}` {
		t.Fatalf("decoded %+v", m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != frame {
		t.Errorf("encoded %s, want %s", out, frame)
	}
}

func TestLogValueHidesTheBody(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("frame", "msg", Message{Type: "IAMRoleCredentialsMessage", Message: json.RawMessage(`{"secretAccessKey":"s3cret"}`)})
	if strings.Contains(buf.String(), "s3cret") {
		t.Errorf("body logged: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "msg.type=IAMRoleCredentialsMessage") || !strings.Contains(buf.String(), "msg.bytes=28") {
		t.Errorf("type or size missing: %s", buf.String())
	}
}
