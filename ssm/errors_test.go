package ssm

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		wantCode string
		wantKind error
		wantMsg  string
	}{
		{name: "namespaced type", status: 400, body: `{"__type":"com.amazonaws.ssm#InvalidActivation","message":"Activation ID not found"}`,
			wantCode: "InvalidActivation", wantKind: ErrInvalidActivation, wantMsg: "Activation ID not found"},
		{name: "type with suffix, capital Message", status: 400, body: `{"__type":"ActivationExpired:http://internal.amazon.com/coral/","Message":"expired"}`,
			wantCode: "ActivationExpired", wantKind: ErrActivationExpired, wantMsg: "expired"},
		{name: "code member", status: 400, body: `{"code":"RegistrationLimitExceeded"}`,
			wantCode: "RegistrationLimitExceeded", wantKind: ErrRegistrationLimitExceeded},
		{name: "header wins", status: 400, header: http.Header{"X-Amzn-Errortype": {"AccessDeniedException:http://internal.amazon.com/"}},
			body: `{"__type":"Other","message":"User is not authorized"}`, wantCode: "AccessDeniedException", wantKind: ErrAccessDenied, wantMsg: "User is not authorized"},
		{name: "fingerprint", status: 400, body: `{"__type":"MachineFingerprintDoesNotMatch"}`,
			wantCode: "MachineFingerprintDoesNotMatch", wantKind: ErrFingerprintMismatch},
		{name: "not json", status: 503, body: `<html>Service Unavailable</html>`, wantCode: "UnknownError"},
		{name: "empty", status: 500, body: ``, wantCode: "UnknownError"},
		{name: "unmodelled", status: 400, body: `{"__type":"ValidationException","message":"bad"}`, wantCode: "ValidationException", wantMsg: "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			h.Set("X-Amzn-Requestid", "req-7")
			err := parseResponse(tt.status, h, []byte(tt.body), nil)
			var e *APIError
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if e.Code != tt.wantCode || e.StatusCode != tt.status || e.Message != tt.wantMsg || e.RequestID != "req-7" {
				t.Errorf("got %+v", e)
			}
			if tt.wantKind != nil && !errors.Is(err, tt.wantKind) {
				t.Errorf("%v is not %v", err, tt.wantKind)
			}
			if tt.wantKind != nil && !strings.HasPrefix(err.Error(), tt.wantKind.Error()) {
				t.Errorf("message %q does not lead with what to do", err)
			}
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.wantCode {
				t.Errorf("not a smithy.APIError with code %s", tt.wantCode)
			}
		})
	}
}

func TestParseResponseSuccess(t *testing.T) {
	var out wire.RequestManagedInstanceRoleTokenOutput
	body := `{"AccessKeyId":"ASIA","SecretAccessKey":"s","SessionToken":"t","TokenExpirationDate":1.7672724E9,"UpdateKeyPair":true}`
	if err := parseResponse(200, http.Header{}, []byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if out.AccessKeyId != "ASIA" || out.SecretAccessKey != "s" || !out.UpdateKeyPair || !out.TokenExpirationDate.Equal(time.Unix(1767272400, 0)) {
		t.Errorf("out = %+v", out)
	}
	if err := parseResponse(200, http.Header{}, nil, &out); err != nil {
		t.Errorf("empty body: %v", err)
	}
	if err := parseResponse(200, http.Header{}, []byte(`{"TokenExpirationDate":"soon"}`), &out); err == nil {
		t.Error("bad body parsed")
	}
}

func TestRetryClassification(t *testing.T) {
	refused := &url.Error{Op: "Post", URL: testEndpoint, Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, tt := range []struct {
		name              string
		err               error
		register, refresh bool
	}{
		{"connection refused", refused, true, true},
		{"throttled registration", &APIError{Code: wire.ErrCodeTooManyUpdates, StatusCode: 400}, true, false},
		{"server error", &APIError{Code: wire.ErrCodeInternalServerError, StatusCode: 500}, false, true},
		{"throttling", &APIError{Code: "ThrottlingException", StatusCode: 400}, false, true},
		{"invalid activation", &APIError{Code: wire.ErrCodeInvalidActivation, StatusCode: 400}, false, false},
		{"access denied", &APIError{Code: wire.ErrCodeAccessDeniedException, StatusCode: 400}, false, false},
	} {
		if got := registerRetryer().IsErrorRetryable(tt.err); got != tt.register {
			t.Errorf("%s: register retries %v, want %v", tt.name, got, tt.register)
		}
		if got := tokenRetryer().IsErrorRetryable(tt.err); got != tt.refresh {
			t.Errorf("%s: refresh retries %v, want %v", tt.name, got, tt.refresh)
		}
	}
}

func TestErrorMessagesAreOneLine(t *testing.T) {
	for _, err := range []error{
		ErrNotRegistered, ErrAlreadyRegistered, ErrInvalidActivation, ErrActivationExpired,
		ErrRegistrationLimitExceeded, ErrInstanceAlreadyRegistered, ErrInvalidPublicKey,
		ErrFingerprintMismatch, ErrInvalidInstanceID, ErrAccessDenied, ErrInvalidSignature,
		ErrPublicKeyAlreadyRegistered, ErrTooManyUpdates, ErrKeyNotSaved,
	} {
		msg := err.Error()
		if strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, ": ") {
			t.Errorf("%q: want one line, the problem, then what to do", msg)
		}
	}
	for code, kind := range kinds {
		if !errors.Is(&APIError{Code: code}, kind) {
			t.Errorf("%s does not unwrap to its kind", code)
		}
	}
}

func TestRegistrationValuesRedacted(t *testing.T) {
	key := loadKey(t, "instance-key.pem")
	var logs logBuffer
	log := logs.logger()
	reg := Registration{InstanceID: testInstanceID, Region: testRegion, Key: key}
	cfg := RegisterConfig{Region: testRegion, ActivationID: testActivationID, ActivationCode: testActivationCode}
	log.Info("x", "reg", reg, "cfg", cfg, "rec", registrationRecord{InstanceID: testInstanceID, PrivateKey: encodePrivateKey(key)})
	out := logs.String() + reg.String()
	if strings.Contains(out, testActivationCode) || strings.Contains(out, encodePrivateKey(key)[:40]) || strings.Contains(out, key.N.String()[:20]) {
		t.Errorf("secret in %s", out)
	}
	if !strings.Contains(out, testInstanceID) {
		t.Errorf("instance id missing from %s", out)
	}
}

func TestSystemHardwareHash(t *testing.T) {
	h := systemHardwareHash()
	for _, k := range []string{"machine-id", "processor-hash", "memory-hash", "bios-hash", "system-hash", "hostname-info", "ipaddress-info", "macaddr-info", "disk-info"} {
		if _, ok := h[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if h["hostname-info"] == "" {
		t.Error("no hostname")
	}
}

func TestNewUUID(t *testing.T) {
	a, _ := newUUID()
	b, _ := newUUID()
	if a == b || len(a) != 36 || a[14] != '4' || !strings.ContainsAny(a[19:20], "89ab") || strings.ToLower(a) != a {
		t.Errorf("uuids %s %s", a, b)
	}
}
