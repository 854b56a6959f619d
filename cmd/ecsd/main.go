package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecsd-project/ecsd/internal/version"
)

// Exit codes. exitConfig tells systemd (RestartPreventExitStatus=5) not to
// restart ecsd in a loop on a problem only a person can fix.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitConfig = 5
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "ecsd %s (%s)\n", version.Version, version.Commit)
		return exitOK
	case "help", "--help", "-h":
		usage(stdout)
		return exitOK
	case "register":
		return registerMain(ctx, args[1:], stdout, stderr)
	case "deregister":
		return deregisterMain(ctx, args[1:], stdout, stderr)
	case "run":
		return runMain(ctx, args[1:], stdout, stderr)
	case "logs":
		return logsMain(ctx, args[1:], stdout, stderr)
	case "config":
		return configMain(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "ecsd: unknown command %q\n", args[0])
		usage(stderr)
		return exitUsage
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: ecsd COMMAND [flags]

commands:
  run         run the agent (what the systemd unit starts)
  logs [--follow] TASK CONTAINER
              print a container's json-file log
  version     print the version
  register    register this host with an SSM hybrid activation
  deregister [--keep-tasks] [--force]
              deregister this host from ECS and SSM and remove its identity
  config check
              print the effective configuration and where each value came from`)
}
