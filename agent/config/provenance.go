package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrInvalid is the kind of every error Load returns:
// errors.Is(err, ErrInvalid) means a person must fix the configuration.
var ErrInvalid = errors.New("invalid configuration")

// OriginKind is the layer a value came from.
type OriginKind int

// Layers, lowest first.
const (
	FromDefault OriginKind = iota
	FromFile
	FromEnv
	FromFlag
)

// Origin says where a value came from.
type Origin struct {
	Kind OriginKind
	File string // FromFile: the file's path
	Line int    // FromFile: 1-based line; 0 for the file as a whole
	// Name is the variable or flag that set it, where that is not the
	// variable's printed name: "AWS_REGION", "https_proxy", "--cluster".
	Name string
	// Empty: the value was set empty there, which means the default.
	Empty bool
}

// String renders the origin as Print shows it: "default",
// "/etc/ecs/ecs.config:3", "env", "flag --cluster"; an alias or an empty
// value is added in parentheses.
func (o Origin) String() string {
	var s string
	switch o.Kind {
	case FromDefault:
		return "default"
	case FromFile:
		s = o.File
		if o.Line > 0 {
			s += ":" + strconv.Itoa(o.Line)
		}
	case FromEnv:
		s = "env"
	case FromFlag:
		s = "flag"
	}
	if o.Name != "" {
		if o.Kind == FromFlag {
			s += " " + o.Name
		} else {
			s += " (" + o.Name + ")"
		}
	}
	if o.Empty {
		s += " (empty: default)"
	}
	return s
}

// Provenance is where each variable's effective value came from, and the
// warnings Load had: values it ignored, lines it could not read, variables
// ecsd does not use. Warnings do not stop ecsd; log them.
type Provenance struct {
	Origins  map[string]Origin // by variable name as printed (Variable.Name)
	Files    []string          // the ecs.config files read, in order; missing ones are not listed
	Warnings []Problem
}

// Of is the origin of a variable's value; the zero Origin (default) for a
// name Load does not know.
func (p Provenance) Of(name string) Origin { return p.Origins[name] }

// Problem is one thing wrong with the configuration, or one warning.
type Problem struct {
	Variable string // "" for a problem with a file or the flags as a whole
	Value    string // as given, redacted where the variable is secret
	Origin   Origin
	Msg      string // what is wrong, and what is allowed
	Err      error  // the underlying error, if any (a file that cannot be read)
}

// String renders the problem as "where: VARIABLE=value: what is wrong";
// where is left out for a variable that was not set at all, and =value
// when there is no value to show.
func (p Problem) String() string {
	var b strings.Builder
	if p.Origin.Kind != FromDefault {
		b.WriteString(p.Origin.String())
		b.WriteString(": ")
	}
	if p.Variable != "" {
		b.WriteString(p.Variable)
		if p.Value != "" || p.Origin.Empty {
			b.WriteString("=")
			b.WriteString(displayValue(p.Value))
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// displayValue shows a value in a message: as is when that is unambiguous,
// quoted when empty or holding spaces or control characters, cut short
// when long.
func displayValue(v string) string {
	const max = 200
	if len(v) > max {
		cut := max
		for cut > 0 && !isRuneStart(v[cut]) {
			cut--
		}
		v = v[:cut] + "…"
	}
	if v == "" || strings.ContainsFunc(v, isSpaceOrControl) {
		return strconv.Quote(v)
	}
	return v
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// ValidationError lists every problem Load found.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].String()
	}
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return fmt.Sprintf("invalid configuration (%d problems): %s", len(e.Problems), strings.Join(msgs, "; "))
}

// Unwrap makes errors.Is(err, ErrInvalid) true, and errors.Is find the
// underlying errors (fs.ErrPermission for a file that cannot be read).
func (e *ValidationError) Unwrap() []error {
	errs := []error{ErrInvalid}
	for _, p := range e.Problems {
		if p.Err != nil {
			errs = append(errs, p.Err)
		}
	}
	return errs
}
