package ssm

import (
	"os"
	"path/filepath"
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
