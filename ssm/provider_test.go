package ssm

import (
	"context"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// providerEnv is a registered host and the fake SSM that knows it.
type providerEnv struct {
	clk  *fakeClock
	fake *fakeSSM
	root string
	logs *logBuffer
	cfg  ProviderConfig
}

func newProviderEnv(t *testing.T) *providerEnv {
	t.Helper()
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	root := t.TempDir()
	key := loadKey(t, "instance-key.pem")
	seedVault(t, root, key)
	fake.register(&key.PublicKey, testFingerprint)
	logs := &logBuffer{}
	t.Cleanup(func() {
		for _, secret := range []string{"secret-key-", "session-token-", encodePrivateKey(key)[:40]} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("logs show a secret (%s…):\n%s", secret, logs.String())
			}
		}
	})
	return &providerEnv{clk: clk, fake: fake, root: root, logs: logs, cfg: ProviderConfig{
		StateRoot:  root,
		Endpoint:   testEndpoint,
		HTTPClient: fake.httpClient(t),
		Clock:      clk,
		Log:        logs.logger(),
		NewKey:     func() (*rsa.PrivateKey, error) { return loadKey(t, "rotated-key.pem"), nil },
	}}
}

func (e *providerEnv) provider(t *testing.T) *Provider {
	t.Helper()
	p, err := NewProvider(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs p.Run until the fake has answered n tokens, and waits for it.
func (e *providerEnv) run(t *testing.T, p *Provider, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Stop once the n-th token has been taken in and Run goes back to sleep.
	e.clk.setOnAfter(func() {
		if e.fake.tokenCount() >= n {
			cancel()
		}
	})
	defer e.clk.setOnAfter(nil)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		cancel()
		<-done
		t.Fatalf("Run did not get %d tokens; logs:\n%s", n, e.logs.String())
	}
}

func TestRefreshAtHalfLife(t *testing.T) {
	e := newProviderEnv(t)
	p := e.provider(t)
	e.run(t, p, 4)

	if got := e.fake.tokenCount(); got != 4 {
		t.Fatalf("%d tokens, want 4", got)
	}
	// Three waits between the four fetches, and the one Run was stopped in.
	waits := e.clk.Waits()
	if len(waits) != 4 {
		t.Fatalf("waits %v, want four of 30m", waits)
	}
	for _, w := range waits {
		if w != 30*time.Minute {
			t.Errorf("waits %v, want 30m each", waits)
			break
		}
	}
	select {
	case <-p.Ready():
	default:
		t.Error("Ready not closed")
	}

	// Retrieve hands out the latest set without another call.
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIATEST0004" || c.SecretAccessKey != "secret-key-0004" || c.SessionToken != "session-token-0004" {
		t.Errorf("credentials %s", c.AccessKeyID)
	}
	if want := testStart.Add(90*time.Minute + time.Hour - expiryMargin); !c.CanExpire || !c.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", c.Expires, want)
	}
	if e.fake.tokenCount() != 4 {
		t.Error("Retrieve fetched although the credentials were fresh")
	}
}

func TestRetrieveWithoutRun(t *testing.T) {
	e := newProviderEnv(t)
	p := e.provider(t)
	if p.InstanceID() != testInstanceID || p.Region() != testRegion {
		t.Errorf("instance %s region %s", p.InstanceID(), p.Region())
	}
	for range 3 {
		if _, err := p.Retrieve(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fake.tokenCount(); n != 1 {
		t.Errorf("%d tokens, want 1", n)
	}
	e.clk.Advance(59 * time.Minute)
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIATEST0002" {
		t.Errorf("near expiry Retrieve returned %s, want a new set", c.AccessKeyID)
	}
}

var retryInPattern = regexp.MustCompile(`retry_in=(\S+)`)

// retries lists the waits the refresh loop logged after failures.
func retries(t *testing.T, logs string) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, line := range strings.Split(logs, "\n") {
		m := retryInPattern.FindStringSubmatch(line)
		if m == nil || !strings.Contains(line, "will retry") {
			continue
		}
		d, err := time.ParseDuration(m[1])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestNetworkErrorBackoff(t *testing.T) {
	e := newProviderEnv(t)
	// Each refresh makes 4 attempts; fail 12 refreshes, then come back.
	flaky := &flakyTransport{base: e.cfg.HTTPClient.Transport, failures: 12 * 4}
	e.cfg.HTTPClient.Transport = flaky
	p := e.provider(t)
	e.run(t, p, 1)

	outer := retries(t, e.logs.String())
	if len(outer) != 12 {
		t.Fatalf("%d refresh retries, want 12:\n%s", len(outer), e.logs.String())
	}
	for i, d := range outer {
		lo := time.Duration(1<<i) * time.Second
		if lo > 300*time.Second {
			lo = 270 * time.Second
		}
		if d < lo || d > 300*time.Second {
			t.Errorf("retry %d after %v, want between %v and 5m", i, d, lo)
		}
	}
	if !strings.Contains(e.logs.String(), "connection refused") {
		t.Error("logs do not say why")
	}
}

func TestRefusedBackoff(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.fail = func(target string, n int) (int, string) {
		if target == wire.TargetRequestManagedInstanceRoleToken && n == 1 {
			return 400, wire.ErrCodeAccessDeniedException
		}
		return 0, ""
	}
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("Retrieve: %v, want ErrAccessDenied", err)
	}
	e.fake.fail = func(target string, n int) (int, string) {
		if target == wire.TargetRequestManagedInstanceRoleToken && n == 2 {
			return 400, wire.ErrCodeMachineFingerprintDoesNotMatch
		}
		return 0, ""
	}
	e.run(t, p, 1)
	got := retries(t, e.logs.String())
	if len(got) != 1 || got[0] < 25*time.Minute || got[0] > 30*time.Minute {
		t.Errorf("retries %v, want one of 25 to 30 minutes", got)
	}
	if !strings.Contains(e.logs.String(), "fingerprint") {
		t.Errorf("logs do not name the fingerprint:\n%s", e.logs.String())
	}
}

func TestRetryDelay(t *testing.T) {
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	network := errors.New("dial tcp: connection refused")
	service := &APIError{Code: wire.ErrCodeInternalServerError, StatusCode: 500}
	denied := &APIError{Code: wire.ErrCodeAccessDeniedException, StatusCode: 400}
	tests := []struct {
		name     string
		err      error
		failures int
		rnd      func(int64) int64
		want     time.Duration
	}{
		{"network first", network, 0, lowest, 1 * time.Second},
		{"network first, most jitter", network, 0, highest, 1 * time.Second},
		{"network fifth", network, 5, highest, (32 + 6) * time.Second},
		{"network capped", network, 9, lowest, 300 * time.Second},
		{"network capped, most jitter", network, 16, highest, 271 * time.Second},
		{"service first", service, 0, lowest, 11 * time.Second},
		{"service first, most jitter", service, 0, highest, 20 * time.Second},
		{"service capped", service, 16, lowest, 1800 * time.Second},
		{"service capped, most jitter", service, 16, highest, 1501 * time.Second},
		{"access denied", denied, 0, lowest, 25 * time.Minute},
		{"access denied, most jitter", denied, 3, highest, 25*time.Minute + 299*time.Second},
		{"fingerprint", ErrFingerprintMismatch, 0, lowest, 25 * time.Minute},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.err, tt.failures, tt.rnd); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRefreshAt(t *testing.T) {
	at := testStart
	for _, tt := range []struct {
		expires time.Duration
		want    time.Duration
	}{
		{time.Hour, 30 * time.Minute},
		{6 * time.Hour, 3 * time.Hour},
		{0, 0},
		{-time.Minute, 0},
	} {
		if got := refreshAt(at, at.Add(tt.expires)).Sub(at); got != tt.want {
			t.Errorf("lifetime %v: refresh after %v, want %v", tt.expires, got, tt.want)
		}
	}
}

func TestClockSkewCorrected(t *testing.T) {
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newProviderEnv(t)
			e.fake.skew = skew
			p := e.provider(t)
			c, err := p.Retrieve(t.Context())
			if err != nil {
				t.Fatalf("Retrieve: %v", err)
			}
			recs := e.fake.recorded(wire.TargetRequestManagedInstanceRoleToken)
			if len(recs) != 2 {
				t.Fatalf("%d token requests, want 2 (refused, then re-signed)", len(recs))
			}
			if got, want := recs[1].header.Get("X-Amz-Date"), testStart.Add(skew).Format(wire.DateFormat); got != want {
				t.Errorf("re-signed at %s, want server time %s", got, want)
			}
			if len(e.clk.Waits()) != 0 {
				t.Errorf("waited %v before re-signing", e.clk.Waits())
			}
			// Expiry is in local time; refresh falls due halfway.
			if want := testStart.Add(time.Hour - expiryMargin); !c.Expires.Equal(want) {
				t.Errorf("expires %v, want %v", c.Expires, want)
			}
			if d := p.untilRefresh(); d != 30*time.Minute {
				t.Errorf("refresh in %v, want 30m", d)
			}
			// Later calls are signed with the corrected time at once.
			e.clk.Advance(59 * time.Minute)
			if _, err := p.Retrieve(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := len(e.fake.recorded(wire.TargetRequestManagedInstanceRoleToken)); n != 3 {
				t.Errorf("%d token requests, want 3", n)
			}
		})
	}
}

func vaultKey(t *testing.T, root string) *rsa.PrivateKey {
	t.Helper()
	reg, err := LoadRegistration(root)
	if err != nil {
		t.Fatal(err)
	}
	return reg.Key
}

func TestRotation(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.askRotate = true
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	rotated := loadKey(t, "rotated-key.pem")
	if !e.fake.key().Equal(&rotated.PublicKey) {
		t.Error("SSM does not have the new key")
	}
	if !vaultKey(t, e.root).Equal(rotated) {
		t.Error("the vault does not have the new key")
	}
	reg, _ := LoadRegistration(e.root)
	if !reg.KeyCreated.Equal(testStart) || reg.InstanceID != testInstanceID {
		t.Errorf("registration after rotation: %v created %v", reg, reg.KeyCreated)
	}
	// The next refresh is signed with the new key.
	e.clk.Advance(time.Hour)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.recorded(wire.TargetUpdateManagedInstancePublicKey)); n != 1 {
		t.Errorf("%d key updates, want 1", n)
	}
}

func TestRotationByAge(t *testing.T) {
	e := newProviderEnv(t)
	e.cfg.KeyMaxAge = 30 * 24 * time.Hour
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fake.recorded(wire.TargetUpdateManagedInstancePublicKey)); n != 0 {
		t.Fatalf("a new key was rotated")
	}
	e.clk.Advance(31 * 24 * time.Hour)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !vaultKey(t, e.root).Equal(loadKey(t, "rotated-key.pem")) {
		t.Error("an old key was not rotated")
	}
}

func TestRotationRefusedKeepsOldKey(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.askRotate = true
	e.fake.fail = func(target string, _ int) (int, string) {
		if target == wire.TargetUpdateManagedInstancePublicKey {
			return 400, wire.ErrCodeInvalidPublicKey
		}
		return 0, ""
	}
	before := snapshot(t, e.root)
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("a refused rotation failed the refresh: %v", err)
	}
	old := loadKey(t, "instance-key.pem")
	if !e.fake.key().Equal(&old.PublicKey) || !p.key.Equal(old) {
		t.Error("the old key is not in use")
	}
	if !mapsEqual(snapshot(t, e.root), before) {
		t.Error("the vault changed")
	}
	if !strings.Contains(e.logs.String(), "keeping the current one") {
		t.Errorf("logs:\n%s", e.logs.String())
	}
	e.clk.Advance(time.Hour)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// breakVault makes saving the registration fail: a directory stands where the
// record's file was.
func breakVault(t *testing.T, root string) (repair func()) {
	t.Helper()
	p := filepath.Join(root, "Vault/Store/RegistrationKey")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	if err := os.MkdirAll(filepath.Join(p, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	return func() {
		os.RemoveAll(p)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRotationSaveFailsRollsBack(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.askRotate = true
	p := e.provider(t)
	repair := breakVault(t, e.root)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	repair()
	old := loadKey(t, "instance-key.pem")
	if !e.fake.key().Equal(&old.PublicKey) {
		t.Error("SSM did not get the old key back")
	}
	if !p.key.Equal(old) {
		t.Error("the provider does not use the old key")
	}
	updates := e.fake.recorded(wire.TargetUpdateManagedInstancePublicKey)
	if len(updates) != 2 {
		t.Fatalf("%d key updates, want 2 (rotate, put back)", len(updates))
	}
	e.clk.Advance(time.Hour)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("after rollback: %v", err)
	}
}

func TestRotationUnsavedKeyIsSavedLater(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.askRotate = true
	e.fake.fail = func(target string, n int) (int, string) {
		if target == wire.TargetUpdateManagedInstancePublicKey && n >= 2 {
			return 400, wire.ErrCodeInvalidInstanceId
		}
		return 0, ""
	}
	p := e.provider(t)
	repair := breakVault(t, e.root)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.logs.String(), ErrKeyNotSaved.Error()) {
		t.Errorf("logs do not say the key is unsaved:\n%s", e.logs.String())
	}
	rotated := loadKey(t, "rotated-key.pem")
	if !p.key.Equal(rotated) {
		t.Fatal("the provider does not keep using the key SSM has")
	}
	repair()
	if err := p.tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !vaultKey(t, e.root).Equal(rotated) {
		t.Error("the rotated key was not saved once the vault could take it")
	}
}

func TestRotationLostAnswer(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.askRotate = true
	e.fake.loseUpdate = true
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	rotated := loadKey(t, "rotated-key.pem")
	if !vaultKey(t, e.root).Equal(rotated) || !p.key.Equal(rotated) {
		t.Error("the key SSM took was not adopted")
	}
	if !strings.Contains(e.logs.String(), "answer was lost") {
		t.Errorf("logs:\n%s", e.logs.String())
	}
}

func TestSharedCredentialsFile(t *testing.T) {
	e := newProviderEnv(t)
	dir := filepath.Join(t.TempDir(), ".aws")
	file := filepath.Join(dir, "credentials")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(file, []byte("[other]\naws_access_key_id = AKIAOTHER\n\n[ecs]\nregion = eu-west-1\naws_access_key_id = OLD\n"), 0o644)
	e.cfg.SharedCredentialsFile = file
	e.cfg.Profile = "ecs"
	p := e.provider(t)
	e.run(t, p, 2)

	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	want := "[other]\naws_access_key_id = AKIAOTHER\n\n[ecs]\nregion = eu-west-1\n" +
		"aws_access_key_id     = ASIATEST0002\n" +
		"aws_secret_access_key = secret-key-0002\n" +
		"aws_session_token     = session-token-0002\n"
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
	if info, _ := os.Stat(file); info.Mode() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode())
	}

	var ic map[string]any
	readJSON(t, filepath.Join(e.root, "runtimeconfig/identity_config.json"), &ic)
	for k, v := range map[string]any{
		"SchemaVersion": "1.1", "InstanceId": testInstanceID, "IdentityType": "OnPrem",
		"ShareFile": file, "ShareProfile": "ecs", "CredentialSource": "SSM",
		"CredentialsRetrievedAt": "2026-01-01T12:30:00Z", "CredentialsExpiresAt": "2026-01-01T13:30:00Z",
	} {
		if ic[k] != v {
			t.Errorf("identity_config %s = %v, want %v", k, ic[k], v)
		}
	}
	if info, _ := os.Stat(filepath.Join(e.root, "runtimeconfig")); info.Mode().Perm() != 0o700 {
		t.Errorf("runtimeconfig mode %v", info.Mode())
	}
}

func TestSharedFileRetriedAfterFailure(t *testing.T) {
	e := newProviderEnv(t)
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(blocker, nil, 0o600)
	e.cfg.SharedCredentialsFile = filepath.Join(blocker, "credentials")
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("a failed file write failed Retrieve: %v", err)
	}
	if err := p.tick(t.Context()); err == nil {
		t.Fatal("tick did not report the failed write")
	}
	os.Remove(blocker)
	if err := p.tick(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.cfg.SharedCredentialsFile); err != nil {
		t.Error(err)
	}
	if n := e.fake.tokenCount(); n != 1 {
		t.Errorf("%d tokens, want 1: retrying the file must not fetch again", n)
	}
}

func TestNewProviderNotRegistered(t *testing.T) {
	if _, err := NewProvider(ProviderConfig{StateRoot: t.TempDir()}); !errors.Is(err, ErrNotRegistered) {
		t.Errorf("err = %v, want ErrNotRegistered", err)
	}
}

func TestShortLivedCredentialsRefused(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.lifetime = 5 * time.Second
	p := e.provider(t)
	if _, err := p.Retrieve(t.Context()); err == nil || !strings.Contains(err.Error(), "too soon") {
		t.Errorf("Retrieve: %v, want an error about the expiry", err)
	}
}

// TestShortLivedCredentials: credentials that live less than four expiry
// margins get a quarter of their life as margin, and are refreshed halfway.
func TestShortLivedCredentials(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.lifetime = 20 * time.Second
	p := e.provider(t)
	e.run(t, p, 3)
	waits := e.clk.Waits()
	if len(waits) != 3 || waits[0] != 10*time.Second || waits[1] != 10*time.Second {
		t.Errorf("waits %v, want 10s each", waits)
	}
	c, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := testStart.Add(20*time.Second + 20*time.Second - 5*time.Second); !c.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", c.Expires, want)
	}
}

// TestRotationMidRun: SSM sets UpdateKeyPair on a refresh long after start;
// the running provider rotates then, keeps refreshing with the new key, and
// shares each new set of credentials.
func TestRotationMidRun(t *testing.T) {
	e := newProviderEnv(t)
	e.fake.fail = func(target string, n int) (int, string) {
		if target == wire.TargetRequestManagedInstanceRoleToken && n == 3 {
			e.fake.askRotate = true // the fake holds its lock while it calls fail
		}
		return 0, ""
	}
	file := filepath.Join(t.TempDir(), "credentials")
	e.cfg.SharedCredentialsFile = file
	p := e.provider(t)
	e.run(t, p, 5)

	rotated := loadKey(t, "rotated-key.pem")
	if !e.fake.key().Equal(&rotated.PublicKey) || !p.key.Equal(rotated) || !vaultKey(t, e.root).Equal(rotated) {
		t.Fatal("the key was not rotated everywhere (SSM, provider, vault)")
	}
	updates := e.fake.recorded(wire.TargetUpdateManagedInstancePublicKey)
	if len(updates) != 1 {
		t.Fatalf("%d key updates, want 1", len(updates))
	}
	// Every token call succeeded: the two after the rotation verified
	// against the new key only, since the fake forgot the old one.
	tokens := e.fake.recorded(wire.TargetRequestManagedInstanceRoleToken)
	if len(tokens) != 5 || e.fake.tokenCount() != 5 {
		t.Fatalf("%d token calls for %d tokens, want 5 and 5", len(tokens), e.fake.tokenCount())
	}
	var order []string
	e.fake.mu.Lock()
	for _, r := range e.fake.requests {
		order = append(order, strings.TrimPrefix(r.target, wire.TargetPrefix+"."))
	}
	e.fake.mu.Unlock()
	if got := strings.Join(order, " "); !strings.Contains(got, "RequestManagedInstanceRoleToken UpdateManagedInstancePublicKey RequestManagedInstanceRoleToken") ||
		strings.Count(got, "Update") != 1 {
		t.Errorf("calls %s", got)
	}
	c, err := p.Retrieve(t.Context())
	if err != nil || c.AccessKeyID != "ASIATEST0005" {
		t.Fatalf("Retrieve after rotation: %s %v", c.AccessKeyID, err)
	}
	b, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(b), "aws_access_key_id     = ASIATEST0005") {
		t.Errorf("shared file after rotation: %v\n%s", err, b)
	}
}
