package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"
)

// Sources are what Load reads.
type Sources struct {
	// Files are ecs.config files, lowest precedence first; nil means
	// DefaultFiles(), an empty slice none. A missing file is skipped.
	Files []string
	// Env is the environment as os.Environ() gives it; where a name appears
	// twice the first wins, as with os.Getenv.
	Env []string
	// Args are command-line flags: --cluster, --data-dir, --log-level, and
	// --config FILE (repeatable) to read FILE after Files; it must exist.
	Args []string
}

// value is one layer's value for one name.
type value struct {
	v      string
	origin Origin
}

// layer maps names to values.
type layer map[string]value

// Load builds the configuration from defaults, files, environment and
// flags, in that order of precedence (see the package doc), and validates
// every value. The error, if any, is a *ValidationError listing every
// problem; then the Config holds defaults in place of the bad values and
// must not be used to run. Provenance is complete either way.
func Load(src Sources) (Config, Provenance, error) {
	var problems, warnings []Problem
	prov := Provenance{Origins: map[string]Origin{}}
	table := settings()

	flagLayer, extraFiles, flagProblems := parseFlags(table, src.Args)
	problems = append(problems, flagProblems...)

	files := src.Files
	if files == nil {
		files = DefaultFiles()
	}
	var layers []layer
	for i, path := range append(append([]string(nil), files...), extraFiles...) {
		mustExist := i >= len(files)
		data, err := os.ReadFile(path)
		if err != nil {
			if !mustExist && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			problems = append(problems, Problem{
				Origin: Origin{Kind: FromFile, File: path},
				Msg:    "cannot read: " + describeFSError(err), Err: err,
			})
			continue
		}
		prov.Files = append(prov.Files, path)
		assigns, warns := parseFile(path, data)
		l := layer{}
		for _, a := range assigns {
			l[a.name] = value{a.value, Origin{Kind: FromFile, File: path, Line: a.line}}
		}
		layers = append(layers, l)
		warns = append(warns, unknownVariables(table, l)...)
		slices.SortStableFunc(warns, func(a, b Problem) int { return a.Origin.Line - b.Origin.Line })
		warnings = append(warnings, warns...)
	}

	env := layer{}
	for _, kv := range src.Env {
		name, v, ok := strings.Cut(kv, "=")
		if _, seen := env[name]; ok && !seen {
			env[name] = value{v, Origin{Kind: FromEnv}}
		}
	}
	layers = append(layers, env, flagLayer)
	warnings = append(warnings, unknownVariables(table, env)...)

	var c Config
	for _, s := range table {
		raw, origin := resolve(s, layers)
		v := strings.TrimSpace(raw)
		if v == "" {
			origin.Empty = origin.Kind != FromDefault
			v = s.def
		}
		if v != "" {
			err := s.parse(&c, v)
			var fb *fallback
			switch {
			case errors.As(err, &fb):
				warnings = append(warnings, Problem{Variable: s.name, Value: redacted(s, raw), Origin: origin, Msg: fb.msg})
				origin = Origin{}
				_ = s.parse(&c, s.def)
			case err != nil:
				problems = append(problems, Problem{Variable: s.name, Value: redacted(s, raw), Origin: origin, Msg: err.Error()})
				if s.def != "" {
					_ = s.parse(&c, s.def)
				}
			}
		}
		prov.Origins[s.name] = origin
	}
	problems = append(problems, crossChecks(c, prov, problems)...)

	prov.Warnings = warnings
	if len(problems) > 0 {
		return c, prov, &ValidationError{Problems: problems}
	}
	return c, prov, nil
}

// resolve finds a setting's value in the highest layer that has one of its
// names; within a layer the first name wins.
func resolve(s setting, layers []layer) (string, Origin) {
	for i := len(layers) - 1; i >= 0; i-- {
		for _, n := range s.names() {
			if val, ok := layers[i][n]; ok {
				o := val.origin
				if n != s.name && o.Kind != FromFlag {
					o.Name = n
				}
				return val.v, o
			}
		}
	}
	return "", Origin{}
}

// crossChecks are the rules between variables, or on a variable's
// presence. Variables that already have a problem are not checked again.
func crossChecks(c Config, prov Provenance, already []Problem) []Problem {
	bad := map[string]bool{}
	for _, p := range already {
		bad[p.Variable] = true
	}
	var problems []Problem
	if c.Region == "" && !bad["AWS_DEFAULT_REGION"] {
		problems = append(problems, Problem{
			Variable: "AWS_DEFAULT_REGION", Origin: prov.Of("AWS_DEFAULT_REGION"),
			Msg: "required: ecsd does not look the region up in instance metadata; set AWS_DEFAULT_REGION (such as us-east-1) in /var/lib/ecs/ecs.config or /etc/ecs/ecs.config",
		})
	}
	if c.CredentialsListen == c.IntrospectionListen && !strings.HasSuffix(c.CredentialsListen, ":0") &&
		!bad["ECSD_CREDENTIALS_LISTEN"] && !bad["ECSD_INTROSPECTION_LISTEN"] {
		problems = append(problems, Problem{
			Variable: "ECSD_INTROSPECTION_LISTEN", Value: c.IntrospectionListen, Origin: prov.Of("ECSD_INTROSPECTION_LISTEN"),
			Msg: "the same address as ECSD_CREDENTIALS_LISTEN; want another",
		})
	}
	if c.TaskEndpointRedirect && !bad["ECSD_CREDENTIALS_LISTEN"] && !bad["ECSD_TASK_ENDPOINT_REDIRECT"] {
		host, _, _ := net.SplitHostPort(c.CredentialsListen)
		if ip := net.ParseIP(host); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			problems = append(problems, Problem{
				Variable: "ECSD_CREDENTIALS_LISTEN", Value: c.CredentialsListen, Origin: prov.Of("ECSD_CREDENTIALS_LISTEN"),
				Msg: "the task endpoint redirect (ECSD_TASK_ENDPOINT_REDIRECT=true) needs a loopback IPv4 address such as 127.0.0.1:51679",
			})
		}
	}
	return problems
}

// unknownVariables warns about ECS_ and ECSD_ names ecsd does not read:
// typos, and stock agent variables whose feature ecsd lacks or always has.
// Their values are not shown; they may be secrets (ECS_ENGINE_AUTH_DATA).
func unknownVariables(table []setting, l layer) []Problem {
	known := map[string]bool{}
	for _, s := range table {
		for _, n := range s.names() {
			known[n] = true
		}
	}
	var warns []Problem
	for _, name := range sortedLayerNames(l) {
		if (strings.HasPrefix(name, "ECS_") || strings.HasPrefix(name, "ECSD_")) && !known[name] {
			warns = append(warns, Problem{Variable: name, Origin: l[name].origin, Msg: "not used by ecsd; ignored"})
		}
	}
	return warns
}

// sortedLayerNames orders a layer's names by line, then name.
func sortedLayerNames(l layer) []string {
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := l[a].origin.Line - l[b].origin.Line; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return names
}

// parseFlags reads the flags into a layer keyed by variable name, and the
// --config files.
func parseFlags(table []setting, args []string) (layer, []string, []Problem) {
	l := layer{}
	var files []string
	var problems []Problem
	fs := flag.NewFlagSet("ecsd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, s := range table {
		if s.flag == "" {
			continue
		}
		fs.Func(s.flag, s.doc+" ("+s.name+")", func(v string) error {
			l[s.name] = value{v, Origin{Kind: FromFlag, Name: "--" + s.flag}}
			return nil
		})
	}
	fs.Func("config", "also read this ecs.config file (repeatable)", func(v string) error {
		files = append(files, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		problems = append(problems, Problem{Origin: Origin{Kind: FromFlag}, Msg: err.Error()})
	} else if fs.NArg() > 0 {
		problems = append(problems, Problem{Origin: Origin{Kind: FromFlag}, Msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0))})
	}
	return l, files, problems
}

// describeFSError drops the "open PATH: " the Problem already shows.
func describeFSError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func redacted(s setting, v string) string {
	if s.redact != nil {
		return s.redact(v)
	}
	return v
}
