package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Log attribute keys.
const (
	logDriver   = "log_driver"
	logPath     = "path"
	logErr      = "err"
	logDropped  = "dropped"
	logGroup    = "log_group"
	logStream   = "log_stream"
	logSpool    = "spool"
	logSegment  = "segment"
	logEvents   = "events"
	logBytes    = "bytes"
	logOffset   = "offset"
	logMaxBytes = "max_bytes"
)

// Driver names, as ECS spells them in logConfiguration.logDriver.
const (
	DriverJSONFile = "json-file"
	DriverJournald = "journald"
	DriverAWSLogs  = "awslogs"
	DriverNone     = "none"
)

// Drivers are the log drivers ecsd implements.
func Drivers() []string {
	return []string{DriverJSONFile, DriverJournald, DriverAWSLogs, DriverNone}
}

// Config is a container's ECS logConfiguration: {logDriver, options}.
// An empty Driver means json-file, as with Docker.
type Config struct {
	Driver  string
	Options map[string]string
}

// Target is the container whose output is logged, and what a driver needs
// besides its options.
type Target struct {
	TaskARN       string
	TaskID        string
	Cluster       string
	ContainerName string
	ContainerID   string // the runtime's container id (journald's CONTAINER_ID_FULL)

	// Dir is the container's log directory, ContainerDir(dataDir, taskID,
	// name): json-file writes CONTAINER.log there and awslogs keeps its
	// spool there. Created if missing.
	Dir string

	// Credentials sign awslogs calls: the task's execution-role credentials.
	Credentials aws.CredentialsProvider
	// Region is the default for awslogs-region.
	Region string

	// Enabled are the drivers ECS_AVAILABLE_LOGGING_DRIVERS allows; nil
	// allows every driver in Drivers(). An empty Config.Driver (no
	// logConfiguration) means json-file, enabled or not.
	Enabled []string

	Log   *slog.Logger // nil discards
	Clock Clock        // nil: the system clock
}

// Logger takes one container's output.
type Logger interface {
	// Stdout and Stderr are the container's two streams. Writes are split
	// into lines; they never fail and never wait on a remote service.
	Stdout() io.Writer
	Stderr() io.Writer
	// Dropped is how many lines (or parts of lines) were lost: beyond
	// awslogs' spool bound or non-blocking buffer, in a failed file write,
	// or written after Close.
	Dropped() int64
	// Close flushes buffered output (a last unterminated line, events not
	// yet shipped) and releases the driver's resources. awslogs gives up
	// waiting for CloudWatch after a while and leaves the rest in its spool.
	Close() error
}

// Clock is the logs' view of time: line timestamps, flush intervals and
// backoff.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// ErrDriver is wrapped by the error New returns for a driver that is
// unknown or not enabled, or whose options are wrong.
var ErrDriver = errors.New("log driver")

// New starts the logger cfg names for the target. It fails for an unknown
// or disabled driver, bad options, a missing journal, or (awslogs) a
// CloudWatch that answers that the group does not exist or access is
// denied. An unreachable CloudWatch is not an error: lines wait in the spool.
func New(ctx context.Context, cfg Config, t Target) (Logger, error) {
	return newLogger(ctx, cfg, t, defaultTuning())
}

// tuning holds the waits and sizes tests shorten.
type tuning struct {
	flushEvery     time.Duration // awslogs: ship at least this often
	backoffMin     time.Duration // awslogs: first wait after a failed call
	backoffMax     time.Duration
	closeTimeout   time.Duration // awslogs: how long Close keeps trying to ship
	setupTimeout   time.Duration // awslogs: creating the stream in New
	requestTimeout time.Duration // awslogs: one CloudWatch call
	segmentBytes   int64         // awslogs: spool segment size
}

func defaultTuning() tuning {
	return tuning{
		flushEvery:     5 * time.Second,
		backoffMin:     200 * time.Millisecond,
		backoffMax:     30 * time.Second,
		closeTimeout:   15 * time.Second,
		setupTimeout:   10 * time.Second,
		requestTimeout: 30 * time.Second,
		segmentBytes:   4 << 20,
	}
}

func newLogger(ctx context.Context, cfg Config, t Target, tu tuning) (Logger, error) {
	driver := cfg.Driver
	if driver == "" {
		driver = DriverJSONFile
	}
	enabled := t.Enabled
	if enabled == nil {
		enabled = Drivers()
	}
	if !slices.Contains(Drivers(), driver) {
		return nil, fmt.Errorf("%w %q: ecsd does not implement it; enabled: %s", ErrDriver, driver, strings.Join(enabled, ", "))
	}
	// A container without a logConfiguration gets json-file whatever the
	// list says, as it gets Docker's default driver under the ECS agent.
	if cfg.Driver != "" && !slices.Contains(enabled, driver) {
		return nil, fmt.Errorf("%w %q is not enabled (ECS_AVAILABLE_LOGGING_DRIVERS); enabled: %s", ErrDriver, driver, strings.Join(enabled, ", "))
	}
	if t.Log == nil {
		t.Log = slog.New(slog.DiscardHandler)
	}
	if t.Clock == nil {
		t.Clock = systemClock{}
	}
	t.Log = t.Log.With(logDriver, driver)
	if err := checkNames(t); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrDriver, driver, err)
	}

	var (
		s     sink
		limit = dockerLineBytes
		err   error
	)
	switch driver {
	case DriverJSONFile:
		s, err = newJSONFile(cfg.Options, t)
	case DriverJournald:
		s, err = newJournald(cfg.Options, t)
	case DriverAWSLogs:
		s, err = newAWSLogs(ctx, cfg.Options, t, tu)
		limit = maxEventBytes
	case DriverNone:
		if err = checkOptions(DriverNone, cfg.Options); err == nil {
			s = noneSink{}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w %s for container %s: %w", ErrDriver, driver, t.ContainerName, err)
	}
	l := &logger{sink: s}
	l.stdout = newLineWriter(streamStdout, limit, s, t.Clock, &l.late)
	l.stderr = newLineWriter(streamStderr, limit, s, t.Clock, &l.late)
	return l, nil
}

// checkNames refuses names that would escape the log directory.
func checkNames(t Target) error {
	for _, n := range []struct{ what, v string }{{"container name", t.ContainerName}, {"task id", t.TaskID}} {
		if n.v == "" {
			continue
		}
		if n.v == "." || n.v == ".." || strings.ContainsAny(n.v, "/\x00") {
			return fmt.Errorf("%s %q cannot name a directory", n.what, n.v)
		}
	}
	return nil
}

// checkOptions fails for an option the driver does not take, naming the
// ones it does.
func checkOptions(driver string, opts map[string]string, known ...string) error {
	var bad []string
	for k := range opts {
		if !slices.Contains(known, k) {
			bad = append(bad, fmt.Sprintf("%q", k))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	supported := "none"
	if len(known) > 0 {
		supported = strings.Join(known, ", ")
	}
	return fmt.Errorf("unsupported option %s for %s (supported: %s)", strings.Join(bad, ", "), driver, supported)
}

// ContainerDir is a container's log directory: DATA_DIR/logs/TASK_ID/CONTAINER.
func ContainerDir(dataDir, taskID, container string) string {
	return filepath.Join(dataDir, "logs", taskID, container)
}

// JSONFilePath is where json-file writes a container's log in its
// directory: DIR/CONTAINER.log (rotated files add .1, .2, …).
func JSONFilePath(dir, container string) string {
	return filepath.Join(dir, container+".log")
}

// TaskID is the id in a task ARN (its last path element:
// arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID); an id is returned as it is.
func TaskID(arnOrID string) string {
	if i := strings.LastIndexByte(arnOrID, '/'); i >= 0 {
		return arnOrID[i+1:]
	}
	return arnOrID
}

// Streams, as Docker names them.
const (
	streamStdout = "stdout"
	streamStderr = "stderr"
)

// sink is a driver: it takes the lines of one write, in order. Their bytes
// are only valid during the call. The stdout and stderr writers call it
// concurrently.
type sink interface {
	accept(msgs []message)
	dropped() int64
	close() error
}

// logger joins the two line writers and a driver.
type logger struct {
	stdout, stderr *lineWriter
	sink           sink
	late           atomic.Int64 // lines written after Close
	closed         atomic.Bool
}

func (l *logger) Stdout() io.Writer { return l.stdout }
func (l *logger) Stderr() io.Writer { return l.stderr }
func (l *logger) Dropped() int64    { return l.sink.dropped() + l.late.Load() }

func (l *logger) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	l.stdout.close()
	l.stderr.close()
	return l.sink.close()
}

// noneSink is the none driver: it keeps nothing.
type noneSink struct{}

func (noneSink) accept([]message) {}
func (noneSink) dropped() int64   { return 0 }
func (noneSink) close() error     { return nil }
