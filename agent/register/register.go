package register

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
)

// ECS is the part of the ECS API registration uses.
type ECS interface {
	RegisterContainerInstance(ctx context.Context, in *ecs.RegisterContainerInstanceInput, opts ...func(*ecs.Options)) (*ecs.RegisterContainerInstanceOutput, error)
	CreateCluster(ctx context.Context, in *ecs.CreateClusterInput, opts ...func(*ecs.Options)) (*ecs.CreateClusterOutput, error)
	DiscoverPollEndpoint(ctx context.Context, in *ecs.DiscoverPollEndpointInput, opts ...func(*ecs.Options)) (*ecs.DiscoverPollEndpointOutput, error)
}

// Config describes the instance to register.
type Config struct {
	ECS     ECS
	Cluster string
	// InstanceAttributes are ECS_INSTANCE_ATTRIBUTES; sent on first
	// registration only, as the ECS agent does.
	InstanceAttributes map[string]string
	Tags               map[string]string
	ReservedMemoryMiB  int64
	ReservedPorts      []int
	ReservedPortsUDP   []int
	LoggingDrivers     []string
	TaskCPUMemLimit    bool
	// TaskIAMRole and TaskIAMRoleNetworkHost advertise task role
	// credentials, and their support in host network mode
	// (ECS_ENABLE_TASK_IAM_ROLE, ECS_ENABLE_TASK_IAM_ROLE_NETWORK_HOST).
	TaskIAMRole            bool
	TaskIAMRoleNetworkHost bool
	// DetailedOSFamily is the ecs.os-type-detailed attribute
	// (ECS_DETAILED_OS_FAMILY); empty means from /etc/os-release.
	DetailedOSFamily string
	// MemTotalMiB and CPUs override what /proc says (tests).
	MemTotalMiB int64
	CPUs        int
	Log         *slog.Logger
	// MaxRetryTime bounds the retries of transient errors; 0 = 1 h.
	MaxRetryTime time.Duration
}

// ErrTerminal marks errors that a restart will not fix (a bad parameter,
// attributes ECS did not echo): ecsd exits with the code systemd does not
// restart.
var ErrTerminal = errors.New("registration cannot succeed without a change")

// Register registers the instance, or re-registers it when arn is set,
// and returns its container-instance ARN.
func Register(ctx context.Context, cfg Config, arn string) (string, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	res, err := TotalResources(cfg)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrTerminal, err)
	}
	attrs := Attributes(cfg, arn == "")
	in := &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String(cfg.Cluster),
		InstanceIdentityDocument:          aws.String(""),
		InstanceIdentityDocumentSignature: aws.String(""),
		TotalResources:                    res,
		Attributes:                        attrs,
	}
	if arn != "" {
		in.ContainerInstanceArn = aws.String(arn)
	}
	for k, v := range cfg.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	slices.SortFunc(in.Tags, func(a, b types.Tag) int { return strings.Compare(*a.Key, *b.Key) })

	maxRetry := cfg.MaxRetryTime
	if maxRetry <= 0 {
		maxRetry = time.Hour
	}
	deadline := time.Now().Add(maxRetry)
	backoff := 3 * time.Second
	createdCluster := false
	for {
		out, err := cfg.ECS.RegisterContainerInstance(ctx, in, withClientToken())
		if err == nil {
			if out.ContainerInstance == nil || aws.ToString(out.ContainerInstance.ContainerInstanceArn) == "" {
				return "", errors.New("RegisterContainerInstance returned no container instance ARN")
			}
			if err := checkEcho(attrs, out.ContainerInstance.Attributes); err != nil {
				return "", fmt.Errorf("%w: %w", ErrTerminal, err)
			}
			return aws.ToString(out.ContainerInstance.ContainerInstanceArn), nil
		}
		code := errorCode(err)
		switch {
		case code == "ClusterNotFoundException" && cfg.Cluster == "default" && !createdCluster:
			// The ECS agent creates the default cluster when it is missing.
			createdCluster = true
			if _, cerr := cfg.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("default")}); cerr != nil {
				return "", fmt.Errorf("create cluster default: %w", cerr)
			}
			continue
		case code == "InvalidParameterException" || code == "ClientException" || code == "ClusterNotFoundException":
			return "", fmt.Errorf("%w: RegisterContainerInstance: %w", ErrTerminal, err)
		case !transient(code) && code != "":
			return "", fmt.Errorf("RegisterContainerInstance: %w", err)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("RegisterContainerInstance: gave up after %s: %w", maxRetry, err)
		}
		wait := jitter(backoff)
		cfg.Log.Warn("register container instance, will retry", "error", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return "", ctx.Err()
		}
		backoff = min(2*backoff, 192*time.Second)
	}
}

func transient(code string) bool {
	switch code {
	case "ThrottlingException", "ServerException", "LimitExceededException", "":
		return true
	}
	return false
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return "" // a network error: transient
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Float64()*0.2*float64(d))
}

// checkEcho: every attribute sent must come back with the same value.
func checkEcho(sent, got []types.Attribute) error {
	have := map[string]string{}
	for _, a := range got {
		have[aws.ToString(a.Name)] = aws.ToString(a.Value)
	}
	for _, a := range sent {
		v, ok := have[aws.ToString(a.Name)]
		if !ok || v != aws.ToString(a.Value) {
			return fmt.Errorf("attribute %s=%q was not echoed by RegisterContainerInstance", aws.ToString(a.Name), aws.ToString(a.Value))
		}
	}
	return nil
}

// TotalResources is CPU, MEMORY, PORTS and PORTS_UDP, in the ECS agent's order.
func TotalResources(cfg Config) ([]types.Resource, error) {
	cpus := cfg.CPUs
	if cpus <= 0 {
		cpus = goruntime.NumCPU()
	}
	mem := cfg.MemTotalMiB
	if mem <= 0 {
		var err error
		if mem, err = memTotalMiB(); err != nil {
			return nil, err
		}
	}
	mem -= cfg.ReservedMemoryMiB
	if mem <= 0 {
		return nil, fmt.Errorf("ECS_RESERVED_MEMORY (%d MiB) leaves no memory for tasks", cfg.ReservedMemoryMiB)
	}
	return []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: int32(cpus * 1024)},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: int32(mem)},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(cfg.ReservedPorts)},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: portStrings(cfg.ReservedPortsUDP)},
	}, nil
}

func portStrings(ports []int) []string {
	out := []string{}
	for _, p := range ports {
		out = append(out, strconv.Itoa(p))
	}
	return out
}

func memTotalMiB() (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no MemTotal in /proc/meminfo")
}
