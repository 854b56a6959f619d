package ssmserver

import (
	"errors"
	"fmt"
	"testing"
)

// statusError is a refusal that names its code and status as a field and a
// StatusCode method, as some verifiers do.
type statusError struct {
	authError
	status int
}

func (e statusError) StatusCode() int { return e.status }

func TestVerifyError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
	}{
		{"plain", errors.New("bad signature"), 400, "InvalidSignatureException", "bad signature"},
		{"coded", authError{"UnrecognizedClientException", "The security token included in the request is invalid."}, 400, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"coded and wrapped", fmt.Errorf("verify: %w", authError{"ExpiredTokenException", "expired"}), 400, "ExpiredTokenException", "expired"},
		{"with status", statusError{authError{"InvalidSignatureException", "mismatch"}, 403}, 403, "InvalidSignatureException", "mismatch"},
		{"empty code", authError{"", "what"}, 400, "InvalidSignatureException", ": what"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verifyError(tt.err)
			if got.Status != tt.wantStatus || got.Code != tt.wantCode || got.Msg != tt.wantMsg {
				t.Errorf("got %d %s %q, want %d %s %q", got.Status, got.Code, got.Msg, tt.wantStatus, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestPrincipals(t *testing.T) {
	s := &Server{cfg: Config{AccountID: testAccount}}
	const mi = "mi-0123456789abcdef0"
	for role, want := range map[string]string{
		"ecsAnywhereRole":                             "arn:aws:sts::000000000000:assumed-role/ecsAnywhereRole/" + mi,
		"service-role/ecsAnywhereRole":                "arn:aws:sts::000000000000:assumed-role/ecsAnywhereRole/" + mi,
		"arn:aws:iam::000000000000:role/a/b/edgeRole": "arn:aws:sts::000000000000:assumed-role/edgeRole/" + mi,
	} {
		if got := s.principal(role, mi); got != want {
			t.Errorf("principal(%q) = %q, want %q", role, got, want)
		}
	}
	for principal, want := range map[string]string{
		"arn:aws:sts::000000000000:assumed-role/ecsAnywhereRole/" + mi: mi,
		mi: mi,
		"arn:aws:sts::111111111111:assumed-role/ecsAnywhereRole/" + mi: "",
		"arn:aws:sts::000000000000:assumed-role/taskRole/5c1d0e2f":     "",
		"arn:aws:iam::000000000000:root":                               "",
	} {
		got, ok := s.instanceOf(principal)
		if got != want || ok != (want != "") {
			t.Errorf("instanceOf(%q) = %q, %v; want %q", principal, got, ok, want)
		}
	}
}
