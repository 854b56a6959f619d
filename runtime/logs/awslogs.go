package logs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// awslogs options.
const (
	optGroup       = "awslogs-group"
	optRegion      = "awslogs-region"
	optPrefix      = "awslogs-stream-prefix"
	optCreateGroup = "awslogs-create-group"
	optEndpoint    = "awslogs-endpoint"
	optMode        = "mode"
	optMaxBuffer   = "max-buffer-size"
	optSpoolMax    = "ecsd-spool-max-bytes"

	modeBlocking    = "blocking"
	modeNonBlocking = "non-blocking"

	defaultMaxBuffer = 1 << 20
	defaultSpoolMax  = 64 << 20
	spoolDirName     = "awslogs-spool"
)

// awsOptions are a container's awslogs options, checked.
type awsOptions struct {
	group, stream, region, endpoint string
	createGroup                     bool
	nonBlocking                     bool
	maxBuffer                       int64 // non-blocking: memory bound
	spoolMax                        int64
}

// parseAWSOptions checks the options and works out the stream:
// PREFIX/CONTAINER/TASK_ID with awslogs-stream-prefix, else the container
// id. Every problem is listed.
func parseAWSOptions(opts map[string]string, t Target) (awsOptions, error) {
	o := awsOptions{
		group:     opts[optGroup],
		region:    opts[optRegion],
		endpoint:  opts[optEndpoint],
		maxBuffer: defaultMaxBuffer,
		spoolMax:  defaultSpoolMax,
	}
	var errs []error
	if err := checkOptions(DriverAWSLogs, opts, optCreateGroup, optEndpoint, optGroup, optRegion, optPrefix, optSpoolMax, optMaxBuffer, optMode); err != nil {
		errs = append(errs, err)
	}
	if o.group == "" {
		errs = append(errs, fmt.Errorf("%s is required", optGroup))
	}
	if o.region == "" {
		o.region = t.Region
	}
	if o.region == "" {
		errs = append(errs, fmt.Errorf("%s is required (no default region)", optRegion))
	}
	if p := opts[optPrefix]; p != "" {
		if t.ContainerName == "" || t.TaskID == "" {
			errs = append(errs, fmt.Errorf("%s needs the container name and task id", optPrefix))
		}
		o.stream = p + "/" + t.ContainerName + "/" + t.TaskID
	} else {
		if t.ContainerID == "" {
			errs = append(errs, fmt.Errorf("without %s the stream is the container id, and there is none", optPrefix))
		}
		o.stream = t.ContainerID
	}
	if v, ok := opts[optCreateGroup]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want true or false", optCreateGroup, v))
		}
		o.createGroup = b
	}
	switch m := opts[optMode]; m {
	case "", modeBlocking:
	case modeNonBlocking:
		o.nonBlocking = true
	default:
		errs = append(errs, fmt.Errorf("%s %q: want %s or %s", optMode, m, modeBlocking, modeNonBlocking))
	}
	for _, s := range []struct {
		name string
		dst  *int64
	}{{optMaxBuffer, &o.maxBuffer}, {optSpoolMax, &o.spoolMax}} {
		if v, ok := opts[s.name]; ok {
			n, err := parseSize(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("%s %q: want a positive size such as 1m", s.name, v))
			}
			*s.dst = n
		}
	}
	if t.Credentials == nil {
		errs = append(errs, errors.New("no credentials (the task execution role's)"))
	}
	if t.Dir == "" {
		errs = append(errs, errors.New("no log directory for the spool"))
	}
	return o, errors.Join(errs...)
}

// spoolDir is the stream's spool: DIR/awslogs-spool/HASH, HASH naming the
// region, group and stream.
func spoolDir(dir string, o awsOptions) string {
	sum := sha256.Sum256([]byte(o.region + "\x00" + o.group + "\x00" + o.stream))
	return filepath.Join(dir, spoolDirName, hex.EncodeToString(sum[:8]))
}

// awsLogs is the awslogs driver: lines go to the spool, a shipper sends
// the spool to CloudWatch.
type awsLogs struct {
	o      awsOptions
	tu     tuning
	clock  Clock
	log    *slog.Logger
	client *cloudwatchlogs.Client
	http   *http.Transport
	spool  *spool
	queue  *memQueue // non-blocking mode only

	wake    chan struct{} // a batch is full
	closing chan struct{}
	done    chan struct{}
	stop    context.CancelFunc // ends CloudWatch calls

	sinceWake atomic.Int64 // events appended since the last wake
	spooled   atomic.Int64 // events refused by the spool
	rejected  atomic.Int64 // events CloudWatch refused
	puts      atomic.Int64 // PutLogEvents calls accepted
	closeOnce sync.Once
	closeErr  error
}

func newAWSLogs(ctx context.Context, opts map[string]string, t Target, tu tuning) (*awsLogs, error) {
	o, err := parseAWSOptions(opts, t)
	if err != nil {
		return nil, err
	}
	a := &awsLogs{
		o: o, tu: tu, clock: t.Clock,
		log:     t.Log.With(logGroup, o.group, logStream, o.stream),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	creds := t.Credentials
	if _, ok := creds.(*aws.CredentialsCache); !ok {
		creds = aws.NewCredentialsCache(creds)
	}
	a.http = http.DefaultTransport.(*http.Transport).Clone()
	a.client = cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:      o.region,
		Credentials: creds,
		HTTPClient:  &http.Client{Transport: a.http},
		Retryer:     aws.NopRetryer{}, // the shipper retries, for as long as it takes
		BaseEndpoint: func() *string {
			if o.endpoint == "" {
				return nil
			}
			return aws.String(o.endpoint)
		}(),
	})

	dir := spoolDir(t.Dir, o)
	a.spool, err = openSpool(dir, o.spoolMax, tu.segmentBytes, fmt.Sprintf("region %s\ngroup %s\nstream %s\n", o.region, o.group, o.stream), a.log)
	if err != nil {
		a.http.CloseIdleConnections()
		return nil, err
	}

	// Fail now for what only a person can fix; an unreachable CloudWatch
	// is not that: the shipper creates the stream when it answers.
	setupCtx, cancel := context.WithTimeout(ctx, tu.setupTimeout)
	err = a.ensureStream(setupCtx)
	cancel()
	if err != nil {
		if permanent(err) {
			a.spool.close()
			a.http.CloseIdleConnections()
			return nil, err
		}
		a.log.Warn("cannot reach CloudWatch Logs yet; spooling", logErr, err)
	}

	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	if o.nonBlocking {
		a.queue = newMemQueue(o.maxBuffer, a.log)
		go a.queue.run(a.toSpool)
	}
	if a.spool.pending() > 0 {
		a.wake <- struct{}{} // an earlier logger left lines: ship them now
	}
	go a.ship(runCtx)
	return a, nil
}

// accept takes a write's lines: into the spool now (blocking) or into the
// memory queue (non-blocking).
func (a *awsLogs) accept(msgs []message) {
	if a.queue != nil {
		a.queue.push(msgs)
		return
	}
	var evs []event
	for _, m := range msgs {
		ts := m.time.UnixMilli()
		for _, part := range splitEvent(m.line) {
			evs = append(evs, event{ts: ts, msg: part})
		}
	}
	a.toSpool(evs)
}

// toSpool appends events to the spool and wakes the shipper when a batch
// is full.
func (a *awsLogs) toSpool(evs []event) {
	if len(evs) == 0 {
		return
	}
	dropped := a.spool.append(evs)
	a.spooled.Add(int64(dropped))
	if a.sinceWake.Add(int64(len(evs)-dropped)) >= maxBatchEvents || a.spool.pending() >= maxBatchBytes {
		a.sinceWake.Store(0)
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// ship sends the spool to CloudWatch until Close: every flushEvery, when a
// batch is full, and at Close; after a failure it waits with growing
// backoff. From Close on it keeps trying for closeTimeout.
func (a *awsLogs) ship(ctx context.Context) {
	defer close(a.done)
	var (
		closing  = a.closing // nil from Close on
		deadline <-chan struct{}
		backoff  time.Duration
	)
	for {
		wait, wake := a.tu.flushEvery, a.wake
		if backoff > 0 {
			// ±20%, so that the containers of a host do not retry in step.
			wait, wake = backoff*4/5+rand.N(backoff*2/5+1), nil
		}
		select {
		case <-a.clock.After(wait):
		case <-wake:
		case <-closing:
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.tu.closeTimeout)
			defer cancel()
			closing, deadline, backoff = nil, ctx.Done(), 0
		case <-deadline:
			return
		}
		err := a.shipAll(ctx)
		switch {
		case err == nil && backoff > 0:
			a.log.Info("CloudWatch Logs takes events again")
			backoff = 0
		case err != nil && backoff == 0:
			a.log.Warn("cannot ship to CloudWatch Logs; spooling and retrying", logErr, err, logSpool, a.spool.dir)
			backoff = a.tu.backoffMin
		case err != nil:
			backoff = min(2*backoff, a.tu.backoffMax)
		}
		if err == nil && closing == nil {
			return
		}
		if deadline != nil && ctx.Err() != nil {
			return
		}
	}
}

// shipAll sends batches until the spool is empty.
func (a *awsLogs) shipAll(ctx context.Context) error {
	for {
		b, next, err := a.spool.read(a.spool.position())
		if err != nil {
			return err
		}
		if len(b.events) == 0 {
			return nil
		}
		err = a.put(ctx, b)
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			// CloudWatch lost the stream (or group): make it again.
			a.log.Info("log stream not found; creating it", logErr, err)
			if err := a.ensureStream(ctx); err != nil {
				return err
			}
			err = a.put(ctx, b)
		}
		var ip *types.InvalidParameterException
		if errors.As(err, &ip) {
			a.log.Error("CloudWatch Logs refused a batch; dropping it", logEvents, len(b.events), logErr, err)
			a.rejected.Add(int64(len(b.events)))
			err = nil
		}
		if err != nil {
			return err
		}
		if err := a.spool.commit(next); err != nil {
			return err
		}
	}
}

// put sends one batch.
func (a *awsLogs) put(ctx context.Context, b batch) error {
	ctx, cancel := context.WithTimeout(ctx, a.tu.requestTimeout)
	defer cancel()
	out, err := a.client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  aws.String(a.o.group),
		LogStreamName: aws.String(a.o.stream),
		LogEvents:     b.events,
	})
	var daa *types.DataAlreadyAcceptedException
	if errors.As(err, &daa) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("put %d log events to %s/%s: %w", len(b.events), a.o.group, a.o.stream, err)
	}
	a.puts.Add(1)
	if r := out.RejectedLogEventsInfo; r != nil {
		n := rejectedCount(r, len(b.events))
		a.rejected.Add(int64(n))
		a.log.Warn("CloudWatch Logs rejected events (too old, expired or too new)", logEvents, n)
	}
	return nil
}

// rejectedCount is how many of a batch of n the service refused.
func rejectedCount(r *types.RejectedLogEventsInfo, n int) int {
	bad := make([]bool, n)
	mark := func(from, to int) {
		for i := max(from, 0); i < min(to, n); i++ {
			bad[i] = true
		}
	}
	if r.TooOldLogEventEndIndex != nil {
		mark(0, int(*r.TooOldLogEventEndIndex)+1)
	}
	if r.ExpiredLogEventEndIndex != nil {
		mark(0, int(*r.ExpiredLogEventEndIndex)+1)
	}
	if r.TooNewLogEventStartIndex != nil {
		mark(int(*r.TooNewLogEventStartIndex), n)
	}
	c := 0
	for _, b := range bad {
		if b {
			c++
		}
	}
	return c
}

// ensureStream creates the group (with awslogs-create-group) and the
// stream; either may exist already.
func (a *awsLogs) ensureStream(ctx context.Context) error {
	var exists *types.ResourceAlreadyExistsException
	if a.o.createGroup {
		rctx, cancel := context.WithTimeout(ctx, a.tu.requestTimeout)
		_, err := a.client.CreateLogGroup(rctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(a.o.group)})
		cancel()
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("create log group %s: %w", a.o.group, err)
		}
	}
	rctx, cancel := context.WithTimeout(ctx, a.tu.requestTimeout)
	_, err := a.client.CreateLogStream(rctx, &cloudwatchlogs.CreateLogStreamInput{
		LogGroupName: aws.String(a.o.group), LogStreamName: aws.String(a.o.stream),
	})
	cancel()
	var nf *types.ResourceNotFoundException
	switch {
	case err == nil, errors.As(err, &exists):
		return nil
	case errors.As(err, &nf):
		return fmt.Errorf("create log stream %s: log group %s does not exist (%s is not true): %w", a.o.stream, a.o.group, optCreateGroup, err)
	}
	return fmt.Errorf("create log stream %s in %s: %w", a.o.stream, a.o.group, err)
}

// permanent says an error needs a person: a missing group, a bad name,
// credentials that are refused.
func permanent(err error) bool {
	var (
		nf  *types.ResourceNotFoundException
		ip  *types.InvalidParameterException
		ad  *types.AccessDeniedException
		uc  *types.UnrecognizedClientException
		val *types.ValidationException
	)
	return errors.As(err, &nf) || errors.As(err, &ip) || errors.As(err, &ad) || errors.As(err, &uc) || errors.As(err, &val)
}

func (a *awsLogs) dropped() int64 {
	n := a.spooled.Load() + a.rejected.Load()
	if a.queue != nil {
		n += a.queue.drops.Load()
	}
	return n
}

// close moves what the memory queue holds to the spool, ships for up to
// closeTimeout and leaves the rest in the spool.
func (a *awsLogs) close() error {
	a.closeOnce.Do(func() {
		if a.queue != nil {
			a.queue.close()
		}
		close(a.closing)
		<-a.done
		a.stop()
		left := a.spool.pending()
		errs := []error{a.spool.close()}
		a.http.CloseIdleConnections()
		if left > 0 {
			errs = append(errs, fmt.Errorf("awslogs %s/%s: %d bytes not shipped, left in %s for the next logger of this stream", a.o.group, a.o.stream, left, a.spool.dir))
		}
		if n := a.dropped(); n > 0 {
			a.log.Warn("awslogs dropped lines", logDropped, n)
		}
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// memQueue is the non-blocking mode's buffer: a write copies its events
// in, or drops them when maxBytes are waiting; a goroutine moves them to
// the spool.
type memQueue struct {
	maxBytes int64
	log      *slog.Logger
	drops    atomic.Int64

	mu      sync.Mutex
	evs     []event
	bytes   int64
	full    bool
	closed  bool
	ready   chan struct{} // something waits, or closed
	stopped chan struct{}
}

func newMemQueue(maxBytes int64, log *slog.Logger) *memQueue {
	return &memQueue{maxBytes: maxBytes, log: log, ready: make(chan struct{}, 1), stopped: make(chan struct{})}
}

func (q *memQueue) push(msgs []message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	dropped := 0
	for _, m := range msgs {
		ts := m.time.UnixMilli()
		for _, part := range splitEvent(m.line) {
			if q.closed || q.bytes+int64(len(part)) > q.maxBytes {
				dropped++
				continue
			}
			q.evs = append(q.evs, event{ts: ts, msg: append([]byte(nil), part...)})
			q.bytes += int64(len(part))
		}
	}
	switch {
	case dropped > 0:
		q.drops.Add(int64(dropped))
		if !q.full {
			q.log.Warn("awslogs non-blocking buffer is full: dropping lines", logMaxBytes, q.maxBytes)
			q.full = true
		}
	case q.full:
		q.log.Warn("awslogs non-blocking buffer has room again", logDropped, q.drops.Load())
		q.full = false
	}
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// run hands queued events to put until close.
func (q *memQueue) run(put func([]event)) {
	defer close(q.stopped)
	for range q.ready {
		q.mu.Lock()
		evs, closed := q.evs, q.closed
		q.evs, q.bytes = nil, 0
		q.mu.Unlock()
		put(evs)
		if closed {
			return
		}
	}
}

// close lets run move what is left, and waits for it.
func (q *memQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	<-q.stopped
}
