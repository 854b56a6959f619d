package ssmserver

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmsdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecsd-project/ecsd/ssm"
	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

const testFingerprint = "8f14e45f-ceea-467a-9a36-dedd4bea2543"

// signedInstance is an instance registered with a key the test holds.
type signedInstance struct {
	id  string
	key *rsa.PrivateKey
}

func (e *env) signedInstance(t *testing.T) signedInstance {
	t.Helper()
	act, code := e.createActivation(t, nil)
	key := newKey(t)
	return signedInstance{id: e.registerRaw(t, act, code, key, testFingerprint), key: key}
}

func (s signedInstance) signer(at time.Time) rsaSigning {
	return rsaSigning{instanceID: s.id, region: testRegion, key: s.key, at: at}
}

// TestRSASignedCalls: what RequestManagedInstanceRoleToken accepts and
// refuses, signed by the test's own implementation of the scheme.
func TestRSASignedCalls(t *testing.T) {
	e := newEnv(t)
	inst := e.signedInstance(t)
	other := newKey(t)
	now := e.clk.Now()
	good := wire.RequestManagedInstanceRoleTokenInput{Fingerprint: testFingerprint}

	tests := []struct {
		name     string
		in       any
		sign     func(*http.Request, []byte)
		want     string // error code; "" for success
		wantText string
	}{
		{name: "good", in: good, sign: inst.signer(now).sign},
		{name: "4 minutes slow", in: good, sign: inst.signer(now.Add(-4 * time.Minute)).sign},
		{name: "4 minutes fast", in: good, sign: inst.signer(now.Add(4 * time.Minute)).sign},
		{
			name: "another key", in: good,
			sign: rsaSigning{instanceID: inst.id, region: testRegion, key: other, at: now}.sign,
			want: "InvalidSignatureException", wantText: "does not match",
		},
		{
			name: "salt of 20 bytes", in: good,
			sign: rsaSigning{instanceID: inst.id, region: testRegion, key: inst.key, at: now, salt: 20}.sign,
			want: "InvalidSignatureException",
		},
		{
			name: "body changed after signing", in: good,
			sign: func(r *http.Request, body []byte) {
				inst.signer(now).sign(r, []byte(`{"Fingerprint":"someone-else"}`))
				r.Header.Del(wire.HeaderContentSHA256)
			},
			want: "InvalidSignatureException",
		},
		{
			name: "content sha256 does not match", in: good,
			sign: func(r *http.Request, body []byte) {
				inst.signer(now).sign(r, body)
				r.Header.Set(wire.HeaderContentSHA256, strings.Repeat("0", 64))
			},
			want: "InvalidSignatureException",
		},
		{
			name: "signed header changed", in: good,
			sign: func(r *http.Request, body []byte) {
				inst.signer(now).sign(r, body)
				r.Header.Set("Content-Type", "application/json")
			},
			want: "InvalidSignatureException",
		},
		{
			name: "other region", in: good,
			sign: rsaSigning{instanceID: inst.id, region: "us-east-1", key: inst.key, at: now}.sign,
			want: "InvalidSignatureException",
		},
		{
			name: "6 minutes slow", in: good, sign: inst.signer(now.Add(-6 * time.Minute)).sign,
			want: "InvalidSignatureException", wantText: "Signature expired: 20260101T115400Z is now earlier than 20260101T115500Z (20260101T120000Z - 5 min.)",
		},
		{
			name: "6 minutes fast", in: good, sign: inst.signer(now.Add(6 * time.Minute)).sign,
			want: "InvalidSignatureException", wantText: "Signature not yet current: 20260101T120600Z is still later than 20260101T120500Z (20260101T120000Z + 5 min.)",
		},
		{
			name: "skew is checked before the instance", in: good,
			sign: rsaSigning{instanceID: "mi-00000000000000000", region: testRegion, key: inst.key, at: now.Add(time.Hour)}.sign,
			want: "InvalidSignatureException", wantText: "not yet current",
		},
		{
			name: "unknown instance", in: good,
			sign: rsaSigning{instanceID: "mi-00000000000000000", region: testRegion, key: inst.key, at: now}.sign,
			want: "InvalidInstanceId",
		},
		{name: "unsigned", in: good, want: "MissingAuthenticationTokenException"},
		{
			name: "fingerprint mismatch", in: wire.RequestManagedInstanceRoleTokenInput{Fingerprint: "0a8b8c1e-0000-4000-8000-000000000001"},
			sign: inst.signer(now).sign, want: "MachineFingerprintDoesNotMatch",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.rawCall(t, "RequestManagedInstanceRoleToken", tt.in, tt.sign)
			if d, err := http.ParseTime(a.header.Get("Date")); err != nil || !d.Equal(now) {
				t.Errorf("Date header %q, want the server's time %s", a.header.Get("Date"), now)
			}
			if tt.want == "" {
				if a.status != http.StatusOK {
					t.Fatalf("got %d %s: %s", a.status, a.code, a.message)
				}
				var out wire.RequestManagedInstanceRoleTokenOutput
				if err := json.Unmarshal(a.body, &out); err != nil {
					t.Fatal(err)
				}
				if out.AccessKeyId == "" || out.SecretAccessKey == "" || out.SessionToken == "" ||
					!out.TokenExpirationDate.Equal(now.Add(time.Hour)) || out.UpdateKeyPair {
					t.Errorf("answer %s", a.body)
				}
				return
			}
			if a.status != http.StatusBadRequest || a.code != tt.want || !strings.Contains(a.message, tt.wantText) {
				t.Errorf("got %d %s (%s), want 400 %s (%s)", a.status, a.code, a.message, tt.want, tt.wantText)
			}
		})
	}
}

// TestUpdatePublicKey: the new key replaces the old, which stops
// verifying; a key already held is refused.
func TestUpdatePublicKey(t *testing.T) {
	e := newEnv(t)
	inst := e.signedInstance(t)
	neighbour := e.signedInstance(t)
	now := e.clk.Now()
	token := func(s rsaSigning) answer {
		return e.rawCall(t, "RequestManagedInstanceRoleToken", wire.RequestManagedInstanceRoleTokenInput{Fingerprint: testFingerprint}, s.sign)
	}
	update := func(s rsaSigning, newPub string) answer {
		return e.rawCall(t, "UpdateManagedInstancePublicKey", wire.UpdateManagedInstancePublicKeyInput{NewPublicKey: newPub, NewPublicKeyType: "Rsa"}, s.sign)
	}

	if a := update(inst.signer(now), publicKey(t, inst.key)); a.code != "PublicKeyAlreadyRegistered" {
		t.Errorf("update to the same key: %d %s", a.status, a.code)
	}
	if a := update(inst.signer(now), publicKey(t, neighbour.key)); a.code != "PublicKeyAlreadyRegistered" {
		t.Errorf("update to another instance's key: %d %s", a.status, a.code)
	}
	if a := update(inst.signer(now), "AAAA"); a.code != "InvalidPublicKey" {
		t.Errorf("update to a bad key: %d %s", a.status, a.code)
	}
	newKey := newKey(t)
	if a := update(rsaSigning{instanceID: inst.id, region: testRegion, key: newKey, at: now}, publicKey(t, newKey)); a.code != "InvalidSignatureException" {
		t.Errorf("update signed with the new key: %d %s", a.status, a.code)
	}
	if a := update(inst.signer(now), publicKey(t, newKey)); a.status != http.StatusOK || string(a.body) != "{}\n" {
		t.Fatalf("update: %d %s %s", a.status, a.code, a.body)
	}
	if a := token(inst.signer(now)); a.code != "InvalidSignatureException" {
		t.Errorf("token signed with the old key: %d %s", a.status, a.code)
	}
	if a := token(rsaSigning{instanceID: inst.id, region: testRegion, key: newKey, at: now}); a.status != http.StatusOK {
		t.Errorf("token signed with the new key: %d %s %s", a.status, a.code, a.message)
	}
	// The old key is free again: the client's rollback puts it back.
	if a := update(rsaSigning{instanceID: inst.id, region: testRegion, key: newKey, at: now}, publicKey(t, inst.key)); a.status != http.StatusOK {
		t.Errorf("update back to the old key: %d %s %s", a.status, a.code, a.message)
	}
	if a := token(inst.signer(now)); a.status != http.StatusOK {
		t.Errorf("token signed with the old key again: %d %s %s", a.status, a.code, a.message)
	}
}

// TestKeyRotation: once the key is older than RotateKeyAfter the server
// asks for a new one, ecsd's provider rotates, and the old key no longer
// works.
func TestKeyRotation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RotateKeyAfter = 24 * time.Hour })
	id, code := e.createActivation(t, nil)
	h := e.newHost(t)
	reg, err := e.register(t, h, id, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A copy of the host as it is now, with the key about to be replaced.
	old := e.newHost(t)
	copyTree(t, h.root, old.root)

	e.clk.Advance(25 * time.Hour)
	p := e.provider(t, h, nil)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if n := e.calls("UpdateManagedInstancePublicKey"); n != 1 {
		t.Fatalf("%d key updates, want 1", n)
	}

	// A fresh provider reads the rotated key and is not asked again.
	e.clk.Advance(2 * time.Hour)
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); err != nil {
		t.Fatalf("Retrieve with the rotated key: %v", err)
	}
	if n := e.calls("UpdateManagedInstancePublicKey"); n != 1 {
		t.Errorf("%d key updates, want still 1", n)
	}
	if _, err := e.provider(t, old, nil).Retrieve(t.Context()); !errors.Is(err, ssm.ErrInvalidSignature) {
		t.Errorf("Retrieve with the old key: %v, want %v", err, ssm.ErrInvalidSignature)
	}
	if p.InstanceID() != reg.InstanceID {
		t.Errorf("instance id changed: %s, was %s", p.InstanceID(), reg.InstanceID)
	}
}

// TestClockSkewCorrected: a host whose clock is 10 minutes slow is refused
// once, reads the server's time from the Date header, and signs again.
func TestClockSkewCorrected(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, nil)
	h := e.newHost(t)
	if _, err := e.register(t, h, id, code); err != nil {
		t.Fatal(err)
	}
	p := e.provider(t, h, offsetClock{base: e.clk, offset: -10 * time.Minute})
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	if n := e.calls("RequestManagedInstanceRoleToken"); n != 2 {
		t.Errorf("%d token requests, want 2 (one refused for skew, one re-signed)", n)
	}
}

// TestFingerprintMismatch: a host whose fingerprint changed since it
// registered gets no credentials.
func TestFingerprintMismatch(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, nil)
	h := e.newHost(t)
	if _, err := e.register(t, h, id, code); err != nil {
		t.Fatal(err)
	}
	// The SSM agent's fingerprint record, as a hardware change rewrites it.
	path := filepath.Join(h.root, "Vault", "Store", "InstanceFingerprint")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	rec["fingerprint"] = "0a8b8c1e-0000-4000-8000-000000000001"
	if b, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); !errors.Is(err, ssm.ErrFingerprintMismatch) {
		t.Fatalf("Retrieve: %v, want %v", err, ssm.ErrFingerprintMismatch)
	}
}

// TestDeregister: a deregistered instance gets no more credentials, and is
// no longer listed.
func TestDeregister(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(3)})
	h := e.newHost(t)
	reg, err := e.register(t, h, id, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.admin.DeregisterManagedInstance(t.Context(), &ssmsdk.DeregisterManagedInstanceInput{InstanceId: &reg.InstanceID}); err != nil {
		t.Fatalf("DeregisterManagedInstance: %v", err)
	}
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); !errors.Is(err, ssm.ErrInvalidInstanceID) {
		t.Errorf("Retrieve after deregistration: %v, want %v", err, ssm.ErrInvalidInstanceID)
	}
	_, err = e.admin.DeregisterManagedInstance(t.Context(), &ssmsdk.DeregisterManagedInstanceInput{InstanceId: &reg.InstanceID})
	var invalid *types.InvalidInstanceId
	if !errors.As(err, &invalid) {
		t.Errorf("second DeregisterManagedInstance: %v, want InvalidInstanceId", err)
	}
	info, err := e.admin.DescribeInstanceInformation(t.Context(), &ssmsdk.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.InstanceInformationList) != 0 {
		t.Errorf("deregistered instance still listed: %+v", info.InstanceInformationList)
	}
	// The registration is not given back, and the host may register again.
	if _, err := e.register(t, h, id, code); err != nil {
		t.Fatalf("register again: %v", err)
	}
	acts, err := e.admin.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := *acts.ActivationList[0].RegistrationsCount; n != 2 {
		t.Errorf("RegistrationsCount %d, want 2", n)
	}
}

// TestRestartKeepsInstances: a server started again on the same data
// directory knows the activation and the instance.
func TestRestartKeepsInstances(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(2)})
	h := e.newHost(t)
	reg, err := e.register(t, h, id, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.provider(t, h, nil).Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}

	e.restart()
	e.clk.Advance(2 * time.Hour)
	p := e.provider(t, h, nil)
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatalf("Retrieve after restart: %v", err)
	}
	if p.InstanceID() != reg.InstanceID {
		t.Errorf("instance %s after restart, was %s", p.InstanceID(), reg.InstanceID)
	}
	info, err := e.admin.DescribeInstanceInformation(t.Context(), &ssmsdk.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.InstanceInformationList) != 1 || *info.InstanceInformationList[0].InstanceId != reg.InstanceID {
		t.Errorf("instances after restart: %+v", info.InstanceInformationList)
	}
	// The activation still counts the first registration and takes one more.
	if _, err := e.register(t, e.newHost(t), id, code); err != nil {
		t.Fatalf("second registration after restart: %v", err)
	}
	if _, err := e.register(t, e.newHost(t), id, code); !errors.Is(err, ssm.ErrRegistrationLimitExceeded) {
		t.Errorf("third registration: %v, want %v", err, ssm.ErrRegistrationLimitExceeded)
	}
}

// copyTree copies the files under src to dst, keeping their modes.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(to, info.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	// The vault's manifest names absolute paths; point them at the copy.
	manifest := filepath.Join(dst, "Vault", "Manifest")
	b, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte(strings.ReplaceAll(string(b), src, dst)), 0o600); err != nil {
		t.Fatal(err)
	}
}
