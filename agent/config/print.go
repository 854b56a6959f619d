package config

import (
	"bufio"
	"io"
	"log/slog"
	"strings"
)

// Redacted is a copy of c with its secrets hidden: the password of a
// proxy URL. Nothing else in the configuration is secret. It is for
// display; a redacted proxy does not authenticate.
func (c Config) Redacted() Config {
	for _, s := range settings() {
		if s.hide != nil {
			s.hide(&c)
		}
	}
	return c
}

// Print writes the effective configuration, redacted, one variable a line
// as NAME=value followed by where the value came from:
//
//	ECS_CLUSTER=prod                  # /etc/ecs/ecs.config:3
//	ECS_LOGLEVEL=debug                # env
//
// Every variable is printed, in the order of Variables. Without the
// comments the lines are an ecs.config that Load reads back to the same
// Config (secrets aside).
func (c Config) Print(w io.Writer, prov Provenance) error {
	r := c.Redacted()
	var lines []string
	width := 0
	for _, s := range settings() {
		kv := s.name + "=" + s.format(r)
		lines = append(lines, kv)
		width = max(width, min(len(kv), 48))
	}
	bw := bufio.NewWriter(w)
	for i, s := range settings() {
		kv := lines[i]
		bw.WriteString(kv)
		bw.WriteString(strings.Repeat(" ", max(width-len(kv), 0)+2))
		bw.WriteString("# ")
		bw.WriteString(prov.Of(s.name).String())
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// String is the configuration redacted, as NAME=value pairs on one line,
// so that printing a Config with %v shows no secret.
func (c Config) String() string {
	r := c.Redacted()
	var b strings.Builder
	for i, s := range settings() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.name + "=" + displayValue(s.format(r)))
	}
	return b.String()
}

// LogValue logs the configuration redacted, as NAME=value attributes.
func (c Config) LogValue() slog.Value {
	r := c.Redacted()
	var attrs []slog.Attr
	for _, s := range settings() {
		attrs = append(attrs, slog.String(s.name, s.format(r)))
	}
	return slog.GroupValue(attrs...)
}
