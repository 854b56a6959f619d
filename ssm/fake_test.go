package ssm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Fixed facts of the tests.
const (
	testRegion         = "eu-west-1"
	testEndpoint       = "http://ssm.eu-west-1.amazonaws.com/"
	testActivationID   = "2d1f8c1e-6c3b-4f0e-9a44-2f7d3c1b5a10"
	testActivationCode = "AbCdEfGhIjKlMnOpQrStUv"
	testFingerprint    = "8f14e45f-ceea-467a-9a36-dedd4bea2543"
	testInstanceID     = "mi-0123456789abcdef0"
)

var testStart = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a Clock whose waits return at once, moving its time on by the
// wait; it records every wait.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waits   []time.Duration
	onAfter func() // called, unlocked, after each wait is recorded
}

func newFakeClock() *fakeClock { return &fakeClock{now: testStart} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	hook := c.onAfter
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ch
}

func (c *fakeClock) setOnAfter(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onAfter = f
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func loadKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// recorded is one request as the fake SSM received it.
type recorded struct {
	target string
	host   string
	header http.Header
	body   []byte
	// canonical and stringToSign, recomputed by the fake for signed calls.
	canonical, stringToSign string
}

// fakeSSM plays the SSM side of hybrid registration and checks each request
// on its own terms: it does not share the client's signing code.
type fakeSSM struct {
	t     testing.TB
	clock *fakeClock
	srv   *httptest.Server

	mu         sync.Mutex
	skew       time.Duration // server clock minus the test clock
	lifetime   time.Duration
	instanceID string
	pub        *rsa.PublicKey
	print      string
	tokens     int
	requests   []recorded
	// fail, if set, may answer a request instead: it returns a status and an
	// error code, or 0 to go on.
	fail func(target string, n int) (int, string)
	// askRotate makes the next token answer set UpdateKeyPair.
	askRotate bool
	// loseUpdate applies the next key update, then answers 500.
	loseUpdate bool
	calls      map[string]int
}

func newFakeSSM(t testing.TB, clk *fakeClock) *fakeSSM {
	f := &fakeSSM{t: t, clock: clk, lifetime: time.Hour, instanceID: testInstanceID, calls: map[string]int{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// httpClient sends every request, whatever its host, to the fake.
func (f *fakeSSM) httpClient(t testing.TB) *http.Client {
	addr := f.srv.Listener.Addr().String()
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// register makes the fake know an instance, as if it had registered.
func (f *fakeSSM) register(pub *rsa.PublicKey, fingerprint string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pub, f.print = pub, fingerprint
}

func (f *fakeSSM) key() *rsa.PublicKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pub
}

func (f *fakeSSM) recorded(target string) []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []recorded
	for _, r := range f.requests {
		if r.target == target {
			out = append(out, r)
		}
	}
	return out
}

func (f *fakeSSM) tokenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens
}

func (f *fakeSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now().Add(f.skew)
	w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	w.Header().Set("X-Amzn-Requestid", "req-1")

	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get(wire.HeaderTarget)
	rec := recorded{target: target, host: r.Host, header: r.Header.Clone(), body: body}
	defer func() { f.requests = append(f.requests, rec) }()
	f.calls[target]++

	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != wire.ContentType {
		f.t.Errorf("request %s %s, Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		writeErr(w, 400, "SerializationException", "bad request")
		return
	}
	if f.fail != nil {
		if status, code := f.fail(target, f.calls[target]); status != 0 {
			writeErr(w, status, code, "injected")
			return
		}
	}
	switch target {
	case wire.TargetRegisterManagedInstance:
		f.serveRegister(w, r, body)
	case wire.TargetRequestManagedInstanceRoleToken, wire.TargetUpdateManagedInstancePublicKey:
		canonical, sts, err := verifyRSA(r, body, f.pub, testRegion, f.instanceID, now)
		rec.canonical, rec.stringToSign = canonical, sts
		if err != nil {
			writeErr(w, 400, wire.ErrCodeInvalidSignatureException, err.Error())
			return
		}
		if target == wire.TargetUpdateManagedInstancePublicKey {
			f.serveUpdate(w, body)
		} else {
			f.serveToken(w, body, now)
		}
	default:
		writeErr(w, 400, "UnknownOperationException", target)
	}
}

func (f *fakeSSM) serveRegister(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get(wire.HeaderAuthorization) != "" || r.Header.Get(wire.HeaderDate) != "" {
		f.t.Errorf("RegisterManagedInstance is signed: %v", r.Header)
	}
	var in wire.RegisterManagedInstanceInput
	if err := strictDecode(body, &in); err != nil {
		f.t.Errorf("register body: %v", err)
		writeErr(w, 400, "SerializationException", err.Error())
		return
	}
	if in.ActivationId != testActivationID || string(in.ActivationCode) != testActivationCode {
		writeErr(w, 400, wire.ErrCodeInvalidActivation, "Activation ID or code is not valid")
		return
	}
	if len(in.PublicKey) < 392 || in.PublicKeyType != "Rsa" {
		writeErr(w, 400, wire.ErrCodeInvalidPublicKey, "bad key")
		return
	}
	pub, err := parsePublicKey(in.PublicKey)
	if err != nil || pub.N.BitLen() != 2048 {
		writeErr(w, 400, wire.ErrCodeInvalidPublicKey, fmt.Sprint(err))
		return
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(in.Fingerprint) {
		f.t.Errorf("fingerprint %q is not a lower-case UUID v4", in.Fingerprint)
	}
	f.pub, f.print = pub, in.Fingerprint
	writeJSON(w, wire.RegisterManagedInstanceOutput{InstanceId: f.instanceID})
}

func (f *fakeSSM) serveToken(w http.ResponseWriter, body []byte, now time.Time) {
	var in wire.RequestManagedInstanceRoleTokenInput
	if err := strictDecode(body, &in); err != nil {
		f.t.Errorf("token body: %v", err)
	}
	if in.Fingerprint != f.print {
		writeErr(w, 400, wire.ErrCodeMachineFingerprintDoesNotMatch, "Fingerprint does not match")
		return
	}
	f.tokens++
	out := wire.RequestManagedInstanceRoleTokenOutput{
		AccessKeyId:         fmt.Sprintf("ASIATEST%04d", f.tokens),
		SecretAccessKey:     wire.Secret(fmt.Sprintf("secret-key-%04d", f.tokens)),
		SessionToken:        wire.Secret(fmt.Sprintf("session-token-%04d", f.tokens)),
		TokenExpirationDate: wire.Timestamp{Time: now.Add(f.lifetime)},
		UpdateKeyPair:       f.askRotate,
	}
	f.askRotate = false
	writeJSON(w, out)
}

func (f *fakeSSM) serveUpdate(w http.ResponseWriter, body []byte) {
	var in wire.UpdateManagedInstancePublicKeyInput
	if err := strictDecode(body, &in); err != nil || in.NewPublicKeyType != "Rsa" {
		f.t.Errorf("update body %s: %v", body, err)
	}
	pub, err := parsePublicKey(in.NewPublicKey)
	if err != nil {
		writeErr(w, 400, wire.ErrCodeInvalidPublicKey, err.Error())
		return
	}
	f.pub = pub
	if f.loseUpdate {
		f.loseUpdate = false
		writeErr(w, 500, wire.ErrCodeInternalServerError, "answer lost")
		return
	}
	w.Header().Set("Content-Type", wire.ContentType)
	w.Write([]byte("{}"))
}

func strictDecode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return pub, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", wire.ContentType)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", wire.ContentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(wire.ErrorResponse{Type: "com.amazonaws.ssm#" + code, Message: msg})
}

var authPattern = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/ssm/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([A-Za-z0-9+/=]+)$`)

// verifyRSA checks a managed instance's signature from first principles:
// it rebuilds the SigV4 canonical request from the headers the request says
// it signed, and verifies the RSASSA-PSS signature over SHA-256 of the string
// to sign with crypto/rsa. It returns the canonical request and string to sign.
func verifyRSA(r *http.Request, body []byte, pub *rsa.PublicKey, region, instanceID string, now time.Time) (canonical, stringToSign string, err error) {
	if pub == nil {
		return "", "", errors.New("no instance registered")
	}
	m := authPattern.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "", "", fmt.Errorf("malformed Authorization %q", r.Header.Get("Authorization"))
	}
	cred, day, reg, signed, sig := m[1], m[2], m[3], m[4], m[5]
	if cred != instanceID || reg != region {
		return "", "", fmt.Errorf("credential %s/%s, want %s/%s", cred, reg, instanceID, region)
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return "", "", fmt.Errorf("X-Amz-Date %q: %v", amzDate, err)
	}
	if day != amzDate[:8] {
		return "", "", fmt.Errorf("scope date %s, X-Amz-Date %s", day, amzDate)
	}
	if d := t.Sub(now); d > 5*time.Minute || d < -5*time.Minute {
		return "", "", fmt.Errorf("Signature expired: %s is now earlier than %s (%s - 5 min.)", amzDate, now.Add(-5*time.Minute).Format("20060102T150405Z"), now.Format("20060102T150405Z"))
	}
	bodySum := sha256.Sum256(body)
	bodyHash := hex.EncodeToString(bodySum[:])
	if got := r.Header.Get("X-Amz-Content-Sha256"); got != bodyHash {
		return "", "", fmt.Errorf("X-Amz-Content-Sha256 %q, body hashes to %s", got, bodyHash)
	}
	names := strings.Split(signed, ";")
	if !sort.StringsAreSorted(names) || !contains(names, "host") || !contains(names, "x-amz-date") {
		return "", "", fmt.Errorf("SignedHeaders %q", signed)
	}
	var lines []string
	for _, n := range names {
		v := r.Header.Values(n)
		if n == "host" {
			v = []string{r.Host}
		}
		if len(v) == 0 {
			return "", "", fmt.Errorf("signed header %s is missing", n)
		}
		for i := range v {
			v[i] = strings.Join(strings.Fields(v[i]), " ")
		}
		lines = append(lines, n+":"+strings.Join(v, ",")+"\n")
	}
	canonical = "POST\n/\n\n" + strings.Join(lines, "") + "\n" + signed + "\n" + bodyHash
	crSum := sha256.Sum256([]byte(canonical))
	stringToSign = "AWS4-HMAC-SHA256\n" + amzDate + "\n" + day + "/" + region + "/ssm/aws4_request\n" + hex.EncodeToString(crSum[:])
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return canonical, stringToSign, fmt.Errorf("signature is not base64: %v", err)
	}
	digest := sha256.Sum256([]byte(stringToSign))
	// The agent verifies with an automatic salt length; the signer uses 32.
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], raw, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return canonical, stringToSign, fmt.Errorf("The request signature we calculated does not match the signature you provided: %v", err)
	}
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], raw, &rsa.PSSOptions{SaltLength: 32}); err != nil {
		return canonical, stringToSign, fmt.Errorf("salt length is not 32: %v", err)
	}
	return canonical, stringToSign, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// seedVault writes a registration and fingerprint as a registered host has
// them.
func seedVault(t testing.TB, root string, key *rsa.PrivateKey) {
	t.Helper()
	v, err := newVault(root)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(fingerprintRecord{Fingerprint: testFingerprint, HardwareHash: testHardware(), SimilarityThreshold: 40})
	if err := v.store(vaultKeyPrint, b); err != nil {
		t.Fatal(err)
	}
	if err := v.storeRecord(registrationRecord{
		InstanceID:            testInstanceID,
		Region:                testRegion,
		PrivateKey:            encodePrivateKey(key),
		PrivateKeyType:        "Rsa",
		PrivateKeyCreatedDate: testStart.Format(keyCreatedLayout),
	}); err != nil {
		t.Fatal(err)
	}
}

func testHardware() map[string]string {
	return map[string]string{"machine-id": "0123456789abcdef0123456789abcdef\n", "hostname-info": "edge-1", "ipaddress-info": "192.0.2.10"}
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

// flakyTransport fails requests as a network that is down would.
type flakyTransport struct {
	base http.RoundTripper

	mu       sync.Mutex
	failures int  // fail this many more requests
	down     bool // fail every request while set
	failed   int
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if f.down || f.failures > 0 {
		if f.failures > 0 {
			f.failures--
		}
		f.failed++
		f.mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	f.mu.Unlock()
	return f.base.RoundTrip(r)
}

func (f *flakyTransport) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}
