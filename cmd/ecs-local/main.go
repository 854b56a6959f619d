package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ecsd-project/ecsd/controlplane"
	"github.com/ecsd-project/ecsd/internal/version"
)

// Exit codes.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitConfig = 5
)

// shutdownTimeout bounds the graceful shutdown after SIGTERM.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type flags struct {
	listen    string
	dataDir   string
	region    string
	accountID string
	logLevel  slog.Level
	version   bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("ecs-local", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "`address` to serve the API on")
	fs.StringVar(&f.dataDir, "data-dir", "", "`directory` for the state and the admin credentials (required)")
	fs.StringVar(&f.region, "region", "us-east-1", "`region` in ARNs")
	fs.StringVar(&f.accountID, "account-id", "000000000000", "12-digit account `id` in ARNs")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "log `level`: debug, info, warn or error")
	fs.BoolVar(&f.version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if f.dataDir == "" && !f.version {
		return f, errors.New("--data-dir is required")
	}
	return f, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ecs-local: %v\n", err)
		return exitUsage
	}
	if f.version {
		fmt.Fprintf(stdout, "ecs-local %s (%s)\n", version.Version, version.Commit)
		return exitOK
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: f.logLevel}))

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		log.Error("listen", "address", f.listen, "error", err)
		return exitError
	}
	endpoint := "http://" + ln.Addr().String()
	cp, err := controlplane.NewLocal(controlplane.Config{
		DataDir:   f.dataDir,
		Region:    f.region,
		AccountID: f.accountID,
		Log:       log.With("component", "controlplane"),
		Endpoint:  endpoint,
	})
	if err != nil {
		ln.Close()
		log.Error("start control plane", "error", err)
		return exitConfig
	}
	defer cp.Close()

	srv := &http.Server{Handler: cp, ReadHeaderTimeout: 10 * time.Second}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := cp.Run(runCtx); err != nil {
			log.Error("reconcile loop", "error", err)
		}
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("ecs-local listening", "endpoint", endpoint, "version", version.Version,
		"try", controlplane.UsageHint(f.dataDir, endpoint))

	code := exitOK
	select {
	case err := <-served:
		log.Error("serve", "error", err)
		code = exitError
	case <-ctx.Done():
		log.Info("shutting down")
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("shutdown", "error", err)
		}
		scancel()
		<-served
	}
	cancel()
	wg.Wait()
	return code
}
