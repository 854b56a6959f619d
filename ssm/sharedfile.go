package ssm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
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

// credentialKeys are the keys ecsd (and the SSM agent) write under the
// shared profile; RemoveSharedCredentials removes only these.
var credentialKeys = []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}

// RemoveSharedCredentials takes back the credentials this managed instance
// shared: the credential keys of profile (DefaultProfile if empty) in file,
// and those of the file and profile the state root's identity_config.json
// records (where the SSM agent, or ecsd, last shared them); then it removes
// identity_config.json. Other profiles, and other keys of the profile (a
// region, say), stay; a profile left with nothing in it is removed, and a
// file left with nothing in it is deleted. file may be empty to remove only
// what identity_config.json records. It returns "[profile] in file" for
// each profile it removed credentials from.
func RemoveSharedCredentials(stateRoot, file, profile string) ([]string, error) {
	v, err := newVault(stateRoot)
	if err != nil {
		return nil, err
	}
	type share struct{ file, profile string }
	var shares []share
	if file != "" {
		if profile == "" {
			profile = DefaultProfile
		}
		shares = append(shares, share{file, profile})
	}
	icPath := v.path(identityConfigPath)
	b, err := os.ReadFile(icPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", icPath, err)
	default:
		var ic identityConfig
		if err := json.Unmarshal(b, &ic); err != nil {
			return nil, fmt.Errorf("%s: %w: remove it", icPath, err)
		}
		if ic.ShareFile != "" {
			p := ic.ShareProfile
			if p == "" {
				p = DefaultProfile
			}
			if s := (share{ic.ShareFile, p}); len(shares) == 0 || shares[0] != s {
				shares = append(shares, s)
			}
		}
	}
	var removed []string
	for _, s := range shares {
		ok, err := removeSharedProfile(s.file, s.profile)
		if err != nil {
			return removed, err
		}
		if ok {
			removed = append(removed, "["+s.profile+"] in "+s.file)
		}
	}
	if err := os.Remove(icPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return removed, fmt.Errorf("remove %s: %w", icPath, err)
	}
	return removed, nil
}

// removeSharedProfile removes the credential keys of profile from the
// shared credentials file at path, atomically; see RemoveSharedCredentials.
// It says whether there were any.
func removeSharedProfile(path, profile string) (bool, error) {
	old, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	data, changed := unsetProfile(old, profile, credentialKeys)
	if !changed {
		return false, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if err := os.Remove(path); err != nil {
			return false, fmt.Errorf("remove %s: %w", path, err)
		}
		return true, nil
	}
	if err := writeFileAtomic(path, data); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// unsetProfile returns the INI text ini without keys in section [profile],
// and whether any was there. A section left with only blank lines goes
// too, header and all; everything else stays as it was.
func unsetProfile(ini []byte, profile string, keys []string) ([]byte, bool) {
	text := strings.ReplaceAll(string(ini), "\r\n", "\n")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	var out []string
	changed := false
	section := -1 // index in out of the header of a [profile] being read
	closeSection := func() {
		if section < 0 {
			return
		}
		for _, l := range out[section+1:] {
			if strings.TrimSpace(l) != "" {
				section = -1
				return
			}
		}
		out = out[:section]
		section = -1
	}
	for _, l := range lines {
		if name, ok := sectionName(l); ok {
			closeSection()
			if name == profile {
				section = len(out)
			}
			out = append(out, l)
			continue
		}
		if section >= 0 && !isComment(l) {
			if k, _, ok := strings.Cut(l, "="); ok && slices.Contains(keys, strings.ToLower(strings.TrimSpace(k))) {
				changed = true
				continue
			}
		}
		out = append(out, l)
	}
	closeSection()
	// No blank lines left at the end where a section went.
	for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
		out = out[:len(out)-1]
	}
	var b bytes.Buffer
	for _, l := range out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes(), changed
}
