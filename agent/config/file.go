package config

import (
	"fmt"
	"strings"
)

// assignment is one NAME=value read from a file.
type assignment struct {
	name, value string
	line        int
}

// parseFile reads an ecs.config file as ecs-init does: one NAME=VALUE per
// line, split at the first '=', surrounding whitespace (and so a CR before
// the LF) trimmed; later lines win. Two additions, both compatible with
// files ecs-init reads: one pair of matching quotes around a whole value
// is removed (as systemd's EnvironmentFile does, so the value
// ECS_CLUSTER="prod" means prod, not "prod"), and a leading UTF-8 byte
// order mark is skipped. There are no escapes, no line continuations and
// no comments after a value: '#' inside a value is part of it.
//
// Blank lines and lines starting with '#' are skipped. A line without '='
// or with an invalid name is skipped with a warning, as ecs-init skips it
// silently.
func parseFile(path string, data []byte) ([]assignment, []Problem) {
	var out []assignment
	var warns []Problem
	text := strings.TrimPrefix(string(data), "\uFEFF")
	n := 0
	for line := range strings.SplitSeq(text, "\n") {
		n++
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		at := Origin{Kind: FromFile, File: path, Line: n}
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || !validName(name) {
			msg := "not NAME=VALUE; line ignored"
			if ok {
				msg = fmt.Sprintf("%s is not a variable name; line ignored", displayValue(name))
			}
			warns = append(warns, Problem{Origin: at, Msg: msg})
			continue
		}
		out = append(out, assignment{name: name, value: unquote(strings.TrimSpace(value)), line: n})
	}
	return out, warns
}

// unquote removes one pair of matching quotes around v.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// validName: letters, digits and '_', not starting with a digit, as a
// shell variable.
func validName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, r := range s {
		if !isASCIIAlnum(r) && r != '_' {
			return false
		}
	}
	return true
}
