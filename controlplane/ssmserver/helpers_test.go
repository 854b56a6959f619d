package ssmserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	ssmsdk "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecsd-project/ecsd/ssm"
	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Fixed facts of the tests.
const (
	testRegion    = "eu-west-1"
	testAccount   = "000000000000"
	testRole      = "ecsAnywhereRole"
	adminKeyID    = "AKIAADMINEXAMPLE0001"
	adminSecret   = "admin-secret-key-do-not-log"
	adminIdentity = "arn:aws:iam::000000000000:root"
)

var testStart = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// testClock is the server's clock and, through ssm.Clock, the clients':
// waits return at once and move it on.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// offsetClock is a client clock that is off from the server's by a fixed
// amount.
type offsetClock struct {
	base   *testClock
	offset time.Duration
}

func (c offsetClock) Now() time.Time                         { return c.base.Now().Add(c.offset) }
func (c offsetClock) After(d time.Duration) <-chan time.Time { return c.base.After(d) }

// keyring plays ecs-local's credentials: it issues temporary credentials
// and verifies SigV4 signatures made with them or with the admin's keys,
// using aws-sdk-go-v2's own signer.
type keyring struct {
	now func() time.Time

	mu     sync.Mutex
	n      int
	issued map[string]issuedCreds // by access key id
}

type issuedCreds struct {
	secret, token, principal string
	ttl                      time.Duration
}

func (k *keyring) Issue(principal string, ttl time.Duration) (string, string, string, time.Time, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	id := fmt.Sprintf("ASIATEST%012d", k.n)
	c := issuedCreds{secret: fmt.Sprintf("issued-secret-%04d", k.n), token: fmt.Sprintf("issued-token-%04d", k.n), principal: principal, ttl: ttl}
	k.issued[id] = c
	return id, c.secret, c.token, k.now().Add(ttl), nil
}

func (k *keyring) lookup(id string) (issuedCreds, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c, ok := k.issued[id]
	return c, ok
}

// authError is a refusal that names its AWS error code, as a SigV4
// verifier's does.
type authError struct{ code, msg string }

func (e authError) Error() string        { return e.code + ": " + e.msg }
func (e authError) ErrorCode() string    { return e.code }
func (e authError) ErrorMessage() string { return e.msg }

// Verify re-signs a copy of r, made of the headers r says it signed, with
// the secret of the access key it names, and compares the signatures.
func (k *keyring) Verify(r *http.Request, body []byte) (string, error) {
	fields := map[string]string{}
	_, params, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	for _, p := range strings.Split(params, ",") {
		key, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		fields[key] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != "ssm" {
		return "", authError{"IncompleteSignatureException", "bad credential scope"}
	}
	creds := aws.Credentials{AccessKeyID: scope[0]}
	principal := adminIdentity
	if scope[0] == adminKeyID {
		creds.SecretAccessKey = adminSecret
	} else if c, ok := k.lookup(scope[0]); ok {
		creds.SecretAccessKey, creds.SessionToken, principal = c.secret, c.token, c.principal
	} else {
		return "", authError{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	at, err := time.Parse(wire.DateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", authError{"IncompleteSignatureException", "bad X-Amz-Date"}
	}
	cp, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return "", err
	}
	for _, name := range strings.Split(fields["SignedHeaders"], ";") {
		switch name {
		case "host":
		case "content-length":
			cp.ContentLength = int64(len(body))
		default:
			cp.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, cp, hex.EncodeToString(sum[:]), scope[3], scope[2], at); err != nil {
		return "", err
	}
	_, want, _ := strings.Cut(cp.Header.Get("Authorization"), "Signature=")
	if subtle.ConstantTimeCompare([]byte(want), []byte(fields["Signature"])) != 1 {
		return "", authError{wire.ErrCodeInvalidSignatureException, "The request signature we calculated does not match the signature you provided."}
	}
	return principal, nil
}

// signV4 signs r as the AWS SDK does.
func signV4(t *testing.T, r *http.Request, body []byte, creds aws.Credentials, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hex.EncodeToString(sum[:]), "ssm", testRegion, at); err != nil {
		t.Fatal(err)
	}
}

// env is a server on httptest with its clock, keyring and admin client.
type env struct {
	t     *testing.T
	clk   *testClock
	keys  *keyring
	cfg   Config
	srv   *Server
	http  *httptest.Server
	logs  *logBuffer
	admin *ssmsdk.Client

	mu      sync.Mutex
	addr    string       // of the current server
	raw     *http.Client // for rawCall
	clients []*http.Transport
	targets map[string]int // calls seen, by X-Amz-Target
	secrets []string       // must never be logged
}

func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	clk := &testClock{now: testStart}
	e := &env{t: t, clk: clk, keys: &keyring{now: clk.Now, issued: map[string]issuedCreds{}}, logs: &logBuffer{}, targets: map[string]int{}}
	e.cfg = Config{
		DataDir:   t.TempDir(),
		Region:    testRegion,
		AccountID: testAccount,
		Now:       clk.Now,
		Log:       e.logs.logger(),
		Verify:    e.keys.Verify,
		Issue:     e.keys.Issue,
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	e.start()
	e.raw = e.httpClient(t)
	e.admin = e.client(t, aws.Credentials{AccessKeyID: adminKeyID, SecretAccessKey: adminSecret})
	e.secrets = append(e.secrets, adminSecret)
	t.Cleanup(func() {
		e.stop()
		logs := e.logs.String()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, s := range append(e.secrets, "issued-secret-", "issued-token-") {
			if strings.Contains(logs, s) {
				t.Errorf("the log shows a secret (%s):\n%s", s, logs)
			}
		}
	})
	return e
}

func (e *env) start() {
	e.t.Helper()
	srv, err := New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.srv = srv
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.targets[r.Header.Get(wire.HeaderTarget)]++
		e.mu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	e.mu.Lock()
	e.addr = e.http.Listener.Addr().String()
	e.mu.Unlock()
}

func (e *env) stop() {
	if e.http != nil {
		e.http.Close()
		e.http = nil
	}
	if e.srv != nil {
		if err := e.srv.Close(); err != nil {
			e.t.Error(err)
		}
		e.srv = nil
	}
}

// restart stops the server and starts a new one on the same data
// directory, at a new URL.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	// Connections kept alive to the old server are dead: a client that
	// raced the close would read EOF from one (a POST is not retried).
	e.mu.Lock()
	for _, tr := range e.clients {
		tr.CloseIdleConnections()
	}
	e.mu.Unlock()
	e.start()
}

// endpoint is the URL every client is given; their transports dial the
// current server whatever the URL says, so a restarted server (on a new
// port) is reached at the same URL.
const endpoint = "http://ssm.eu-west-1.ecs-local.test/"

// httpClient is an HTTP client that sends every request to the current
// server.
func (e *env) httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		e.mu.Lock()
		addr := e.addr
		e.mu.Unlock()
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	e.mu.Lock()
	e.clients = append(e.clients, tr)
	e.mu.Unlock()
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func (e *env) calls(target string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.targets[wire.TargetPrefix+"."+target]
}

func (e *env) noteSecret(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s)
}

// client is an aws-sdk-go-v2 SSM client that signs with creds and sends to
// the current server, whatever its URL.
func (e *env) client(t *testing.T, creds aws.Credentials) *ssmsdk.Client {
	return ssmsdk.New(ssmsdk.Options{
		Region:           testRegion,
		Credentials:      aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		HTTPClient:       e.httpClient(t),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(endpoint),
	})
}

// createActivation creates an activation through the SDK client.
func (e *env) createActivation(t *testing.T, in *ssmsdk.CreateActivationInput) (id, code string) {
	t.Helper()
	if in == nil {
		in = &ssmsdk.CreateActivationInput{}
	}
	if in.IamRole == nil {
		in.IamRole = aws.String(testRole)
	}
	out, err := e.admin.CreateActivation(t.Context(), in)
	if err != nil {
		t.Fatalf("CreateActivation: %v", err)
	}
	e.noteSecret(*out.ActivationCode)
	return *out.ActivationId, *out.ActivationCode
}

// host is a machine that registers with ecsd's ssm package.
type host struct {
	root string
	http *http.Client
}

func (e *env) newHost(t *testing.T) *host {
	return &host{root: t.TempDir(), http: e.httpClient(t)}
}

func hardware() map[string]string {
	return map[string]string{"machine-id": "0123456789abcdef0123456789abcdef\n", "hostname-info": "edge-1"}
}

// register runs ssm.Register for h against the server.
func (e *env) register(t *testing.T, h *host, id, code string) (ssm.Registration, error) {
	t.Helper()
	return ssm.Register(t.Context(), ssm.RegisterConfig{
		Region:         testRegion,
		ActivationID:   id,
		ActivationCode: code,
		Endpoint:       endpoint,
		StateRoot:      h.root,
		Force:          true,
		HTTPClient:     h.http,
		Clock:          e.clk,
		Log:            e.logs.logger().With("side", "client"),
		UserAgent:      "ecsd/1.2.3",
		HardwareHash:   hardware,
	})
}

// provider is the ssm.Provider of a registered host, with the clock
// clk (nil: the server's).
func (e *env) provider(t *testing.T, h *host, clk ssm.Clock) *ssm.Provider {
	t.Helper()
	if clk == nil {
		clk = e.clk
	}
	p, err := ssm.NewProvider(ssm.ProviderConfig{
		StateRoot:  h.root,
		Endpoint:   endpoint,
		HTTPClient: h.http,
		Clock:      clk,
		Log:        e.logs.logger().With("side", "client"),
		UserAgent:  "ecsd/1.2.3",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// rawCall sends one AWS JSON 1.1 call, signed by sign if not nil, and
// returns the answer.
func (e *env) rawCall(t *testing.T, op string, in any, sign func(*http.Request, []byte)) answer {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(wire.HeaderContentType, wire.ContentType)
	req.Header.Set(wire.HeaderTarget, wire.TargetPrefix+"."+op)
	if sign != nil {
		sign(req, body)
	}
	resp, err := e.raw.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	if resp.StatusCode != http.StatusOK {
		var er wire.ErrorResponse
		if err := json.Unmarshal(b, &er); err != nil {
			t.Fatalf("%s: error body %s: %v", op, b, err)
		}
		a.code, a.message = er.Type, er.Message
		if h := resp.Header.Get(wire.HeaderErrorType); h != er.Type {
			t.Errorf("%s: X-Amzn-Errortype %q, body __type %q", op, h, er.Type)
		}
	}
	return a
}

type answer struct {
	status        int
	code, message string
	header        http.Header
	body          []byte
}

// rsaSigning signs as a managed instance does, written here from the
// reference (SigV4's canonical request and string to sign, RSASSA-PSS over
// SHA-256 of the string to sign), apart from the ssm package's signer.
type rsaSigning struct {
	instanceID string
	region     string
	key        *rsa.PrivateKey
	at         time.Time
	salt       int // 0: 32
}

func (s rsaSigning) sign(req *http.Request, body []byte) {
	amzDate := s.at.UTC().Format(wire.DateFormat)
	req.Header.Set(wire.HeaderDate, amzDate)
	bodySum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(bodySum[:])
	canonical := "POST\n/\n\n" +
		"content-type:" + req.Header.Get("Content-Type") + "\n" +
		"host:" + req.URL.Host + "\n" +
		"x-amz-date:" + amzDate + "\n" +
		"x-amz-target:" + req.Header.Get(wire.HeaderTarget) + "\n\n" +
		"content-type;host;x-amz-date;x-amz-target\n" + bodyHash
	scope := amzDate[:8] + "/" + s.region + "/ssm/aws4_request"
	crSum := sha256.Sum256([]byte(canonical))
	sts := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSum[:])
	digest := sha256.Sum256([]byte(sts))
	salt := s.salt
	if salt == 0 {
		salt = 32
	}
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: salt})
	if err != nil {
		panic(err)
	}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+s.instanceID+"/"+scope+
		", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+base64.StdEncoding.EncodeToString(sig))
	req.Header.Set(wire.HeaderContentSHA256, bodyHash)
}

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func publicKey(t testing.TB, k *rsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// registerRaw registers key with a plain RegisterManagedInstance call and
// returns the instance id.
func (e *env) registerRaw(t *testing.T, id, code string, key *rsa.PrivateKey, fingerprint string) string {
	t.Helper()
	a := e.rawCall(t, "RegisterManagedInstance", wire.RegisterManagedInstanceInput{
		ActivationCode: wire.Secret(code), ActivationId: id, PublicKey: publicKey(t, key),
		PublicKeyType: wire.PublicKeyTypeRsa, Fingerprint: fingerprint,
	}, nil)
	if a.status != http.StatusOK {
		t.Fatalf("RegisterManagedInstance: %d %s %s", a.status, a.code, a.message)
	}
	var out wire.RegisterManagedInstanceOutput
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatal(err)
	}
	return out.InstanceId
}

// logBuffer is a logger whose output the test can search for secrets.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
