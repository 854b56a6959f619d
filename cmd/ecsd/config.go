package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ecsd-project/ecsd/agent/config"
)

// configMain runs `ecsd config check [flags]`: it loads the configuration
// as ecsd does at start, prints every variable's effective value (redacted)
// and where it came from, and exits 0 if the configuration is valid, or
// exitConfig listing every problem if it is not.
func configMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		configUsage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "check":
	case "help", "-h", "-help", "--help":
		configUsage(stdout)
		return exitOK
	default:
		fmt.Fprintf(stderr, "ecsd config: unknown command %q\n", args[0])
		configUsage(stderr)
		return exitUsage
	}
	for _, a := range args[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			configUsage(stdout)
			return exitOK
		}
	}

	cfg, prov, err := config.Load(config.Sources{Env: os.Environ(), Args: args[1:]})
	for _, w := range prov.Warnings {
		fmt.Fprintf(stderr, "ecsd config: warning: %s\n", w)
	}
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			for _, p := range verr.Problems {
				fmt.Fprintf(stderr, "ecsd config: %s\n", p)
			}
			fmt.Fprintf(stderr, "ecsd config: %d problem(s); ecsd will not start until they are fixed\n", len(verr.Problems))
		} else {
			fmt.Fprintf(stderr, "ecsd config: %v\n", err)
		}
		return exitConfig
	}
	if len(prov.Files) == 0 {
		fmt.Fprintf(stdout, "# read no ecs.config file (looked for %s)\n", strings.Join(config.DefaultFiles(), ", "))
	} else {
		fmt.Fprintf(stdout, "# read %s\n", strings.Join(prov.Files, ", "))
	}
	if err := cfg.Print(stdout, prov); err != nil {
		fmt.Fprintf(stderr, "ecsd config: %v\n", err)
		return exitError
	}
	return exitOK
}

func configUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: ecsd config check [--config FILE]... [flags]

Prints the effective configuration, secrets redacted, and where each value
came from. Later sources win: defaults, /var/lib/ecs/ecs.config,
/etc/ecs/ecs.config, --config files, the environment, flags. Exits 0 if the
configuration is valid, 5 listing every problem if not.

flags:
  --config FILE      also read this ecs.config file (repeatable; must exist)`)
	for _, v := range config.Variables() {
		if v.Flag != "" {
			fmt.Fprintf(w, "  %-18s %s (%s)\n", v.Flag+" VALUE", v.Doc, v.Name)
		}
	}
}
