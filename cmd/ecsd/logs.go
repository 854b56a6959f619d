package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/ecsd-project/ecsd/agent/config"
	"github.com/ecsd-project/ecsd/runtime/logs"
)

// logsMain runs `ecsd logs [--data-dir DIR] [--follow] TASK CONTAINER`: it
// prints a container's json-file log, stdout lines to stdout and stderr
// lines to stderr, as `docker logs` does. TASK is a task id or ARN. The
// log is DATA_DIR/logs/TASK_ID/CONTAINER/CONTAINER.log (and its rotated
// files); DATA_DIR is --data-dir, else ECS_DATADIR from the configuration.
// With --follow it waits for more lines until interrupted.
func logsMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("ecsd logs", flag.ContinueOnError)
	fset.SetOutput(stderr)
	dataDir := fset.String("data-dir", "", "ecsd's data directory (default: ECS_DATADIR from the configuration)")
	follow := fset.Bool("follow", false, "keep printing lines as they are written")
	fset.BoolVar(follow, "f", false, "short for --follow")
	fset.Usage = func() { logsUsage(fset.Output(), fset) }

	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			logsUsage(stdout, fset)
			return exitOK
		}
	}
	// Flags may come before, between or after TASK and CONTAINER.
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return exitUsage
		}
		if fset.NArg() == 0 {
			break
		}
		pos = append(pos, fset.Arg(0))
		args = fset.Args()[1:]
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "ecsd logs: want TASK and CONTAINER, got %d argument(s)\n", len(pos))
		logsUsage(stderr, fset)
		return exitUsage
	}
	taskID, container := logs.TaskID(pos[0]), pos[1]
	if taskID == "" || container == "" || container == "." || container == ".." || strings.ContainsAny(container, "/\x00") {
		fmt.Fprintf(stderr, "ecsd logs: bad task %q or container %q\n", pos[0], container)
		return exitUsage
	}

	if *dataDir == "" {
		cfg, _, err := config.Load(config.Sources{Env: os.Environ()})
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			// Other problems do not matter here; a bad data dir does.
			for _, p := range verr.Problems {
				if p.Variable == "ECS_DATADIR" {
					fmt.Fprintf(stderr, "ecsd logs: %s\n", p)
					return exitConfig
				}
			}
		} else if err != nil {
			fmt.Fprintf(stderr, "ecsd logs: %v\n", err)
			return exitConfig
		}
		*dataDir = cfg.DataDir
	}

	path := logs.JSONFilePath(logs.ContainerDir(*dataDir, taskID, container), container)
	err := logs.ReadJSONFile(ctx, path, *follow, stdout, stderr)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "ecsd logs: no json-file log for container %s of task %s at %s (is its log driver json-file?)\n", container, taskID, path)
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecsd logs: %v\n", err)
		return exitError
	}
	return exitOK
}

func logsUsage(w io.Writer, fset *flag.FlagSet) {
	fmt.Fprintln(w, `usage: ecsd logs [--data-dir DIR] [--follow] TASK CONTAINER

Prints a container's json-file log: stdout lines to stdout, stderr lines to
stderr. TASK is the task id or its ARN.

flags:`)
	fset.SetOutput(w)
	fset.PrintDefaults()
}
