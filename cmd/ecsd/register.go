package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/ecsd-project/ecsd/internal/version"
	"github.com/ecsd-project/ecsd/ssm"
)

// registerMain runs `ecsd register`: it registers this host as an SSM
// managed instance with a hybrid activation and stores the identity where
// ecsd (and a stock SSM agent) will find it.
func registerMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ecsd register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	region := fs.String("region", "", "AWS region of the activation (required)")
	activationID := fs.String("activation-id", "", "SSM activation id (required)")
	activationCode := fs.String("activation-code", "", "SSM activation code (required)")
	cluster := fs.String("cluster", "", "ECS cluster this host will join")
	endpoint := fs.String("endpoint", "", "SSM endpoint URL (default https://ssm.REGION.amazonaws.com/)")
	stateRoot := fs.String("state-root", ssm.DefaultStateRoot, "directory of the SSM registration vault")
	force := fs.Bool("force", false, "replace an existing registration")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ecsd register --region R --activation-id ID --activation-code CODE [--cluster C] [--endpoint URL] [--state-root DIR] [--force]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	for _, f := range []struct{ name, value string }{
		{"--region", *region}, {"--activation-id", *activationID}, {"--activation-code", *activationCode},
	} {
		if f.value == "" {
			problems = append(problems, f.name+" is required")
		}
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "ecsd register: %s\n", p)
		}
		fs.Usage()
		return exitUsage
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg, err := ssm.Register(ctx, ssm.RegisterConfig{
		Region:         *region,
		ActivationID:   *activationID,
		ActivationCode: *activationCode,
		Endpoint:       *endpoint,
		StateRoot:      *stateRoot,
		Force:          *force,
		UserAgent:      "ecsd/" + version.Version,
		Log:            log.With("component", "ssm"),
	})
	if err != nil {
		// One line per problem (several local ones come joined).
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "ecsd register: %s\n", line)
		}
		if needsPerson(err) {
			return exitConfig
		}
		return exitError
	}
	fmt.Fprintf(stdout, "registered this host as managed instance %s in %s\n", reg.InstanceID, reg.Region)
	if *cluster != "" {
		fmt.Fprintf(stdout, "to join cluster %s, set ECS_CLUSTER=%s in /etc/ecs/ecs.config\n", *cluster, *cluster)
	}
	return exitOK
}

// needsPerson says whether err is one that retrying cannot fix, so systemd
// must not restart ecsd over it.
func needsPerson(err error) bool {
	for _, kind := range []error{
		ssm.ErrInvalidActivation,
		ssm.ErrActivationExpired,
		ssm.ErrRegistrationLimitExceeded,
		ssm.ErrAlreadyRegistered,
		ssm.ErrInstanceAlreadyRegistered,
		ssm.ErrInvalidPublicKey,
		ssm.ErrNotRegistered,
		ssm.ErrFingerprintMismatch,
		ssm.ErrInvalidInstanceID,
		ssm.ErrAccessDenied,
	} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}
