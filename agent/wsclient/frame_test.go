package wsclient

import (
	"errors"
	"testing"
)

func TestEncode(t *testing.T) {
	b, err := Encode("HeartbeatAckRequest", struct {
		MessageID string `json:"messageId"`
	}{"h1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"HeartbeatAckRequest","message":{"messageId":"h1"}}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if _, err := Encode("X", func() {}); err == nil {
		t.Error("an unencodable body was accepted")
	}
}

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		in, wantType, wantBody string
		wantErr                bool
	}{
		{`{"type":"HeartbeatMessage","message":{"healthy":true,"messageId":"h1"}}`, "HeartbeatMessage", `{"healthy":true,"messageId":"h1"}`, false},
		{`{"InvalidClusterException":"Invalid cluster"}`, "InvalidClusterException", `{"message":"Invalid cluster"}`, false},
		{`{"type":"X"}`, "X", ``, false},
		{`{"a":"b","c":"d"}`, "", "", true},
		{`{"a":1}`, "", "", true},
		{`{"":"x"}`, "", "", true},
		{`{}`, "", "", true},
		{`null`, "", "", true},
		{`[]`, "", "", true},
		{`{"type":7}`, "", "", true},
		{``, "", "", true},
	} {
		msg, err := DecodeFrame([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err = %v", tc.in, err)
			continue
		}
		if msg.Type != tc.wantType || string(msg.Message) != tc.wantBody {
			t.Errorf("%s: got %s %s", tc.in, msg.Type, msg.Message)
		}
	}
	if _, err := DecodeFrame([]byte(`{}`)); !errors.Is(err, ErrNoType) {
		t.Errorf("{}: %v, want ErrNoType", err)
	}
}

func TestDecodeRefusal(t *testing.T) {
	for _, tc := range []struct {
		body, typ, msg string
		ok             bool
	}{
		{`{"InvalidClusterException":"Invalid cluster"}`, "InvalidClusterException", "Invalid cluster", true},
		{`{"type":"InactiveInstanceException","message":{"message":"gone"}}`, "InactiveInstanceException", "gone", true},
		{`{"type":"AccessDeniedException","message":"nope"}`, "AccessDeniedException", "nope", true},
		{`<html>bad gateway</html>`, "", "", false},
		{``, "", "", false},
	} {
		typ, msg, ok := DecodeRefusal([]byte(tc.body))
		if typ != tc.typ || msg != tc.msg || ok != tc.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tc.body, typ, msg, ok, tc.typ, tc.msg, tc.ok)
		}
	}
}
