package ssmserver

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ssmsdk "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ecsd-project/ecsd/ssm"
)

var instanceIDRE = regexp.MustCompile(`^mi-[0-9a-f]{17}$`)

// TestRegisterAndGetCredentials goes the way a host does: an admin creates
// an activation with the SDK, ecsd registers with it and gets its role's
// credentials, and the admin sees both.
func TestRegisterAndGetCredentials(t *testing.T) {
	e := newEnv(t)
	expires := testStart.Add(48 * time.Hour)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{
		IamRole:             aws.String("service-role/" + testRole),
		RegistrationLimit:   aws.Int32(2),
		ExpirationDate:      &expires,
		DefaultInstanceName: aws.String("edge"),
		Description:         aws.String("test hosts"),
		Tags:                []types.Tag{{Key: aws.String("team"), Value: aws.String("edge")}},
	})
	if len(code) != activationCodeLength {
		t.Errorf("activation code has %d characters, want %d", len(code), activationCodeLength)
	}
	if !activationIDPattern.MatchString(id) {
		t.Errorf("activation id %q is not a UUID", id)
	}

	h := e.newHost(t)
	reg, err := e.register(t, h, id, code)
	if err != nil {
		t.Fatalf("Register: %v", err)
	}
	if !instanceIDRE.MatchString(reg.InstanceID) {
		t.Errorf("instance id %q", reg.InstanceID)
	}

	e.clk.Advance(10 * time.Minute)
	p := e.provider(t, h, nil)
	creds, err := p.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	issued, ok := e.keys.lookup(creds.AccessKeyID)
	if !ok || issued.secret != creds.SecretAccessKey || issued.token != creds.SessionToken {
		t.Fatalf("credentials %s were not issued by the keyring", creds.AccessKeyID)
	}
	if want := "arn:aws:sts::000000000000:assumed-role/" + testRole + "/" + reg.InstanceID; issued.principal != want {
		t.Errorf("principal %q, want %q", issued.principal, want)
	}
	if issued.ttl != time.Hour {
		t.Errorf("asked for %s of credentials, want 1h", issued.ttl)
	}
	// The SDK is told one minute less than SSM's expiry.
	if want := e.clk.Now().Add(time.Hour - time.Minute); !creds.Expires.Equal(want) {
		t.Errorf("credentials expire %s, want %s", creds.Expires, want)
	}

	acts, err := e.admin.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(acts.ActivationList) != 1 {
		t.Fatalf("%d activations, want 1", len(acts.ActivationList))
	}
	a := acts.ActivationList[0]
	if *a.ActivationId != id || *a.IamRole != "service-role/"+testRole || *a.RegistrationLimit != 2 || *a.RegistrationsCount != 1 ||
		a.Expired || !a.ExpirationDate.Equal(expires) || !a.CreatedDate.Equal(testStart) ||
		*a.DefaultInstanceName != "edge" || *a.Description != "test hosts" ||
		len(a.Tags) != 1 || *a.Tags[0].Key != "team" || *a.Tags[0].Value != "edge" {
		t.Errorf("activation: %+v", a)
	}

	info, err := e.admin.DescribeInstanceInformation(t.Context(), &ssmsdk.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.InstanceInformationList) != 1 {
		t.Fatalf("%d instances, want 1", len(info.InstanceInformationList))
	}
	i := info.InstanceInformationList[0]
	if *i.InstanceId != reg.InstanceID || i.PingStatus != types.PingStatusOnline || !i.LastPingDateTime.Equal(e.clk.Now()) ||
		*i.AgentVersion != "1.2.3" || i.PlatformType != types.PlatformTypeLinux || i.ResourceType != types.ResourceTypeManagedInstance ||
		*i.ActivationId != id || *i.IamRole != "service-role/"+testRole || !i.RegistrationDate.Equal(testStart) ||
		*i.Name != "edge" || *i.IPAddress != "127.0.0.1" {
		t.Errorf("instance information: %+v", i)
	}

	fi, err := os.Stat(filepath.Join(e.cfg.DataDir, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", DBFile, fi.Mode().Perm())
	}
}

// TestCreateActivationDefaults: one registration, 24 hours.
func TestCreateActivationDefaults(t *testing.T) {
	e := newEnv(t)
	id, _ := e.createActivation(t, nil)
	out, err := e.admin.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	a := out.ActivationList[0]
	if *a.ActivationId != id || *a.RegistrationLimit != 1 || *a.RegistrationsCount != 0 || !a.ExpirationDate.Equal(testStart.Add(24*time.Hour)) {
		t.Errorf("activation %+v", a)
	}
}

// TestRegisterRefused: each reason an activation is refused reaches ecsd
// as the error kind its message is written for.
func TestRegisterRefused(t *testing.T) {
	tests := []struct {
		name string
		// prepare returns the activation id and code to register with.
		prepare func(t *testing.T, e *env) (string, string)
		want    error
	}{
		{
			name: "expired",
			prepare: func(t *testing.T, e *env) (string, string) {
				id, code := e.createActivation(t, nil)
				e.clk.Advance(24 * time.Hour)
				return id, code
			},
			want: ssm.ErrActivationExpired,
		},
		{
			name: "used up",
			prepare: func(t *testing.T, e *env) (string, string) {
				id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(1)})
				if _, err := e.register(t, e.newHost(t), id, code); err != nil {
					t.Fatalf("first registration: %v", err)
				}
				return id, code
			},
			want: ssm.ErrRegistrationLimitExceeded,
		},
		{
			name: "wrong code",
			prepare: func(t *testing.T, e *env) (string, string) {
				id, _ := e.createActivation(t, nil)
				return id, "AAAAAAAAAAAAAAAAAAAA"
			},
			want: ssm.ErrInvalidActivation,
		},
		{
			name: "wrong code of an expired activation",
			prepare: func(t *testing.T, e *env) (string, string) {
				id, _ := e.createActivation(t, nil)
				e.clk.Advance(48 * time.Hour)
				return id, "AAAAAAAAAAAAAAAAAAAA"
			},
			want: ssm.ErrInvalidActivation,
		},
		{
			name: "unknown activation",
			prepare: func(t *testing.T, e *env) (string, string) {
				return newUUID(), newActivationCode()
			},
			want: ssm.ErrInvalidActivation,
		},
		{
			name: "deleted activation",
			prepare: func(t *testing.T, e *env) (string, string) {
				id, code := e.createActivation(t, nil)
				if _, err := e.admin.DeleteActivation(t.Context(), &ssmsdk.DeleteActivationInput{ActivationId: &id}); err != nil {
					t.Fatal(err)
				}
				return id, code
			},
			want: ssm.ErrInvalidActivation,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			id, code := tt.prepare(t, e)
			_, err := e.register(t, e.newHost(t), id, code)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Register: %v, want %v", err, tt.want)
			}
		})
	}
}

// TestRegisterChecksKey: the key must be a usable RSA key, held by no other
// instance.
func TestRegisterChecksKey(t *testing.T) {
	e := newEnv(t)
	id, code := e.createActivation(t, &ssmsdk.CreateActivationInput{RegistrationLimit: aws.Int32(5)})
	key := newKey(t)
	e.registerRaw(t, id, code, key, "8f14e45f-ceea-467a-9a36-dedd4bea2543")

	tests := []struct {
		name, key, keyType, fingerprint, want string
	}{
		{"key held by another instance", publicKey(t, key), "Rsa", "0a8b8c1e-0000-4000-8000-000000000001", "InstanceAlreadyRegistered"},
		{"not base64", "%%%", "Rsa", "f", "InvalidPublicKey"},
		{"not a key", "AAAA", "Rsa", "f", "InvalidPublicKey"},
		{"wrong type", publicKey(t, newKey(t)), "Ecdsa", "f", "InvalidPublicKey"},
		{"no fingerprint", publicKey(t, newKey(t)), "Rsa", "", "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.rawCall(t, "RegisterManagedInstance", map[string]string{
				"ActivationCode": code, "ActivationId": id, "PublicKey": tt.key, "PublicKeyType": tt.keyType, "Fingerprint": tt.fingerprint,
			}, nil)
			if a.status != 400 || a.code != tt.want {
				t.Errorf("got %d %s (%s), want 400 %s", a.status, a.code, a.message, tt.want)
			}
		})
	}
	out, err := e.admin.DescribeActivations(t.Context(), &ssmsdk.DescribeActivationsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if n := *out.ActivationList[0].RegistrationsCount; n != 1 {
		t.Errorf("refused registrations were counted: %d, want 1", n)
	}
}
