package ssm

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// RegisterConfig says which activation to register with and where to keep
// the result.
type RegisterConfig struct {
	Region         string
	ActivationID   string
	ActivationCode string // a bearer secret: never logged
	// Endpoint overrides Endpoint(Region), for example to reach ecs-local.
	Endpoint string
	// StateRoot is the SSM agent's data directory; DefaultStateRoot if empty.
	StateRoot string
	// Force replaces an existing registration.
	Force bool

	HTTPClient *http.Client // nil: a client with a 60 s timeout
	Clock      Clock        // nil: the system clock
	Log        *slog.Logger // nil: discard
	UserAgent  string       // empty: "ecsd"
	// NewKey makes the instance's key; nil: a fresh RSA-2048 key.
	NewKey func() (*rsa.PrivateKey, error)
	// HardwareHash describes the host for the SSM agent's similarity check;
	// nil: collected as the SSM agent does.
	HardwareHash func() map[string]string
}

// LogValue leaves out the activation code.
func (c RegisterConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String(logKeyRegion, c.Region),
		slog.String("activation_id", c.ActivationID),
		slog.String("endpoint", c.Endpoint),
		slog.String("state_root", c.StateRoot),
		slog.Bool("force", c.Force),
	)
}

var activationIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// minActivationCode is the model's minimum length of an activation code.
const minActivationCode = 20

func (c RegisterConfig) validate() error {
	var errs []error
	if c.Region == "" {
		errs = append(errs, errors.New("region is empty"))
	}
	if !activationIDPattern.MatchString(c.ActivationID) {
		errs = append(errs, fmt.Errorf("activation id %q is not a UUID: %w", c.ActivationID, ErrInvalidActivation))
	}
	if n := len(c.ActivationCode); n < minActivationCode {
		errs = append(errs, fmt.Errorf("activation code has %d characters, SSM's have at least %d: %w", n, minActivationCode, ErrInvalidActivation))
	}
	return errors.Join(errs...)
}

// Register registers this host as an SSM managed instance with a hybrid
// activation: it makes an RSA-2048 key, keeps (or first makes) the host's
// fingerprint, sends the unsigned RegisterManagedInstance call and stores
// the new identity in the SSM agent's vault under the state root. If the host
// is already registered it returns an error matching ErrAlreadyRegistered
// and changes nothing, unless Force is set. Nothing replaces the stored
// registration until SSM has accepted the new one.
func Register(ctx context.Context, cfg RegisterConfig) (Registration, error) {
	if err := cfg.validate(); err != nil {
		return Registration{}, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clk := cfg.Clock
	if clk == nil {
		clk = systemClock{}
	}
	newKey := cfg.NewKey
	if newKey == nil {
		newKey = generateKey
	}
	hw := cfg.HardwareHash
	if hw == nil {
		hw = systemHardwareHash
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = Endpoint(cfg.Region)
	}
	v, err := newVault(cfg.StateRoot)
	if err != nil {
		return Registration{}, err
	}

	old, err := v.loadRecord()
	switch {
	case err == nil && old.registered() && !cfg.Force:
		return Registration{}, fmt.Errorf("%w (managed instance %s in %s)", ErrAlreadyRegistered, old.InstanceID, old.Region)
	case err != nil && !errors.Is(err, fs.ErrNotExist) && !cfg.Force:
		return Registration{}, fmt.Errorf("read existing registration (use --force to replace it): %w", err)
	}
	if err := v.checkWritable(); err != nil {
		return Registration{}, err
	}
	fp, err := v.ensureFingerprint(hw)
	if err != nil {
		return Registration{}, fmt.Errorf("fingerprint: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return Registration{}, err
	}
	pub, err := encodePublicKey(key)
	if err != nil {
		return Registration{}, err
	}

	c, err := newClient(endpoint, cfg.HTTPClient, registerRetryer(), clk, cfg.UserAgent, log)
	if err != nil {
		return Registration{}, err
	}
	in := wire.RegisterManagedInstanceInput{
		ActivationCode: wire.Secret(cfg.ActivationCode),
		ActivationId:   cfg.ActivationID,
		PublicKey:      pub,
		PublicKeyType:  wire.PublicKeyTypeRsa,
		Fingerprint:    fp,
	}
	var out wire.RegisterManagedInstanceOutput
	if err := c.call(ctx, wire.TargetRegisterManagedInstance, in, &out, nil); err != nil {
		return Registration{}, fmt.Errorf("register with activation %s in %s: %w", cfg.ActivationID, cfg.Region, err)
	}
	if out.InstanceId == "" {
		return Registration{}, fmt.Errorf("register with activation %s in %s: SSM answered without an instance id", cfg.ActivationID, cfg.Region)
	}

	created := clk.Now()
	reg := Registration{InstanceID: out.InstanceId, Region: cfg.Region, Key: key, KeyCreated: created}
	rec := registrationRecord{
		InstanceID:            reg.InstanceID,
		Region:                reg.Region,
		PrivateKey:            encodePrivateKey(key),
		PrivateKeyType:        wire.PublicKeyTypeRsa,
		PrivateKeyCreatedDate: created.Format(keyCreatedLayout),
	}
	if err := v.storeRecord(rec); err != nil {
		return Registration{}, fmt.Errorf("SSM registered %s but it could not be saved (register again with --force): %w", reg.InstanceID, err)
	}
	if err := v.storeLegacy(reg.InstanceID, reg.Region); err != nil {
		return Registration{}, err
	}
	log.Info("registered with SSM", logKeyInstance, reg.InstanceID, logKeyRegion, reg.Region)
	return reg, nil
}

// registerRetryer retries what the SSM agent retries when registering:
// TooManyUpdates and network errors, five attempts, 100 ms doubling up to
// 30 s with 20 % jitter.
func registerRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.RateLimiter = ratelimit.None
		o.Retryables = []retry.IsErrorRetryable{
			retry.NoRetryCanceledError{},
			retry.RetryableConnectionError{},
			retry.RetryableErrorCode{Codes: map[string]struct{}{wire.ErrCodeTooManyUpdates: {}}},
		}
		o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
			d := 100 * time.Millisecond << min(attempt-1, 10)
			d = min(d, 30*time.Second)
			jitter := time.Duration(rand.Int64N(int64(d)/5 + 1))
			return d - d/10 + jitter, nil
		})
	})
}

// tokenRetryer is the SDK's standard retryer (network errors, throttling,
// 5xx), three retries, without the shared retry quota: the refresh loop
// above it never gives up.
func tokenRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 4
		o.RateLimiter = ratelimit.None
	})
}
