package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/config"
	"github.com/ecsd-project/ecsd/ssm"
	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

const (
	testActivationID   = "2d1f8c1e-6c3b-4f0e-9a44-2f7d3c1b5a10"
	testActivationCode = "AbCdEfGhIjKlMnOpQrStUv"
	testInstanceID     = "mi-0123456789abcdef0"
)

// stubSSM answers each SSM call with the error code set for it, else with
// success; it does not check signatures (ssm's own tests do).
type stubSSM struct {
	srv  *httptest.Server
	mu   sync.Mutex
	fail map[string]string // target → error code
}

func newStubSSM(t *testing.T) *stubSSM {
	s := &stubSSM{fail: map[string]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *stubSSM) failWith(target, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[target] = code
}

func (s *stubSSM) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	target := r.Header.Get(wire.HeaderTarget)
	code := s.fail[target]
	s.mu.Unlock()
	w.Header().Set("Content-Type", wire.ContentType)
	if code != "" {
		status := http.StatusBadRequest
		if code == wire.ErrCodeInternalServerError {
			status = http.StatusInternalServerError
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(wire.ErrorResponse{Type: "com.amazonaws.ssm#" + code, Message: "stubbed"})
		return
	}
	switch target {
	case wire.TargetRegisterManagedInstance:
		json.NewEncoder(w).Encode(wire.RegisterManagedInstanceOutput{InstanceId: testInstanceID})
	case wire.TargetRequestManagedInstanceRoleToken:
		json.NewEncoder(w).Encode(wire.RequestManagedInstanceRoleTokenOutput{
			AccessKeyId: "ASIASTUB", SecretAccessKey: "stub-secret", SessionToken: "stub-token",
			TokenExpirationDate: wire.Timestamp{Time: time.Now().Add(time.Hour)},
		})
	default:
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(wire.ErrorResponse{Type: "UnknownOperationException", Message: target})
	}
}

func registerArgs(endpoint, root string, extra ...string) []string {
	return append([]string{"--region", "us-east-1", "--activation-id", testActivationID,
		"--activation-code", testActivationCode, "--endpoint", endpoint, "--state-root", root}, extra...)
}

// TestRegisterRefusals: each refusal of `ecsd register` is one line that
// says what to do, and exits 5 (RestartPreventExitStatus) when only a
// person can fix it.
func TestRegisterRefusals(t *testing.T) {
	tests := []struct {
		name, code string
		args       func(endpoint, root string) []string
		wantExit   int
		wantLines  []string
	}{
		{name: "invalid activation", code: wire.ErrCodeInvalidActivation, wantExit: exitConfig,
			wantLines: []string{"the activation id or code is not valid: check --activation-id and --activation-code"}},
		{name: "expired activation", code: wire.ErrCodeActivationExpired, wantExit: exitConfig,
			wantLines: []string{"the activation has expired: create a new one"}},
		{name: "used-up activation", code: wire.ErrCodeRegistrationLimitExceeded, wantExit: exitConfig,
			wantLines: []string{"the activation has no registrations left: create a new activation"}},
		{name: "malformed id and code", wantExit: exitConfig,
			args: func(endpoint, root string) []string {
				return []string{"--region", "us-east-1", "--activation-id", "nope", "--activation-code", "short", "--endpoint", endpoint, "--state-root", root}
			},
			wantLines: []string{`activation id "nope" is not a UUID: the activation id or code is not valid`,
				"activation code has 5 characters"}},
		{name: "server error", code: wire.ErrCodeInternalServerError, wantExit: exitError,
			wantLines: []string{"InternalServerError"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stub := newStubSSM(t)
			if tt.code != "" {
				stub.failWith(wire.TargetRegisterManagedInstance, tt.code)
			}
			root := t.TempDir()
			args := registerArgs(stub.srv.URL, root)
			if tt.args != nil {
				args = tt.args(stub.srv.URL, root)
			}
			var stdout, stderr bytes.Buffer
			code := registerMain(t.Context(), args, &stdout, &stderr)
			if code != tt.wantExit {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantExit, stderr.String())
			}
			lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
			if len(lines) != len(tt.wantLines) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.wantLines), stderr.String())
			}
			for i, want := range tt.wantLines {
				if !strings.HasPrefix(lines[i], "ecsd register: ") || !strings.Contains(lines[i], want) {
					t.Errorf("line %d %q, want 'ecsd register: …%s…'", i, lines[i], want)
				}
			}
			if strings.Contains(stderr.String(), testActivationCode) {
				t.Error("the activation code was printed")
			}
			if _, err := ssm.LoadRegistration(root); !errors.Is(err, ssm.ErrNotRegistered) {
				t.Errorf("registration after a refusal: %v", err)
			}
		})
	}
}

func TestRegisterTwice(t *testing.T) {
	stub := newStubSSM(t)
	root := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := registerMain(t.Context(), registerArgs(stub.srv.URL, root, "--cluster", "edge"), &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), testInstanceID) || !strings.Contains(stdout.String(), "ECS_CLUSTER=edge") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
	stderr.Reset()
	code := registerMain(t.Context(), registerArgs(stub.srv.URL, root), io.Discard, &stderr)
	if code != exitConfig || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "add --force") {
		t.Errorf("second register: exit %d, stderr:\n%s", code, stderr.String())
	}
}

// registeredConfig registers a host against stub and returns ecsd's
// configuration for it.
func registeredConfig(t *testing.T, stub *stubSSM, env ...string) config.Config {
	t.Helper()
	root := t.TempDir()
	if code := registerMain(t.Context(), registerArgs(stub.srv.URL, root), io.Discard, io.Discard); code != exitOK {
		t.Fatalf("register: exit %d", code)
	}
	cfg, _, err := config.Load(config.Sources{Files: []string{}, Env: append([]string{
		"AWS_DEFAULT_REGION=us-east-1", "ECSD_SSM_STATE_ROOT=" + root, "ECSD_SSM_ENDPOINT=" + stub.srv.URL,
		"ECS_DATADIR=" + t.TempDir()}, env...)})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// getCredentials runs instanceCredentials as `ecsd run` does and stops its
// refresh loop when the test ends.
func getCredentials(t *testing.T, cfg config.Config, logs io.Writer) error {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	_, wait, err := instanceCredentials(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	cancel()
	wait()
	return err
}

// TestRunRefusals: when SSM refuses the managed instance its credentials
// for a reason only a person can fix, `ecsd run` stops with one line that
// says what to do and exit code 5, so systemd does not restart it.
func TestRunRefusals(t *testing.T) {
	tests := []struct{ code, want string }{
		{wire.ErrCodeMachineFingerprintDoesNotMatch, "register again with a new activation and --force"},
		{wire.ErrCodeAccessDeniedException, "check the activation's IAM role"},
		{wire.ErrCodeInvalidInstanceId, "was it deregistered?"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			stub := newStubSSM(t)
			cfg := registeredConfig(t, stub)
			stub.failWith(wire.TargetRequestManagedInstanceRoleToken, tt.code)
			err := getCredentials(t, cfg, io.Discard)
			if err == nil {
				t.Fatal("no error")
			}
			if code := exitCodeFor(err); code != exitConfig {
				t.Errorf("exit code %d for %v, want %d", code, err, exitConfig)
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, tt.want) {
				t.Errorf("message %q: want one line containing %q", msg, tt.want)
			}
		})
	}
	// A network error is worth a restart.
	if code := exitCodeFor(errors.New("dial tcp: connection refused")); code != exitError {
		t.Errorf("exit code %d for a network error, want %d", code, exitError)
	}
}

// TestRunSharesCredentials: ECSD_SHARED_CREDENTIALS_FILE and _PROFILE reach
// the provider: the file is written 0600 with the credentials under the
// profile, other profiles kept; unset, no file is written.
func TestRunSharesCredentials(t *testing.T) {
	stub := newStubSSM(t)
	file := filepath.Join(t.TempDir(), ".aws", "credentials")
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("[mine]\naws_access_key_id = AKIAMINE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := registeredConfig(t, stub, "ECSD_SHARED_CREDENTIALS_FILE="+file, "ECSD_SHARED_CREDENTIALS_PROFILE=ecs")
	var logs bytes.Buffer
	if err := getCredentials(t, cfg, &logs); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "[mine]\naws_access_key_id = AKIAMINE\n\n[ecs]\n" +
		"aws_access_key_id     = ASIASTUB\naws_secret_access_key = stub-secret\naws_session_token     = stub-token\n"
	if string(b) != want {
		t.Errorf("shared file:\n%s\nwant:\n%s", b, want)
	}
	if info, err := os.Stat(file); err != nil || info.Mode() != 0o600 {
		t.Errorf("mode: %v %v", info, err)
	}
	if strings.Contains(logs.String(), "stub-secret") || strings.Contains(logs.String(), "stub-token") {
		t.Errorf("logs show the credentials:\n%s", logs.String())
	}

	// Not configured: nothing is written.
	cfg = registeredConfig(t, stub)
	if cfg.SharedCredentialsFile != "" {
		t.Fatalf("shared by default: %q", cfg.SharedCredentialsFile)
	}
	if err := getCredentials(t, cfg, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.SSMStateRoot, "runtimeconfig")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("identity_config written although nothing is shared: %v", err)
	}
}
