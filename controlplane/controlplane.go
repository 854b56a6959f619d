package controlplane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/wire/acs"
	bolt "go.etcd.io/bbolt"
)

// Config is what New needs. DataDir is required; the rest has defaults.
type Config struct {
	// DataDir holds the state (ecs-local.db) and the admin credentials
	// (credentials, config).
	DataDir string
	// Region and AccountID appear in every ARN; defaults us-east-1 and
	// 000000000000.
	Region    string
	AccountID string
	// Log defaults to slog.Default().
	Log *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// Keyring verifies request signatures. New adds the admin credentials
	// and the task role credentials it issues; others (the SSM side's
	// instance credentials) may add theirs. Nil means a new keyring.
	Keyring *auth.Keyring
	// Dispatcher delivers tasks to agents. Nil leaves tasks PENDING until
	// an agent connects and OnConnect (or PendingFor) hands them over.
	Dispatcher Dispatcher
	// ACSEndpoint and TCSEndpoint are what DiscoverPollEndpoint returns.
	// Empty means the base URL the request came to, "http://HOST/".
	ACSEndpoint string
	TCSEndpoint string
	// ACS serves GET /ws, the agents' websocket connections; nil answers
	// them 404.
	ACS http.Handler
	// TCS serves GET /tcs/ws, the agents' telemetry websocket connections
	// (DiscoverPollEndpoint's default telemetryEndpoint is the base URL
	// plus "tcs"); nil answers them 404.
	TCS http.Handler
	// TelemetryStatus serves the read-only status page at
	// /status/telemetry; nil answers 404.
	TelemetryStatus http.Handler
	// SSM serves the requests whose X-Amz-Target starts with "AmazonSSM.";
	// nil answers them UnknownOperationException.
	SSM http.Handler
	// Endpoint is the base URL clients reach this control plane at, used
	// only in the hint logged with the admin credentials.
	Endpoint string
	// ReconcileInterval is how often Run reconciles services, retries
	// dispatches and refreshes credentials; default 5s.
	ReconcileInterval time.Duration
	// CredentialsTTL is how long issued task role credentials last; default
	// 6h. Run refreshes them when less than half is left.
	CredentialsTTL time.Duration
	// StoppedTaskRetention is how long stopped tasks stay describable;
	// default 1h.
	StoppedTaskRetention time.Duration
	// DispatchTimeout bounds one Dispatch call; default 10s.
	DispatchTimeout time.Duration
}

// Dispatcher delivers tasks to the agent of a container instance (the ACS
// side sends them as a PayloadMessage). A nil error means the agent
// acknowledged them; the control plane then stops re-sending them. It may
// be called concurrently, also from within OnConnect.
type Dispatcher interface {
	Dispatch(ctx context.Context, containerInstanceARN string, tasks []acs.Task) error
}

// ControlPlane is ecs-local: an http.Handler serving the ECS API, with hooks
// for the ACS and SSM servers. Build it with New; Close it when done.
type ControlPlane struct {
	cfg     Config
	log     *slog.Logger
	db      *bolt.DB
	keyring *auth.Keyring
}

const (
	stateFile       = "ecs-local.db"
	credentialsFile = "credentials"
	configFile      = "config"
)

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// New opens (or creates) the state in cfg.DataDir, loads the credentials it
// issued into the keyring and, on first start, creates admin credentials
// and writes them to DataDir/credentials.
func New(cfg Config) (*ControlPlane, error) {
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Keyring == nil {
		cfg.Keyring = auth.NewKeyring(cfg.Now)
	}
	if cfg.ReconcileInterval <= 0 {
		cfg.ReconcileInterval = 5 * time.Second
	}
	if cfg.CredentialsTTL <= 0 {
		cfg.CredentialsTTL = 6 * time.Hour
	}
	if cfg.StoppedTaskRetention <= 0 {
		cfg.StoppedTaskRetention = time.Hour
	}
	if cfg.DispatchTimeout <= 0 {
		cfg.DispatchTimeout = 10 * time.Second
	}
	var problems []error
	if cfg.DataDir == "" {
		problems = append(problems, errors.New("DataDir is required"))
	}
	if !accountIDPattern.MatchString(cfg.AccountID) {
		problems = append(problems, fmt.Errorf("AccountID %q is not 12 digits", cfg.AccountID))
	}
	if !regionPattern.MatchString(cfg.Region) {
		problems = append(problems, fmt.Errorf("Region %q is not a region name such as us-east-1", cfg.Region))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("controlplane config: %w", errors.Join(problems...))
	}

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := openStore(filepath.Join(cfg.DataDir, stateFile))
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{cfg: cfg, log: cfg.Log, db: db, keyring: cfg.Keyring}
	if err := cp.loadCredentials(); err != nil {
		db.Close()
		return nil, err
	}
	return cp, nil
}

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Close closes the state file.
func (cp *ControlPlane) Close() error { return cp.db.Close() }

// Keyring returns the keyring requests are verified against.
func (cp *ControlPlane) Keyring() *auth.Keyring { return cp.keyring }

func (cp *ControlPlane) now() time.Time { return cp.cfg.Now().UTC() }

// effects are what a committed transaction still has to do: credentials to
// add to the keyring and tasks to dispatch.
type effects struct {
	creds    []auth.Credential
	dispatch []dispatchBatch
}

type dispatchBatch struct {
	instanceARN string
	tasks       []acs.Task
}

// send queues t for the agent of the instance.
func (fx *effects) send(instanceARN string, t acs.Task) {
	for i := range fx.dispatch {
		if fx.dispatch[i].instanceARN == instanceARN {
			fx.dispatch[i].tasks = append(fx.dispatch[i].tasks, t)
			return
		}
	}
	fx.dispatch = append(fx.dispatch, dispatchBatch{instanceARN: instanceARN, tasks: []acs.Task{t}})
}

// update runs fn in a write transaction and, once it commits, applies its
// effects.
func (cp *ControlPlane) update(ctx context.Context, fn func(st *state) error) error {
	fx := &effects{}
	err := cp.db.Update(func(tx *bolt.Tx) error {
		return fn(&state{tx: tx, now: cp.now(), fx: fx})
	})
	if err != nil {
		return err
	}
	cp.apply(ctx, fx)
	return nil
}

// view runs fn in a read transaction.
func (cp *ControlPlane) view(fn func(st *state) error) error {
	return cp.db.View(func(tx *bolt.Tx) error {
		return fn(&state{tx: tx, now: cp.now(), fx: &effects{}})
	})
}

func (cp *ControlPlane) apply(ctx context.Context, fx *effects) {
	for _, c := range fx.creds {
		cp.keyring.Add(c)
	}
	if len(fx.dispatch) > 0 {
		cp.dispatch(ctx, fx.dispatch)
	}
}

// Run reconciles every ReconcileInterval until ctx ends: services keep their
// desired count, unacknowledged tasks are re-sent to connected agents,
// expiring task credentials are refreshed and old stopped tasks forgotten.
// It returns nil when ctx ends.
func (cp *ControlPlane) Run(ctx context.Context) error {
	t := time.NewTicker(cp.cfg.ReconcileInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := cp.Reconcile(ctx); err != nil {
				cp.log.Error("reconcile", keyError, err)
			}
		}
	}
}

// Log attribute keys.
const (
	keyError          = "error"
	keyOperation      = "operation"
	keyCluster        = "cluster"
	keyTask           = "task"
	keyInstance       = "containerInstance"
	keyService        = "service"
	keyPrincipal      = "principal"
	keyPath           = "path"
	keyConfigPath     = "configPath"
	keyCount          = "count"
	keyStatus         = "status"
	keyTaskDefinition = "taskDefinition"
	keyAccessKeyID    = "accessKeyId"
)
