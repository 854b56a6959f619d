package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// checkCluster: ECS cluster names are 1 to 255 letters, digits, '-' and
// '_'; ECS_CLUSTER may also be the cluster's ARN.
func checkCluster(v string) error {
	if strings.HasPrefix(v, "arn:") {
		// arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME
		parts := strings.SplitN(v, ":", 6)
		if len(parts) == 6 && parts[1] != "" && parts[2] == "ecs" && parts[3] != "" && isDigits(parts[4]) {
			if name, ok := strings.CutPrefix(parts[5], "cluster/"); ok && validClusterName(name) {
				return nil
			}
		}
		return fmt.Errorf("want a cluster ARN such as arn:aws:ecs:us-east-1:123456789012:cluster/NAME")
	}
	if !validClusterName(v) {
		return fmt.Errorf("want a cluster name of 1 to 255 letters, digits, '-' or '_', or a cluster ARN")
	}
	return nil
}

func validClusterName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !isASCIIAlnum(r) && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// checkRegion accepts the shape of every AWS region name, PARTS-DIGITS
// with lower-case letters in at least two parts (us-east-1, us-gov-west-1,
// cn-north-1, eu-isoe-west-1), and rejects typos such as "US East" or a
// quoted value.
func checkRegion(v string) error {
	parts := strings.Split(v, "-")
	ok := len(parts) >= 3 && len(v) <= 64 && isDigits(parts[len(parts)-1])
	for _, p := range parts[:len(parts)-1] {
		if p == "" || strings.ContainsFunc(p, func(r rune) bool { return r < 'a' || r > 'z' }) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("want an AWS region such as us-east-1")
	}
	return nil
}

// checkBackendHost accepts what the stock agent hands the SDK: a host,
// host:port or URL; a value without a scheme gets https://.
func checkBackendHost(v string) error {
	raw := v
	if !strings.Contains(v, "://") {
		raw = "https://" + v
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("want a host, host:port or http(s) URL such as https://ecs.us-east-1.amazonaws.com")
	}
	return checkPort(u.Port(), true)
}

// checkEndpointURL: an ACS or TCS endpoint, a URL with a host.
func checkEndpointURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.User != nil || !slices.Contains([]string{"ws", "wss", "http", "https"}, u.Scheme) {
		return fmt.Errorf("want a ws, wss, http or https URL with a host, such as wss://acs.example.internal")
	}
	return checkPort(u.Port(), true)
}

func checkPort(p string, emptyOK bool) error {
	if p == "" && emptyOK {
		return nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q: want 0 to 65535", p)
	}
	return nil
}

func checkAbsPath(v string) error {
	if !filepath.IsAbs(v) {
		return fmt.Errorf("want an absolute path")
	}
	return nil
}

// checkListen: HOST:PORT for net.Listen; the host may be empty (all
// addresses) and the port 0 (any free port, for tests).
func checkListen(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want HOST:PORT such as 127.0.0.1:51678")
	}
	if err := checkPort(port, false); err != nil {
		return fmt.Errorf("want HOST:PORT with a port from 0 to 65535")
	}
	return nil
}

// checkChain: an iptables chain name of ours.
func checkChain(v string) error {
	if len(v) > 28 || strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return fmt.Errorf("want 1 to 28 letters, digits, '-' or '_'")
	}
	return nil
}

// checkNamespace is containerd's namespace rule: alphanumeric parts joined
// by single '.', '_' or '-', at most 76 characters.
func checkNamespace(v string) error {
	ok := len(v) <= 76
	prevSep := true // no separator first
	for _, r := range v {
		switch {
		case isASCIIAlnum(r):
			prevSep = false
		case (r == '.' || r == '_' || r == '-') && !prevSep:
			prevSep = true
		default:
			ok = false
		}
	}
	if !ok || prevSep {
		return fmt.Errorf("want letters and digits in parts joined by '.', '_' or '-', at most 76 characters")
	}
	return nil
}

// checkBridge: a Linux interface name that is also a safe file name (the
// rule runtime/network applies).
func checkBridge(v string) error {
	ok := len(v) >= 1 && len(v) <= 15
	for i, r := range v {
		if !isASCIIAlnum(r) && (i == 0 || (r != '_' && r != '.' && r != '-')) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("want 1 to 15 letters, digits, '_', '.' or '-', starting with a letter or digit")
	}
	return nil
}

func checkSubnet(v string) error {
	p, err := netip.ParsePrefix(v)
	switch {
	case err != nil || !p.Addr().Is4() || p.Bits() > 30:
		return fmt.Errorf("want an IPv4 CIDR of /30 or wider, such as 10.199.0.0/20")
	case p.Masked() != p:
		return fmt.Errorf("host bits set; want %s", p.Masked())
	}
	return nil
}

// checkProfile: a profile name that can sit in "[profile]" in a shared
// credentials file.
func checkProfile(v string) error {
	if strings.ContainsFunc(v, func(r rune) bool { return isSpaceOrControl(r) || r == '[' || r == ']' }) {
		return fmt.Errorf("want a profile name without spaces or brackets")
	}
	return nil
}

func parsePortRange(v string) (PortRange, error) {
	want := fmt.Errorf("want FIRST-LAST with 1 <= FIRST <= LAST <= 65535, such as 32768-61000")
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return PortRange{}, want
	}
	first, err1 := strconv.Atoi(strings.TrimSpace(a))
	last, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || first < 1 || last > 65535 || first > last {
		return PortRange{}, want
	}
	return PortRange{First: first, Last: last}, nil
}

// checkAttributes applies ECS's rules for custom attributes
// (RegisterContainerInstance attributes): names of 1 to 128 letters,
// digits, '-', '_', '/', '\' or '.'; values of 1 to 128 of those or '@',
// ':' or ' ', not starting or ending with a space.
func checkAttributes(m map[string]string) error {
	var errs []error
	for _, k := range sortedKeys(m) {
		v := m[k]
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 || strings.ContainsFunc(k, func(r rune) bool { return !attrNameRune(r) }) {
			errs = append(errs, fmt.Errorf("attribute name %q: want 1 to 128 letters, digits, '-', '_', '/', '\\' or '.'", k))
		}
		if n := utf8.RuneCountInString(v); n < 1 || n > 128 || v[0] == ' ' || v[len(v)-1] == ' ' ||
			strings.ContainsFunc(v, func(r rune) bool { return !attrNameRune(r) && r != '@' && r != ':' && r != ' ' }) {
			errs = append(errs, fmt.Errorf("attribute %q value %q: want 1 to 128 letters, digits, spaces (not at either end) or - _ / \\ . @ :", k, v))
		}
	}
	return joinErrors(errs)
}

func attrNameRune(r rune) bool {
	return isASCIIAlnum(r) || strings.ContainsRune(`-_/\.`, r)
}

// checkTags applies AWS's tag rules: at most 50 tags; keys of 1 to 128 and
// values of at most 256 Unicode letters, digits, spaces or + - = . _ : / @;
// the aws: prefix is reserved.
func checkTags(m map[string]string) error {
	var errs []error
	if len(m) > 50 {
		errs = append(errs, fmt.Errorf("%d tags; want at most 50", len(m)))
	}
	for _, k := range sortedKeys(m) {
		v := m[k]
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 || !tagText(k) {
			errs = append(errs, fmt.Errorf("tag key %q: want 1 to 128 letters, digits, spaces or + - = . _ : / @", k))
		} else if strings.HasPrefix(strings.ToLower(k), "aws:") {
			errs = append(errs, fmt.Errorf("tag key %q: the aws: prefix is reserved", k))
		}
		if utf8.RuneCountInString(v) > 256 || !tagText(v) {
			errs = append(errs, fmt.Errorf("tag %q value %q: want at most 256 letters, digits, spaces or + - = . _ : / @", k, v))
		}
	}
	return joinErrors(errs)
}

func tagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsSpace(r) && !strings.ContainsRune("+-=._:/@", r) {
			return false
		}
	}
	return utf8.ValidString(s)
}

// joinErrors is errors.Join with "; " between, for a one-line message.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "; "))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

func isDigits(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
}

func isSpaceOrControl(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }
