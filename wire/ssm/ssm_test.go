package ssm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestWireNames(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{
			name: "register input",
			v: RegisterManagedInstanceInput{
				ActivationCode: "code-0123456789abcdefghij",
				ActivationId:   "2d1f8c1e-6c3b-4f0e-9a44-2f7d3c1b5a10",
				PublicKey:      "MIIB",
				PublicKeyType:  PublicKeyTypeRsa,
				Fingerprint:    "8f14e45f-ceea-467a-9a36-dedd4bea2543",
			},
			want: `{"ActivationCode":"code-0123456789abcdefghij","ActivationId":"2d1f8c1e-6c3b-4f0e-9a44-2f7d3c1b5a10","PublicKey":"MIIB","PublicKeyType":"Rsa","Fingerprint":"8f14e45f-ceea-467a-9a36-dedd4bea2543"}`,
		},
		{
			name: "register output",
			v:    RegisterManagedInstanceOutput{InstanceId: "mi-0123456789abcdef0"},
			want: `{"InstanceId":"mi-0123456789abcdef0"}`,
		},
		{
			name: "token input",
			v:    RequestManagedInstanceRoleTokenInput{Fingerprint: "f"},
			want: `{"Fingerprint":"f"}`,
		},
		{
			name: "token output",
			v: RequestManagedInstanceRoleTokenOutput{
				AccessKeyId:         "ASIAEXAMPLE",
				SecretAccessKey:     "sk",
				SessionToken:        "st",
				TokenExpirationDate: Timestamp{time.Unix(1767272400, 500e6)},
				UpdateKeyPair:       true,
			},
			want: `{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"sk","SessionToken":"st","TokenExpirationDate":1767272400.5,"UpdateKeyPair":true}`,
		},
		{
			name: "update key input",
			v:    UpdateManagedInstancePublicKeyInput{NewPublicKey: "MIIB", NewPublicKeyType: "Rsa"},
			want: `{"NewPublicKey":"MIIB","NewPublicKeyType":"Rsa"}`,
		},
		{
			name: "error",
			v:    ErrorResponse{Type: "InvalidActivation", Message: "Activation ID not found"},
			want: `{"__type":"InvalidActivation","message":"Activation ID not found"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("marshal:\n got %s\nwant %s", b, tt.want)
			}
		})
	}
}

func TestTimestampUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: `1767272400`, want: time.Unix(1767272400, 0)},
		{in: `1.7672724E9`, want: time.Unix(1767272400, 0)},
		{in: `1767272400.123456`, want: time.Unix(1767272400, 123e6)},
		{in: `0`, want: time.Unix(0, 0)},
		{in: `null`},
		{in: `"1767272400"`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `1e300`, wantErr: true},
		{in: `-1e300`, wantErr: true},
	}
	for _, tt := range tests {
		var out struct{ T Timestamp }
		err := json.Unmarshal([]byte(`{"T":`+tt.in+`}`), &out)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if !out.T.Equal(tt.want) && !(tt.want.IsZero() && out.T.IsZero()) {
			t.Errorf("%s: got %v, want %v", tt.in, out.T.Time, tt.want)
		}
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	for _, ts := range []time.Time{time.Unix(1767272400, 0), time.Unix(1767272400, 999e6), time.Unix(-5, 250e6), {}} {
		b, err := json.Marshal(Timestamp{ts})
		if err != nil {
			t.Fatal(err)
		}
		var got Timestamp
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !got.Equal(ts) {
			t.Errorf("%v → %s → %v", ts, b, got.Time)
		}
	}
}

func TestSecretsRedacted(t *testing.T) {
	const code, secret, token = "activation-code-secret-xyz", "secret-access-key-xyz", "session-token-xyz"
	in := RegisterManagedInstanceInput{ActivationCode: code, ActivationId: "id"}
	out := RequestManagedInstanceRoleTokenOutput{AccessKeyId: "ASIA", SecretAccessKey: secret, SessionToken: token}

	var buf bytes.Buffer
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		fmt.Fprintf(&buf, format+"\n", in)
		fmt.Fprintf(&buf, format+"\n", out)
		fmt.Fprintf(&buf, format+"\n", &out)
		fmt.Fprintf(&buf, format+"\n", out.SessionToken)
	}
	for _, h := range []slog.Handler{slog.NewJSONHandler(&buf, nil), slog.NewTextHandler(&buf, nil)} {
		log := slog.New(h)
		log.Info("call", "in", in, "out", out, "ptr", &out, "token", out.SessionToken)
	}
	for _, s := range []string{code, secret, token} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("output shows secret %q:\n%s", s, buf.String())
		}
	}
	if !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("output does not say [redacted]:\n%s", buf.String())
	}
}
