package ssm

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

func testRegisterConfig(t *testing.T, fake *fakeSSM, clk *fakeClock, root string, key *rsa.PrivateKey) RegisterConfig {
	return RegisterConfig{
		Region:         testRegion,
		ActivationID:   testActivationID,
		ActivationCode: testActivationCode,
		Endpoint:       testEndpoint,
		StateRoot:      root,
		HTTPClient:     fake.httpClient(t),
		Clock:          clk,
		NewKey:         func() (*rsa.PrivateKey, error) { return key, nil },
		HardwareHash:   testHardware,
	}
}

func TestRegisterLayout(t *testing.T) {
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	root := t.TempDir()
	key := loadKey(t, "instance-key.pem")
	var logs logBuffer
	cfg := testRegisterConfig(t, fake, clk, root, key)
	cfg.Log = logs.logger()

	reg, err := Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reg.InstanceID != testInstanceID || reg.Region != testRegion || !reg.Key.Equal(key) {
		t.Errorf("registration = %v", reg)
	}

	// Modes: every file 0600, every directory 0700.
	files := map[string]bool{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
		} else {
			files[filepath.ToSlash(rel)] = true
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", rel, info.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"Vault/Manifest", "Vault/Store/RegistrationKey", "Vault/Store/InstanceFingerprint", "registration"}
	var got []string
	for f := range files {
		got = append(got, f)
	}
	slices.Sort(got)
	slices.Sort(wantFiles)
	if !slices.Equal(got, wantFiles) {
		t.Errorf("files = %v, want %v", got, wantFiles)
	}

	var manifest map[string]string
	readJSON(t, filepath.Join(root, "Vault/Manifest"), &manifest)
	for k, want := range map[string]string{
		"RegistrationKey":     filepath.Join(root, "Vault/Store/RegistrationKey"),
		"InstanceFingerprint": filepath.Join(root, "Vault/Store/InstanceFingerprint"),
	} {
		if manifest[k] != want {
			t.Errorf("manifest[%s] = %q, want %q", k, manifest[k], want)
		}
	}

	// The registration record: every SSM agent key, always written.
	var rec map[string]string
	readJSON(t, filepath.Join(root, "Vault/Store/RegistrationKey"), &rec)
	var keys []string
	for k := range rec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"availabilityZone", "instanceID", "instanceType", "privateKey", "privateKeyCreatedDate", "privateKeyType", "publicKey", "region"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("record keys = %v, want %v", keys, wantKeys)
	}
	if rec["instanceID"] != testInstanceID || rec["region"] != testRegion || rec["privateKeyType"] != "Rsa" {
		t.Errorf("record = %v", rec)
	}
	if want := "2026-01-01 12:00:00 +0000 UTC"; rec["privateKeyCreatedDate"] != want {
		t.Errorf("privateKeyCreatedDate = %q, want %q", rec["privateKeyCreatedDate"], want)
	}
	if k, err := decodePrivateKey(rec["privateKey"], "Rsa"); err != nil || !k.Equal(key) {
		t.Errorf("privateKey does not decode to the key: %v", err)
	}

	var print fingerprintRecord
	readJSON(t, filepath.Join(root, "Vault/Store/InstanceFingerprint"), &print)
	if print.Fingerprint != fake.print || print.SimilarityThreshold != 40 || print.HardwareHash["hostname-info"] != "edge-1" {
		t.Errorf("fingerprint record = %+v, SSM has %q", print, fake.print)
	}

	var legacy map[string]string
	readJSON(t, filepath.Join(root, "registration"), &legacy)
	if legacy["ManagedInstanceID"] != testInstanceID || legacy["Region"] != testRegion {
		t.Errorf("registration file = %v", legacy)
	}

	loaded, err := LoadRegistration(root)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.InstanceID != reg.InstanceID || !loaded.Key.Equal(key) || !loaded.KeyCreated.Equal(testStart) {
		t.Errorf("LoadRegistration = %v created %v", loaded, loaded.KeyCreated)
	}
	if strings.Contains(logs.String(), testActivationCode) || strings.Contains(logs.String(), rec["privateKey"][:40]) {
		t.Errorf("logs show a secret:\n%s", logs.String())
	}
}

func TestRegisterAlreadyRegistered(t *testing.T) {
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	root := t.TempDir()
	cfg := testRegisterConfig(t, fake, clk, root, loadKey(t, "instance-key.pem"))
	if _, err := Register(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)

	cfg.NewKey = func() (*rsa.PrivateKey, error) { return loadKey(t, "rotated-key.pem"), nil }
	_, err := Register(t.Context(), cfg)
	if !errors.Is(err, ErrAlreadyRegistered) {
		t.Fatalf("second register: %v, want ErrAlreadyRegistered", err)
	}
	if !strings.Contains(err.Error(), testInstanceID) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("message %q does not name the instance and --force", err)
	}
	if got := snapshot(t, root); !mapsEqual(got, before) {
		t.Error("refused registration changed the state root")
	}
	if n := len(fake.recorded(wire.TargetRegisterManagedInstance)); n != 1 {
		t.Errorf("SSM got %d registrations, want 1", n)
	}

	// --force registers again, with a new key and the same fingerprint.
	fake.mu.Lock()
	fake.instanceID = "mi-0fedcba9876543210"
	fake.mu.Unlock()
	cfg.Force = true
	reg, err := Register(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reg.InstanceID != "mi-0fedcba9876543210" || !reg.Key.Equal(loadKey(t, "rotated-key.pem")) {
		t.Errorf("forced registration = %v", reg)
	}
	recs := fake.recorded(wire.TargetRegisterManagedInstance)
	var first, second wire.RegisterManagedInstanceInput
	json.Unmarshal(recs[0].body, &first)
	json.Unmarshal(recs[1].body, &second)
	if first.Fingerprint != second.Fingerprint {
		t.Errorf("fingerprint changed from %s to %s", first.Fingerprint, second.Fingerprint)
	}
}

func TestRegisterErrors(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*RegisterConfig)
		fail      string
		want      error
		wantCalls int
	}{
		{name: "wrong code", mutate: func(c *RegisterConfig) { c.ActivationCode = "ZZZZZZZZZZZZZZZZZZZZZZ" }, want: ErrInvalidActivation, wantCalls: 1},
		{name: "short code", mutate: func(c *RegisterConfig) { c.ActivationCode = "short" }, want: ErrInvalidActivation},
		{name: "id not a uuid", mutate: func(c *RegisterConfig) { c.ActivationID = "not-a-uuid" }, want: ErrInvalidActivation},
		{name: "expired", fail: wire.ErrCodeActivationExpired, want: ErrActivationExpired, wantCalls: 1},
		{name: "used up", fail: wire.ErrCodeRegistrationLimitExceeded, want: ErrRegistrationLimitExceeded, wantCalls: 1},
		{name: "instance already registered", fail: wire.ErrCodeInstanceAlreadyRegistered, want: ErrInstanceAlreadyRegistered, wantCalls: 1},
		{name: "key refused", fail: wire.ErrCodeInvalidPublicKey, want: ErrInvalidPublicKey, wantCalls: 1},
		{name: "internal error is not retried", fail: wire.ErrCodeInternalServerError, wantCalls: 1},
		{name: "throttled throughout", fail: wire.ErrCodeTooManyUpdates, want: ErrTooManyUpdates, wantCalls: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			fake := newFakeSSM(t, clk)
			if tt.fail != "" {
				fake.fail = func(string, int) (int, string) { return 400, tt.fail }
			}
			root := t.TempDir()
			cfg := testRegisterConfig(t, fake, clk, root, loadKey(t, "instance-key.pem"))
			if tt.mutate != nil {
				tt.mutate(&cfg)
			}
			_, err := Register(t.Context(), cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if n := len(fake.recorded(wire.TargetRegisterManagedInstance)); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			if _, err := LoadRegistration(root); !errors.Is(err, ErrNotRegistered) {
				t.Errorf("after a failed registration: %v, want ErrNotRegistered", err)
			}
			if strings.Contains(err.Error(), testActivationCode) {
				t.Errorf("error shows the activation code: %v", err)
			}
		})
	}
}

func TestRegisterRetriesThrottlingAndNetwork(t *testing.T) {
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	fake.fail = func(_ string, n int) (int, string) {
		if n <= 2 {
			return 400, wire.ErrCodeTooManyUpdates
		}
		return 0, ""
	}
	cfg := testRegisterConfig(t, fake, clk, t.TempDir(), loadKey(t, "instance-key.pem"))
	flaky := &flakyTransport{base: cfg.HTTPClient.Transport, failures: 1}
	cfg.HTTPClient.Transport = flaky
	if _, err := Register(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	waits := clk.Waits()
	if len(waits) != 3 {
		t.Fatalf("waits %v, want 3 retries", waits)
	}
	for i, w := range waits {
		if w <= 0 || w > 30e9 {
			t.Errorf("wait %d = %v", i, w)
		}
	}
}

func TestLoadRegistrationNotRegistered(t *testing.T) {
	if _, err := LoadRegistration(t.TempDir()); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("empty root: %v", err)
	}
	// A record the SSM agent's -clear left behind is no registration.
	root := t.TempDir()
	v, _ := newVault(root)
	if err := v.storeRecord(registrationRecord{}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRegistration(root); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("cleared record: %v", err)
	}
}

func TestVaultKeepsOtherManifestKeys(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "Vault"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "Vault/Manifest"), []byte(`{"Other":"/somewhere/Other"}`), 0o600)
	seedVault(t, root, loadKey(t, "instance-key.pem"))
	var m map[string]string
	readJSON(t, filepath.Join(root, "Vault/Manifest"), &m)
	if m["Other"] != "/somewhere/Other" || m["RegistrationKey"] == "" || m["InstanceFingerprint"] == "" {
		t.Errorf("manifest = %v", m)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// snapshot maps each file under root to its content and mode.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		info, _ := d.Info()
		out[p] = info.Mode().String() + " " + string(b)
		return nil
	})
	return out
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestClear(t *testing.T) {
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	root := t.TempDir()
	cfg := testRegisterConfig(t, fake, clk, root, loadKey(t, "instance-key.pem"))
	if _, err := Register(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	first := fake.print
	if err := Clear(root); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadRegistration(root); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("after Clear: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "registration")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("legacy file: %v", err)
	}
	// A cleared host registers without --force, with a new fingerprint.
	if _, err := Register(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if fake.print == first {
		t.Error("fingerprint kept across Clear")
	}
	if err := Clear(t.TempDir()); err != nil {
		t.Errorf("Clear of an empty root: %v", err)
	}
}
