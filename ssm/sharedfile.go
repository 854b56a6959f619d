package ssm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// DefaultCredentialsFile is where the SSM agent shares the instance's role
// credentials (root's shared credentials file); ecs-init mounts its
// directory into the ECS agent.
const DefaultCredentialsFile = "/root/.aws/credentials"

// DefaultProfile is the profile written to the shared credentials file.
const DefaultProfile = "default"

// writeSharedCredentials puts c under [profile] in the shared credentials
// file at path, keeping every other profile and every other key, comment and
// line of the file; the file is replaced atomically with mode 0600.
func writeSharedCredentials(path, profile string, c aws.Credentials) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	data := setProfile(old, profile, [][2]string{
		{"aws_access_key_id", c.AccessKeyID},
		{"aws_secret_access_key", c.SecretAccessKey},
		{"aws_session_token", c.SessionToken},
	})
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// setProfile returns the INI text ini with section [profile]'s keys set to
// kv, in the layout gopkg.in/ini.v1 (the SSM agent's writer) uses: "=" aligned
// within the keys written. Keys are replaced where they stand; missing ones are
// added at the end of the section; a missing section is added at the end.
func setProfile(ini []byte, profile string, kv [][2]string) []byte {
	width := 0
	for _, p := range kv {
		width = max(width, len(p[0]))
	}
	line := func(p [2]string) string { return p[0] + strings.Repeat(" ", width-len(p[0])) + " = " + p[1] }

	text := strings.ReplaceAll(string(ini), "\r\n", "\n")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		lines = nil
	}
	var out []string
	written := map[string]bool{}
	inSection, found := false, false
	flush := func() {
		// Add keys the section lacked, before its trailing blank lines.
		end := len(out)
		for end > 0 && strings.TrimSpace(out[end-1]) == "" {
			end--
		}
		var add []string
		for _, p := range kv {
			if !written[p[0]] {
				add = append(add, line(p))
				written[p[0]] = true
			}
		}
		out = append(out[:end], append(add, out[end:]...)...)
	}
	for _, l := range lines {
		if name, ok := sectionName(l); ok {
			if inSection {
				flush()
			}
			inSection = name == profile
			found = found || inSection
			out = append(out, l)
			continue
		}
		if inSection {
			if k, _, ok := strings.Cut(l, "="); ok && !isComment(l) {
				key := strings.ToLower(strings.TrimSpace(k))
				if p, ok := lookup(kv, key); ok {
					if !written[key] {
						out = append(out, line(p))
						written[key] = true
					}
					continue
				}
			}
		}
		out = append(out, l)
	}
	if inSection {
		flush()
	}
	if !found {
		if len(out) > 0 && strings.TrimSpace(out[len(out)-1]) != "" {
			out = append(out, "")
		}
		out = append(out, "["+profile+"]")
		flush()
	}
	var b bytes.Buffer
	for _, l := range out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func sectionName(l string) (string, bool) {
	t := strings.TrimSpace(l)
	if len(t) < 2 || t[0] != '[' {
		return "", false
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", false
	}
	return strings.TrimSpace(t[1:end]), true
}

func isComment(l string) bool {
	t := strings.TrimSpace(l)
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";")
}

func lookup(kv [][2]string, key string) ([2]string, bool) {
	for _, p := range kv {
		if p[0] == key {
			return p, true
		}
	}
	return [2]string{}, false
}
