package config

import (
	"strings"
	"testing"
)

// FuzzParseConfigFile: parseFile never panics; what it returns is well
// formed and survives being written out and read again; and every value,
// given to every variable's parser, either fails or prints back to a value
// that parses to the same thing. Seeds: testdata/fuzz/FuzzParseConfigFile.
func FuzzParseConfigFile(f *testing.F) {
	f.Add([]byte("ECS_CLUSTER=prod\nAWS_DEFAULT_REGION=us-east-1\n"))
	table := settings()
	f.Fuzz(func(t *testing.T, data []byte) {
		assigns, warns := parseFile("f", data)
		lines := strings.Count(strings.TrimPrefix(string(data), "\uFEFF"), "\n") + 1
		last := 0
		for _, a := range assigns {
			if !validName(a.name) || strings.Contains(a.value, "\n") || a.line <= last || a.line > lines {
				t.Fatalf("bad assignment %+v (previous line %d, %d lines)", a, last, lines)
			}
			last = a.line
		}
		for _, w := range warns {
			if w.Origin.Line < 1 || w.Origin.Line > lines || w.Variable != "" {
				t.Fatalf("bad warning %+v", w)
			}
		}
		if len(assigns)+len(warns) > lines {
			t.Fatalf("%d assignments and %d warnings from %d lines", len(assigns), len(warns), lines)
		}

		// Written out quoted, one a line, they read back the same.
		var b strings.Builder
		for _, a := range assigns {
			b.WriteString(a.name + "='" + a.value + "'\n")
		}
		again, warns2 := parseFile("f", []byte(b.String()))
		if len(again) != len(assigns) || len(warns2) != 0 {
			t.Fatalf("rewritten %q: %d assignments and warnings %v, want %d and none", b.String(), len(again), warns2, len(assigns))
		}
		for i := range again {
			if again[i].name != assigns[i].name || again[i].value != assigns[i].value {
				t.Fatalf("rewritten %q reads %+v, want %+v", b.String(), again[i], assigns[i])
			}
		}

		for _, a := range assigns {
			v := strings.TrimSpace(a.value)
			if v == "" {
				continue
			}
			for _, s := range table {
				var c Config
				if s.parse(&c, v) != nil {
					continue
				}
				printed := s.format(c)
				var c2 Config
				if err := s.parse(&c2, printed); err != nil {
					t.Fatalf("%s=%q parses, prints as %q, which does not: %v", s.name, v, printed, err)
				}
				if again := s.format(c2); again != printed {
					t.Fatalf("%s=%q prints as %q, then %q", s.name, v, printed, again)
				}
			}
		}
	})
}
