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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// ProviderConfig says where the registration is kept and how to share the
// credentials it yields.
type ProviderConfig struct {
	// StateRoot is the SSM agent's data directory; DefaultStateRoot if empty.
	StateRoot string
	// Endpoint overrides Endpoint(region of the registration).
	Endpoint string
	// SharedCredentialsFile, if set, is rewritten after every refresh with
	// the credentials under Profile (DefaultProfile if empty), for other
	// workloads on the host. Usually DefaultCredentialsFile.
	SharedCredentialsFile string
	Profile               string
	// KeyMaxAge, if positive, rotates the RSA key once it is this old, on
	// top of rotating whenever SSM asks.
	KeyMaxAge time.Duration

	HTTPClient *http.Client // nil: a client with a 60 s timeout
	Clock      Clock        // nil: the system clock
	Log        *slog.Logger // nil: discard
	UserAgent  string       // empty: "ecsd"
	// NewKey makes replacement keys; nil: a fresh RSA-2048 key.
	NewKey func() (*rsa.PrivateKey, error)
}

// credentialsSource names this provider in aws.Credentials.Source.
const credentialsSource = "SSMManagedInstance"

// expiryMargin: the SDK is told credentials expire this long before SSM's
// expiry, so that no request is signed with credentials about to lapse; a
// quarter of their life for credentials shorter-lived than four of these
// (ecs-local can be asked for those).
const expiryMargin = time.Minute

// minLifetime: credentials that expire sooner than this after they are got
// are refused; taking them would refresh in a tight loop.
const minLifetime = 10 * time.Second

// marginFor is the expiry margin of credentials that live for life.
func marginFor(life time.Duration) time.Duration {
	return min(expiryMargin, life/4)
}

// Provider supplies the managed instance role's credentials. It implements
// aws.CredentialsProvider for the agent's SDK clients; Run keeps the
// credentials fresh (refreshing halfway through their life, backing off on
// failure), rotates the RSA key when SSM asks, and keeps the shared
// credentials file up to date when one is configured.
type Provider struct {
	vault       vault
	client      *client
	clock       Clock
	log         *slog.Logger
	newKey      func() (*rsa.PrivateKey, error)
	rnd         func(int64) int64
	sharedFile  string
	profile     string
	keyMaxAge   time.Duration
	instanceID  string
	region      string
	fingerprint string

	// fetch is held (a one-slot semaphore, so waiting honours ctx) while
	// credentials are fetched, the key rotated or files written.
	fetch chan struct{}
	ready chan struct{}
	once  sync.Once

	mu         sync.Mutex // guards the fields below
	key        *rsa.PrivateKey
	keyCreated time.Time
	creds      aws.Credentials
	retrieved  time.Time // local clock
	expires    time.Time // local clock, as SSM gave it
	fileStale  bool      // the shared file lags creds
	keyUnsaved bool      // key is registered with SSM but not in the vault
}

var _ aws.CredentialsProvider = (*Provider)(nil)

// NewProvider loads the registration under cfg.StateRoot. It returns an error
// matching ErrNotRegistered if the host is not registered.
func NewProvider(cfg ProviderConfig) (*Provider, error) {
	v, err := newVault(cfg.StateRoot)
	if err != nil {
		return nil, err
	}
	reg, err := v.registration()
	if err != nil {
		return nil, err
	}
	fp, err := v.fingerprint()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no fingerprint stored under %s: %w", v.root, ErrFingerprintMismatch)
	}
	if err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With(logKeyInstance, reg.InstanceID)
	clk := cfg.Clock
	if clk == nil {
		clk = systemClock{}
	}
	endpoint := cfg.Endpoint
	if endpoint == "" {
		endpoint = Endpoint(reg.Region)
	}
	c, err := newClient(endpoint, cfg.HTTPClient, tokenRetryer(), clk, cfg.UserAgent, log)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		vault:       v,
		client:      c,
		clock:       clk,
		log:         log,
		newKey:      cfg.NewKey,
		rnd:         rand.Int64N,
		sharedFile:  cfg.SharedCredentialsFile,
		profile:     cfg.Profile,
		keyMaxAge:   cfg.KeyMaxAge,
		instanceID:  reg.InstanceID,
		region:      reg.Region,
		fingerprint: fp,
		fetch:       make(chan struct{}, 1),
		ready:       make(chan struct{}),
		key:         reg.Key,
		keyCreated:  reg.KeyCreated,
	}
	if p.newKey == nil {
		p.newKey = generateKey
	}
	if p.profile == "" {
		p.profile = DefaultProfile
	}
	return p, nil
}

// InstanceID is the managed instance id, mi-…
func (p *Provider) InstanceID() string { return p.instanceID }

// Region is the region the instance is registered in.
func (p *Provider) Region() string { return p.region }

// Ready is closed once credentials have first been fetched.
func (p *Provider) Ready() <-chan struct{} { return p.ready }

// Retrieve returns the current credentials, fetching them first if there are
// none or they are about to expire. It implements aws.CredentialsProvider.
func (p *Provider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if c, ok := p.current(); ok {
		return c, nil
	}
	if err := p.acquire(ctx); err != nil {
		return aws.Credentials{}, err
	}
	defer p.release()
	if c, ok := p.current(); ok {
		return c, nil
	}
	if err := p.refresh(ctx); err != nil {
		return aws.Credentials{}, err
	}
	c, _ := p.current()
	return c, nil
}

// Run keeps the credentials fresh until ctx is done, then returns nil. It
// fetches at once, then again halfway through each set's life; after a
// failure it waits (see retryDelay) and tries again, for ever.
func (p *Provider) Run(ctx context.Context) error {
	failures := 0
	delay := p.untilRefresh()
	for {
		if err := sleep(ctx, p.clock, delay); err != nil {
			return nil
		}
		err := p.tick(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			failures = 0
			delay = p.untilRefresh()
			continue
		}
		delay = retryDelay(err, failures, p.rnd)
		if u := p.untilRefresh(); u > 0 {
			delay = min(delay, u)
		}
		failures = min(failures+1, maxFailureExponent)
		p.log.Warn("managed instance credentials: will retry", logKeyErr, err.Error(), logKeyRetryIn, delay.String())
	}
}

// tick does what is due: a refresh, then any file writes that failed before.
func (p *Provider) tick(ctx context.Context) error {
	if err := p.acquire(ctx); err != nil {
		return err
	}
	defer p.release()
	if p.untilRefresh() <= 0 {
		if err := p.refresh(ctx); err != nil {
			return err
		}
	}
	var errs []error
	p.mu.Lock()
	fileStale, keyUnsaved := p.fileStale, p.keyUnsaved
	p.mu.Unlock()
	if keyUnsaved {
		errs = append(errs, p.saveUnsavedKey())
	}
	if fileStale {
		errs = append(errs, p.share())
	}
	return errors.Join(errs...)
}

func (p *Provider) acquire(ctx context.Context) error {
	select {
	case p.fetch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *Provider) release() { <-p.fetch }

// current returns the credentials if they are still good.
func (p *Provider) current() (aws.Credentials, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.creds, p.creds.HasKeys() && p.clock.Now().Before(p.creds.Expires)
}

// untilRefresh is how long until the credentials should be refreshed; zero
// or less if now.
func (p *Provider) untilRefresh() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.creds.HasKeys() {
		return 0
	}
	return refreshAt(p.retrieved, p.expires).Sub(p.clock.Now())
}

// refresh fetches new credentials with the current key; then rotates the key
// if due and shares the credentials. Only a failed fetch is an error; the
// rest is logged and retried by Run. The caller holds fetch.
func (p *Provider) refresh(ctx context.Context) error {
	p.mu.Lock()
	key := p.key
	p.mu.Unlock()
	out, err := p.requestToken(ctx, key)
	if err != nil {
		return fmt.Errorf("get role credentials for %s: %w", p.instanceID, err)
	}
	now := p.clock.Now()
	expires := p.client.toLocal(out.TokenExpirationDate.Time)
	life := expires.Sub(now)
	if life < minLifetime {
		return fmt.Errorf("get role credentials for %s: SSM gave credentials that expire at %s, too soon to use (check the system clock)", p.instanceID, expires.Format(time.RFC3339))
	}
	p.mu.Lock()
	p.creds = aws.Credentials{
		AccessKeyID:     out.AccessKeyId,
		SecretAccessKey: string(out.SecretAccessKey),
		SessionToken:    string(out.SessionToken),
		Source:          credentialsSource,
		CanExpire:       true,
		Expires:         expires.Add(-marginFor(life)),
	}
	p.retrieved, p.expires = now, expires
	p.fileStale = p.sharedFile != ""
	rotate := out.UpdateKeyPair || (p.keyMaxAge > 0 && now.Sub(p.keyCreated) >= p.keyMaxAge)
	p.mu.Unlock()
	p.once.Do(func() { close(p.ready) })
	p.log.Info("got managed instance role credentials",
		logKeyExpires, expires.Format(time.RFC3339),
		logKeyNextRefresh, refreshAt(now, expires).Format(time.RFC3339))

	if rotate {
		if err := p.rotate(ctx); err != nil {
			p.log.Error("key rotation failed", logKeyErr, err.Error())
		}
	}
	if p.sharedFile != "" {
		if err := p.share(); err != nil {
			p.log.Error("sharing credentials failed", logKeyErr, err.Error())
		}
	}
	return nil
}

// requestToken calls RequestManagedInstanceRoleToken signed with key.
func (p *Provider) requestToken(ctx context.Context, key *rsa.PrivateKey) (wire.RequestManagedInstanceRoleTokenOutput, error) {
	s := rsaSigner{instanceID: p.instanceID, region: p.region, key: key}
	in := wire.RequestManagedInstanceRoleTokenInput{Fingerprint: p.fingerprint}
	var out wire.RequestManagedInstanceRoleTokenOutput
	if err := p.client.call(ctx, wire.TargetRequestManagedInstanceRoleToken, in, &out, s.sign); err != nil {
		return out, err
	}
	if out.AccessKeyId == "" || out.SecretAccessKey == "" || out.TokenExpirationDate.IsZero() {
		return out, errors.New("SSM answered without credentials or their expiry")
	}
	return out, nil
}

// share writes the shared credentials file and the SSM agent's record of it.
func (p *Provider) share() error {
	p.mu.Lock()
	creds, retrieved, expires := p.creds, p.retrieved, p.expires
	p.mu.Unlock()
	if err := writeSharedCredentials(p.sharedFile, p.profile, creds); err != nil {
		return err
	}
	err := p.vault.storeIdentityConfig(identityConfig{
		InstanceId:             p.instanceID,
		ShareFile:              p.sharedFile,
		ShareProfile:           p.profile,
		CredentialsExpiresAt:   expires,
		CredentialsRetrievedAt: retrieved,
	})
	if err != nil {
		return err
	}
	p.mu.Lock()
	if p.retrieved.Equal(retrieved) {
		p.fileStale = false
	}
	p.mu.Unlock()
	p.log.Debug("shared credentials", logKeyFile, p.sharedFile)
	return nil
}
