package ssm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestSetProfile(t *testing.T) {
	kv := [][2]string{{"aws_access_key_id", "AK"}, {"aws_secret_access_key", "SK"}, {"aws_session_token", "ST"}}
	block := "aws_access_key_id     = AK\naws_secret_access_key = SK\naws_session_token     = ST\n"
	tests := []struct {
		name, profile, in, want string
	}{
		{name: "empty file", profile: "default", in: "", want: "[default]\n" + block},
		{name: "replace in place", profile: "default",
			in:   "[default]\naws_access_key_id=OLD\naws_secret_access_key=OLD\naws_session_token=OLD\n",
			want: "[default]\n" + block},
		{name: "other profiles and keys kept", profile: "default",
			in:   "# managed by ecsd\n[prod]\naws_access_key_id = P\n\n[default]\nregion = eu-west-1\naws_session_token = OLD\n\n[dev]\nregion = us-east-1\n",
			want: "# managed by ecsd\n[prod]\naws_access_key_id = P\n\n[default]\nregion = eu-west-1\naws_session_token     = ST\naws_access_key_id     = AK\naws_secret_access_key = SK\n\n[dev]\nregion = us-east-1\n"},
		{name: "section added after others", profile: "ecs",
			in:   "[default]\naws_access_key_id = D\n",
			want: "[default]\naws_access_key_id = D\n\n[ecs]\n" + block},
		{name: "duplicates dropped, comments kept", profile: "default",
			in:   "[ default ]\n; old keys\naws_access_key_id = A\nAWS_ACCESS_KEY_ID = B\n",
			want: "[ default ]\n; old keys\naws_access_key_id     = AK\naws_secret_access_key = SK\naws_session_token     = ST\n"},
		{name: "CRLF and no final newline", profile: "default",
			in:   "[x]\r\na = 1",
			want: "[x]\na = 1\n\n[default]\n" + block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(setProfile([]byte(tt.in), tt.profile, kv)); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestWriteSharedCredentialsCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".aws")
	file := filepath.Join(dir, "credentials")
	c := aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST"}
	if err := writeSharedCredentials(file, "default", c); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, file: 0o600} {
		if info, err := os.Stat(p); err != nil || info.Mode() != want {
			t.Errorf("%s: %v %v, want %v", p, info.Mode(), err, want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestUnsetProfile(t *testing.T) {
	block := "aws_access_key_id     = AK\naws_secret_access_key = SK\naws_session_token     = ST\n"
	tests := []struct {
		name, profile, in, want string
		changed                 bool
	}{
		{name: "only profile", profile: "default", in: "[default]\n" + block, want: "", changed: true},
		{name: "others kept", profile: "default", changed: true,
			in:   "# top\n[prod]\naws_access_key_id = P\n\n[default]\n" + block + "\n[dev]\nregion = us-east-1\n",
			want: "# top\n[prod]\naws_access_key_id = P\n\n[dev]\nregion = us-east-1\n"},
		{name: "last section", profile: "ecs", changed: true,
			in:   "[default]\naws_access_key_id = D\n\n[ecs]\n" + block,
			want: "[default]\naws_access_key_id = D\n"},
		{name: "other keys of the profile kept", profile: "default", changed: true,
			in:   "[default]\nregion = eu-west-1\n" + block + "output = json\n",
			want: "[default]\nregion = eu-west-1\noutput = json\n"},
		{name: "comment keeps the section", profile: "default", changed: true,
			in:   "[default]\n; ours\n" + block,
			want: "[default]\n; ours\n"},
		{name: "profile absent", profile: "ecs", in: "[default]\n" + block, want: "[default]\n" + block},
		{name: "same key in another profile", profile: "ecs",
			in:   "[default]\naws_access_key_id = D\n[ecs]\nregion = x\n",
			want: "[default]\naws_access_key_id = D\n[ecs]\nregion = x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := unsetProfile([]byte(tt.in), tt.profile, credentialKeys)
			if string(got) != tt.want || changed != tt.changed {
				t.Errorf("got (changed %v):\n%s\nwant (changed %v):\n%s", changed, got, tt.changed, tt.want)
			}
		})
	}
}

func TestRemoveSharedCredentials(t *testing.T) {
	root := t.TempDir()
	dir := t.TempDir()
	configured := filepath.Join(dir, "credentials")
	recorded := filepath.Join(dir, "ssm-credentials")
	c := aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "SK", SessionToken: "ST"}
	if err := os.WriteFile(configured, []byte("[prod]\naws_access_key_id = P\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{configured, recorded} {
		if err := writeSharedCredentials(f, "ecs", c); err != nil {
			t.Fatal(err)
		}
	}
	v, _ := newVault(root)
	if err := v.storeIdentityConfig(identityConfig{InstanceId: testInstanceID, ShareFile: recorded, ShareProfile: "ecs"}); err != nil {
		t.Fatal(err)
	}

	removed, err := RemoveSharedCredentials(root, configured, "ecs")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"[ecs] in " + configured, "[ecs] in " + recorded}; !slices.Equal(removed, want) {
		t.Errorf("removed %q, want %q", removed, want)
	}
	if b, err := os.ReadFile(configured); err != nil || string(b) != "[prod]\naws_access_key_id = P\n" {
		t.Errorf("configured file: %q %v", b, err)
	}
	if info, err := os.Stat(configured); err != nil || info.Mode() != 0o600 {
		t.Errorf("configured file mode: %v %v", info, err)
	}
	for _, gone := range []string{recorded, filepath.Join(root, identityConfigPath)} {
		if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: %v, want it gone", gone, err)
		}
	}
	// Again: nothing left to do, and no error.
	if removed, err := RemoveSharedCredentials(root, configured, "ecs"); err != nil || len(removed) != 0 {
		t.Errorf("second run: %q %v", removed, err)
	}
	if removed, err := RemoveSharedCredentials(t.TempDir(), "", ""); err != nil || len(removed) != 0 {
		t.Errorf("nothing shared: %q %v", removed, err)
	}
}
